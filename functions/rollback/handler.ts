import * as z from 'zod';
import { countEvent, logger } from '../adapters/observability';
import { type Clients, lambdaEntry, rollbackDepsFrom } from '../adapters/wiring';
import { type RollbackDeps, rollbackWave } from '../core/pipeline/withdraw';
import { EXPORT_ID } from '../core/rules/schemas';

/** The state machine's input for a rollback (docs/operators.md): `{"exportId", "rollback": "<wave>"}`. */
export const RollbackInputSchema = z.object({
  exportId: z.string().regex(EXPORT_ID),
  rollback: z.string().min(1).max(64),
});

/**
 * Withdraws from the target what one wave of an export wrote, by the runs' ledgers, and records it: the
 * receipts say so, and the wave can be run again.
 */
export const makeHandler = (deps: RollbackDeps) => async (event: unknown) => {
  const input = RollbackInputSchema.parse(event);
  if (!deps.workflow.policy.waveIds.includes(input.rollback))
    throw new Error(`unknown wave "${input.rollback}" (one of ${deps.workflow.policy.waveIds.join(', ')})`);
  const runs = await rollbackWave(input.exportId, input.rollback, deps);
  const withdrawn = runs.reduce((n, r) => n + r.withdrawn, 0);
  if (withdrawn > 0) countEvent('RecordsWithdrawn', withdrawn);
  logger.info('wave rolled back', {
    exportId: input.exportId,
    wave: input.rollback,
    runs: runs.length,
    withdrawn,
  });
  return { exportId: input.exportId, wave: input.rollback, runs: runs.length, withdrawn };
};

export const depsFrom = (clients: Clients, env: NodeJS.ProcessEnv) => rollbackDepsFrom(clients, env);
export const handler = lambdaEntry(makeHandler, depsFrom);
