import { dynamoIdentities } from '../adapters/dynamo-store';
import { countEvent, logger } from '../adapters/observability';
import {
  type Clients,
  emailSecret,
  lambdaEntry,
  readConfig,
  WORKFLOW_ENV,
  workflowDeps,
} from '../adapters/wiring';
import { type IndexDeps, indexIdentities } from '../core/pipeline/identities';
import type { Run } from '../core/pipeline/run';
import { supersededWithdrawer } from '../core/pipeline/withdraw';
import type { IdentityCounts } from '../core/report/summary';

/**
 * Indexes the export's accounts for linking (ID-6, ID-9) and links what they match (ID-4, ID-3): keyed
 * hashes of their e-mails, never an e-mail. The counts go to the run's summary and the dashboard.
 */
export const makeHandler =
  (deps: IndexDeps) =>
  async (event: { run: Run }): Promise<IdentityCounts> => {
    const result = await indexIdentities(event.run, deps);
    for (const [name, n] of [
      ['LegacyEmailChanged', result.LEGACY_EMAIL_CHANGED],
      ['PendingLinked', result.linked],
      ['Relinked', result.relinked],
      ['SupersededWithdrawn', result.withdrawn],
    ] as const)
      if (n > 0) countEvent(name, n);
    logger.info('identities indexed', { exportId: event.run.exportId, ...result });
    return result;
  };

export function depsFrom(clients: Clients, env: NodeJS.ProcessEnv): IndexDeps {
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
