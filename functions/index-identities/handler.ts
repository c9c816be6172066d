import { dynamoIdentities } from '../adapters/dynamo-store';
import { logger } from '../adapters/observability';
import {
  type Clients,
  emailSecret,
  lambdaEntry,
  readConfig,
  WORKFLOW_ENV,
  workflowDeps,
} from '../adapters/wiring';
import { indexIdentities } from '../core/pipeline/identities';
import type { Run, WorkflowDeps } from '../core/pipeline/run';
import type { IdentityStore } from '../core/ports';

/** Indexes the export's accounts for linking (ID-6): keyed hashes of their e-mails, never an e-mail. */
export const makeHandler =
  (deps: { workflow: WorkflowDeps; identities: IdentityStore; secret: () => Promise<string> }) =>
  async (event: { run: Run }): Promise<{ indexed: number }> => {
    const result = await indexIdentities(event.run, deps);
    logger.info('identities indexed', { exportId: event.run.exportId, ...result });
    return result;
  };

export function depsFrom(clients: Clients, env: NodeJS.ProcessEnv) {
  const config = readConfig([...WORKFLOW_ENV, 'emailKeySecret'], env);
  return {
    workflow: workflowDeps(clients, config),
    identities: dynamoIdentities(clients.dynamo, config.table),
    secret: emailSecret(clients.secrets, config.emailKeySecret),
  };
}
export const handler = lambdaEntry(makeHandler, depsFrom);
