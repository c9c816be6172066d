import { partWorker, type Redelivery, sqsChunkQueue } from '../adapters/sqs';
import {
  type Clients,
  emailSecret,
  erasuresFrom,
  lambdaEntry,
  QUEUE_ENV,
  queueUrlsFrom,
  readConfig,
  VERIFY_ENV,
  withRedelivery,
  workflowDeps,
} from '../adapters/wiring';
import type { PartDeps } from '../core/pipeline/report-parts';
import { workVerifyPart } from '../core/verify/verify';

/**
 * Verify's partitions, fed by the verify queue: each message checks a page of one partition of the
 * target's listing and hands the rest of the partition on (core/verify, core/pipeline/report-parts).
 */
export const makeHandler = (deps: PartDeps & Redelivery) => partWorker(['verify'], workVerifyPart, deps);

export const depsFrom = withRedelivery('verify', verifyDepsFrom);

function verifyDepsFrom(clients: Clients, env: NodeJS.ProcessEnv): PartDeps {
  const config = readConfig([...VERIFY_ENV, QUEUE_ENV.verify], env);
  // One key, read once a container: the erasures' (ER-1) and the run's index of the values that must never
  // reach the target (core/forbidden).
  const secret = emailSecret(clients.secrets, config.emailKeySecret);
  return {
    ...workflowDeps(clients, config),
    migratedBucket: config.migratedBucket,
    erasures: erasuresFrom(clients, config, secret),
    emailSecret: secret,
    // Verify writes nothing to the reports bucket.
    reportsBucket: '',
    queue: sqsChunkQueue(clients.sqs, queueUrlsFrom(config)),
  };
}
export const handler = lambdaEntry(makeHandler, depsFrom);
