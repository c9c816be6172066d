import { logger } from '../adapters/observability';
import { type Clients, lambdaEntry, readConfig, WORKFLOW_ENV, workflowDeps } from '../adapters/wiring';
import type { Run } from '../core/pipeline/run';
import { type VerifyDeps, type VerifyState, verifyPage } from '../core/verify/verify';

/**
 * One page of the run's verification; the state machine calls it again with its state until `done`.
 * Each page stops after `pageMs`, well inside the function's timeout.
 */
export const makeHandler =
  (deps: { verify: VerifyDeps; pageMs?: number }) =>
  async (event: { run: Run; state?: VerifyState }): Promise<VerifyState> => {
    const state = await verifyPage(
      event.run,
      deps.verify,
      event.state?.documents ? event.state : undefined,
      deps.pageMs ?? 10 * 60_000,
    );
    logger.info('verify page', {
      exportId: event.run.exportId,
      done: state.done,
      checked: state.checked,
      ...(state.verification ? { passed: state.verification.passed } : {}),
    });
    return state;
  };

export function depsFrom(clients: Clients, env: NodeJS.ProcessEnv) {
  const config = readConfig([...WORKFLOW_ENV, 'migratedBucket'], env);
  return { verify: { ...workflowDeps(clients, config), migratedBucket: config.migratedBucket } };
}
export const handler = lambdaEntry(makeHandler, depsFrom);
