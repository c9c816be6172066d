import * as z from 'zod';
import { countEvent, logger } from '../adapters/observability';
import { type Clients, forgetDepsFrom, lambdaEntry } from '../adapters/wiring';
import { type ForgetDeps, forgetAccount } from '../core/pipeline/erase';
import { rollbackWave } from '../core/pipeline/withdraw';
import { TICKET_CHARS } from '../core/rules/erasure';
import { EXPORT_ID } from '../core/rules/schemas';

/** The state machine's input for a rollback (docs/operators.md): `{"exportId", "rollback": "<wave>"}`. */
export const RollbackInputSchema = z.object({
  exportId: z.string().regex(EXPORT_ID),
  rollback: z.string().min(1).max(64),
});

/** The state machine's input for an erasure (ER-1): `{"forget": {"platform", "accountId", "ticket"}}`. */
export const ForgetInputSchema = z.object({
  forget: z.object({
    platform: z.enum(['etwinning', 'seg']),
    accountId: z.string().min(1).max(256),
    ticket: z
      .string()
      .min(1)
      .max(TICKET_CHARS * 4),
  }),
});

/**
 * Withdraws from the target what one wave of an export wrote, by the runs' ledgers, and records it: the
 * receipts say so, and the wave can be run again. Or, given `forget`, records an erasure and withdraws
 * everything of that account (core/pipeline/erase); its log names no account.
 */
export const makeHandler = (deps: ForgetDeps) => async (event: unknown) => {
  const erasure = ForgetInputSchema.safeParse(event);
  if (erasure.success) {
    const outcome = await forgetAccount(erasure.data.forget, deps);
    countEvent('AccountsErased', 1);
    logger.info('account erased', {
      runs: outcome.runs,
      deleted: outcome.deleted,
      rewritten: outcome.rewritten,
      remaining: outcome.remaining.length,
    });
    return outcome;
  }
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

export const depsFrom = (clients: Clients, env: NodeJS.ProcessEnv) => forgetDepsFrom(clients, env);
export const handler = lambdaEntry(makeHandler, depsFrom);
