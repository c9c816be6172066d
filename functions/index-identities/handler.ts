import type { SQSRecord } from 'aws-lambda';
import { dynamoIdentities } from '../adapters/dynamo-store';
import { countEvent, logger } from '../adapters/observability';
import { type Redelivery, sqsBatchHandler } from '../adapters/sqs';
import {
  type Clients,
  emailSecret,
  lambdaEntry,
  readConfig,
  WORKFLOW_ENV,
  withRedelivery,
  workflowDeps,
} from '../adapters/wiring';
import { type IndexDeps, processIdentityChunk } from '../core/pipeline/identities';
import { supersededWithdrawer } from '../core/pipeline/withdraw';

/**
 * The run's identity stages, a chunk of accounts per message (fed by the identities queue): indexes the
 * accounts for linking (ID-6, ID-9), then links what they match (ID-4, ID-3): keyed hashes of their
 * e-mails, never an e-mail. The counts go to the run's summary and the dashboard.
 */
export const makeHandler = (deps: IndexDeps & Redelivery) =>
  sqsBatchHandler(async (r: SQSRecord) => {
    const { msg, counts } = await processIdentityChunk(r.body, deps);
    const ids = { exportId: msg.exportId, op: msg.op, chunk: msg.chunk };
    if (!counts) {
      logger.info('chunk already done', ids);
      return;
    }
    for (const [name, n] of [
      ['LegacyEmailChanged', counts.LEGACY_EMAIL_CHANGED],
      ['PendingLinked', counts.linked],
      ['Relinked', counts.relinked],
      ['UnlinkedAmbiguous', counts.ambiguous],
      ['SupersededWithdrawn', counts.withdrawn],
    ] as const)
      if (n) countEvent(name, n);
    logger.info('identities chunk done', { ...ids, ...counts });
  }, deps.redeliver);

export const depsFrom = withRedelivery('identities', identityDepsFrom);

function identityDepsFrom(clients: Clients, env: NodeJS.ProcessEnv): IndexDeps {
  const config = readConfig([...WORKFLOW_ENV, 'emailKeySecret', 'migratedBucket', 'reportsBucket'], env);
  const workflow = workflowDeps(clients, config);
  const target = {
    store: workflow.store,
    objects: workflow.objects,
    migratedBucket: config.migratedBucket,
    reportsBucket: config.reportsBucket,
  };
  return {
    workflow,
    identities: dynamoIdentities(clients.dynamo, config.table),
    secret: emailSecret(clients.secrets, config.emailKeySecret),
    objects: workflow.objects,
    migratedBucket: config.migratedBucket,
    withdrawSuperseded: supersededWithdrawer(target),
  };
}
export const handler = lambdaEntry(makeHandler, depsFrom);
