import { logger } from '../adapters/observability';
import { type Clients, lambdaEntry, validateDepsFrom } from '../adapters/wiring';
import { type Run, type StartInput, startRun } from '../core/pipeline/run';
import { type RollbackDeps, withdrawReplaced } from '../core/pipeline/withdraw';

/**
 * Validates the uploaded export (a rejected one fails the execution: ExportRejectedError) and opens the
 * run; a corrected export under a finished id is rejected, or replaces the earlier run (withdrawn first).
 */
export const makeHandler =
  (deps: RollbackDeps) =>
  async (event: { start: StartInput; executionId?: string }): Promise<Run> => {
    const input = { ...event.start, ...(event.executionId ? { executionId: event.executionId } : {}) };
    const run = await startRun(input, deps.workflow, (exportId, files) =>
      withdrawReplaced(exportId, files, deps),
    );
    logger.info('run started', { exportId: run.exportId, scope: run.scope, waves: run.waves });
    return run;
  };

export const depsFrom = (clients: Clients, env: NodeJS.ProcessEnv) => validateDepsFrom(clients, env);
export const handler = lambdaEntry(makeHandler, depsFrom);
