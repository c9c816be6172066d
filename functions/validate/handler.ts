import { logger } from '../adapters/observability';
import { type Clients, lambdaEntry, readConfig, WORKFLOW_ENV, workflowDeps } from '../adapters/wiring';
import { type Run, type StartInput, startRun, type WorkflowDeps } from '../core/pipeline/run';

/** Validates the uploaded export (a rejected one fails the execution: ExportRejectedError) and opens the run. */
export const makeHandler =
  (deps: { workflow: WorkflowDeps }) =>
  async (event: StartInput): Promise<Run> => {
    const run = await startRun(event, deps.workflow);
    logger.info('run started', { exportId: run.exportId, scope: run.scope, waves: run.waves });
    return run;
  };

export const depsFrom = (clients: Clients, env: NodeJS.ProcessEnv) => ({
  workflow: workflowDeps(clients, readConfig(WORKFLOW_ENV, env)),
});
export const handler = lambdaEntry(makeHandler, depsFrom);
