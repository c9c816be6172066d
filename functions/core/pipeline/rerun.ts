import type { PipelineStore } from '../ports';
import type { CompiledPolicy } from '../rules/policy';
import { type StartInput, sameWaves, standingWaves } from './run';

/**
 * PR-7 across exports: a run that brought the owner accounts of records another export held as
 * `ORPHAN_RECORD` forgot the markers of the chunks that held them (pipeline/identities). That export is
 * run again by itself: the state machine starts these executions once the run has ended. Each run of it
 * that stands is run again with its waves (`all`, or each wave of a run that is not all of them), so its
 * report and receipts are rewritten where they were; only the forgotten chunks are decided again.
 */
export type RerunStart = Required<Pick<StartInput, 'exportId' | 'wave'>> & { readonly rerun: true };

export async function rerunStarts(
  exportIds: readonly string[],
  deps: { readonly store: Pick<PipelineStore, 'runStatuses'>; readonly policy: CompiledPolicy },
): Promise<RerunStart[]> {
  const starts = new Map<string, RerunStart>();
  for (const exportId of exportIds) {
    for (const status of await deps.store.runStatuses(exportId)) {
      const waves = standingWaves(status);
      if (waves.length === 0) continue;
      const each = sameWaves(waves, deps.policy.waveIds) ? ['all'] : waves;
      for (const wave of each) starts.set(`${exportId}|${wave}`, { exportId, wave, rerun: true });
    }
  }
  return [...starts.values()];
}
