import { resolve } from 'node:path';
import { dynamoStore } from '../../functions/adapters/dynamo-store';
import { ExecutionFailedError, UsageError } from '../../functions/core/errors';
import { reportPrefix } from '../../functions/core/keys';
import type { PipelineStore } from '../../functions/core/ports';
import { startLocalPipeline } from '../../local/runtime/pipeline';
import { onInterrupt } from '../interrupt';
import { notice } from '../messages';
import { rollbackView, withStack } from '../stack';
import { loadPolicy } from './plan';
import { refreshReportFolders } from './run';

export interface RollbackResult {
  readonly exportId: string;
  readonly wave: string;
  /** Runs of the export that had the wave in the target. */
  readonly runs: number;
  /** Records withdrawn from the target. */
  readonly withdrawn: number;
  /** Report folders whose receipts were told: local folders, or on a stack the folders in the reports buckets. */
  readonly reports: readonly string[];
}

/**
 * `esep-migrate rollback <exportId> --wave <id>`: the state machine's rollback (the same input as on AWS),
 * then the local copies of the affected reports refreshed, so that their receipts say what was withdrawn.
 * With `stack`, an execution of the deployed state machine, waited for: the rollback function tells the
 * receipts in the reports buckets itself.
 */
export async function rollbackLocal(options: {
  readonly exportId: string;
  readonly wave: string;
  readonly stateDir: string;
  readonly policyFile?: string;
  readonly stack?: string;
}): Promise<RollbackResult> {
  const input = { exportId: options.exportId, rollback: options.wave };
  if (options.stack !== undefined)
    return withStack(options.stack, async (stack) => {
      const deps = await rollbackView(stack);
      const before = await runsWithWave(
        options,
        deps.store,
        deps.workflow.policy.waveIds,
        `the stack ${stack.name}`,
      );
      const result = rolledBack(await stack.execute(input, notice));
      const reports = result.runs === 0 ? [] : [...before].map((prefix) => `${prefix} (reports buckets)`);
      return { exportId: options.exportId, wave: options.wave, ...result, reports };
    });
  const policy = await loadPolicy(options.policyFile);
  // Refused before the state folder is opened: a refused command writes nothing.
  checkWave(options.wave, policy.waveIds);
  const stateDir = resolve(options.stateDir);
  const pipeline = await startLocalPipeline({
    stateDir,
    notice,
    context: options.policyFile ? { policyFile: resolve(options.policyFile) } : {},
  });
  const release = onInterrupt(() => pipeline.stop());
  try {
    const store = dynamoStore(pipeline.clients.dynamo, pipeline.resources.table);
    const prefixes = await runsWithWave(options, store, policy.waveIds, stateDir);
    const outcome = await pipeline.execute(input);
    if (!outcome.ok) throw new ExecutionFailedError(outcome.error, outcome.cause);
    const result = rolledBack(outcome.output);
    // Nothing withdrawn (the wave was rolled back already): no receipt changes.
    const reports =
      result.runs === 0 ? [] : await refreshReportFolders(pipeline, (prefix) => prefixes.has(prefix));
    return { exportId: options.exportId, wave: options.wave, ...result, reports };
  } finally {
    release();
    await pipeline.stop();
  }
}

/** The report folders of the export's runs that have the wave; refuses an unknown wave or an export with no run. */
async function runsWithWave(
  options: { readonly exportId: string; readonly wave: string },
  store: PipelineStore,
  waveIds: readonly string[],
  where: string,
): Promise<Set<string>> {
  checkWave(options.wave, waveIds);
  const before = await store.runStatuses(options.exportId);
  if (before.length === 0)
    throw new UsageError(
      `rollback: no run of export ${options.exportId} in ${where} (esep-migrate status lists them)`,
    );
  return new Set(
    before
      .filter((r) => r.waves.includes(options.wave))
      .map((r) => reportPrefix({ ...r, exportId: options.exportId })),
  );
}

function checkWave(wave: string, waveIds: readonly string[]): void {
  if (!waveIds.includes(wave))
    throw new UsageError(`--wave: unknown wave "${wave}" (one of ${waveIds.join(', ')})`);
}

const rolledBack = (output: unknown) =>
  (output as { rolledBack: { runs: number; withdrawn: number } }).rolledBack;
