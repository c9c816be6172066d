import { resolve } from 'node:path';
import { dynamoStore } from '../../functions/adapters/dynamo-store';
import { ExecutionFailedError, UsageError } from '../../functions/core/errors';
import { reportPrefix } from '../../functions/core/keys';
import { startLocalPipeline } from '../../local/runtime/pipeline';
import { onInterrupt } from '../interrupt';
import { notice } from '../messages';
import { loadPolicy } from './plan';
import { refreshReportFolders } from './run';

export interface RollbackResult {
  readonly exportId: string;
  readonly wave: string;
  /** Runs of the export that had the wave in the target. */
  readonly runs: number;
  /** Records withdrawn from the target. */
  readonly withdrawn: number;
  /** Local report folders whose receipts were told. */
  readonly reports: readonly string[];
}

/**
 * `esep-migrate rollback <exportId> --wave <id>`: the state machine's rollback (the same input as on AWS),
 * then the local copies of the affected reports refreshed, so that their receipts say what was withdrawn.
 */
export async function rollbackLocal(options: {
  readonly exportId: string;
  readonly wave: string;
  readonly stateDir: string;
  readonly policyFile?: string;
}): Promise<RollbackResult> {
  const policy = await loadPolicy(options.policyFile);
  if (!policy.waveIds.includes(options.wave))
    throw new UsageError(`--wave: unknown wave "${options.wave}" (one of ${policy.waveIds.join(', ')})`);
  const stateDir = resolve(options.stateDir);
  const pipeline = await startLocalPipeline({
    stateDir,
    notice,
    context: options.policyFile ? { policyFile: resolve(options.policyFile) } : {},
  });
  const release = onInterrupt(() => pipeline.stop());
  try {
    const store = dynamoStore(pipeline.clients.dynamo, pipeline.resources.table);
    const before = await store.runStatuses(options.exportId);
    if (before.length === 0)
      throw new UsageError(
        `rollback: no run of export ${options.exportId} in ${stateDir} (esep-migrate status lists them)`,
      );
    const outcome = await pipeline.execute({ exportId: options.exportId, rollback: options.wave });
    if (!outcome.ok) throw new ExecutionFailedError(outcome.error, outcome.cause);
    const result = (outcome.output as { rolledBack: { runs: number; withdrawn: number } }).rolledBack;
    const prefixes = new Set(
      before
        .filter((r) => r.waves.includes(options.wave))
        .map((r) => reportPrefix({ ...r, exportId: options.exportId })),
    );
    // Nothing withdrawn (the wave was rolled back already): no receipt changes.
    const reports =
      result.runs === 0 ? [] : await refreshReportFolders(pipeline, (prefix) => prefixes.has(prefix));
    return { exportId: options.exportId, wave: options.wave, ...result, reports };
  } finally {
    release();
    await pipeline.stop();
  }
}
