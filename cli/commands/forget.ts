import { resolve } from 'node:path';
import { ExecutionFailedError } from '../../functions/core/errors';
import type { ForgetOutcome } from '../../functions/core/pipeline/erase';
import { checkTicket, parseAccountRef } from '../../functions/core/rules/erasure';
import { startLocalPipeline } from '../../local/runtime/pipeline';
import { onInterrupt } from '../interrupt';
import { notice } from '../messages';
import { withStack } from '../stack';
import { refreshReportFolders } from './run';

export interface ForgetResult extends ForgetOutcome {
  /** Local report folders copied again (their receipts and decisions as they are now); on a stack, none. */
  readonly folders: readonly string[];
}

/**
 * `esep-migrate forget --account <platform:id> --reason <ticket>` (ER-1): the state machine's erasure (the
 * same input as on AWS, run by the rollback function), then the local copies of the report folders it
 * changed copied again. With `stack`, an execution of the deployed state machine, waited for.
 */
export async function forgetLocal(options: {
  readonly account: string;
  readonly reason: string;
  readonly stateDir: string;
  readonly stack?: string;
}): Promise<ForgetResult> {
  // Refused before the state folder is opened: a refused command writes nothing.
  const account = parseAccountRef(options.account);
  const input = { forget: { ...account, ticket: checkTicket(options.reason) } };
  const outcomeOf = (output: unknown) => (output as { forgotten: ForgetOutcome }).forgotten;
  if (options.stack !== undefined)
    return withStack(options.stack, async (stack) => ({
      ...outcomeOf(await stack.execute(input, notice)),
      folders: [],
    }));
  const pipeline = await startLocalPipeline({ stateDir: resolve(options.stateDir), notice });
  const release = onInterrupt(() => pipeline.stop());
  try {
    const outcome = await pipeline.execute(input);
    if (!outcome.ok) throw new ExecutionFailedError(outcome.error, outcome.cause);
    const forgotten = outcomeOf(outcome.output);
    const changed = new Set(forgotten.reports);
    const folders = changed.size === 0 ? [] : await refreshReportFolders(pipeline, (p) => changed.has(p));
    return { ...forgotten, folders };
  } finally {
    release();
    await pipeline.stop();
  }
}
