import type { Run, WorkflowDeps } from './run';
import { buildStagePlan, markerStage } from './stages';

export interface StageStatus {
  readonly done: boolean;
  readonly chunks: number;
  readonly expected: number;
  /** Consecutive checks that found the queues drained while chunks were still missing. */
  readonly stalledChecks: number;
  /** The missing chunks can no longer arrive: they went to a dead-letter queue. */
  readonly stalled: boolean;
  /** Lines of the chunks done so far. */
  readonly lines: number;
}

/** Checks in a row that must find the queues drained before a stage counts as stalled. */
export const STALL_CHECKS = 3;

const sum = (counts: Readonly<Record<string, number>>) => Object.values(counts).reduce((a, b) => a + b, 0);

/** Every chunk id a stage expects (`<kind>.<op>.<n>`), from its expectation. */
const expectedIds = (expected: Readonly<Record<string, number>>) =>
  Object.entries(expected).flatMap(([step, n]) =>
    Array.from({ length: n }, (_, i) => `${step}.${String(i).padStart(6, '0')}`),
  );

/**
 * Sums a stage's chunk markers: done when every chunk it expects has recorded its counts. A stage whose
 * queues stay drained while chunks are missing is stalled: those chunks are in a dead-letter queue.
 */
export async function stageStatus(
  run: Run,
  stageId: string,
  deps: Pick<WorkflowDeps, 'store'> & { pendingMessages?: () => Promise<number> },
  previousStalledChecks = 0,
): Promise<StageStatus> {
  const stage = markerStage(run, stageId);
  const expectation = await deps.store.stageExpectation(run.scope, stage);
  if (expectation === undefined) throw new Error(`stage "${stageId}" of ${run.scope} was never split`);
  const expected = sum(expectation);
  const { chunks, counts } = await deps.store.stageProgress(run.scope, stage);
  const done = chunks >= expected;
  const drained = !done && deps.pendingMessages !== undefined && (await deps.pendingMessages()) === 0;
  const stalledChecks = drained ? previousStalledChecks + 1 : 0;
  return {
    done,
    chunks,
    expected,
    stalledChecks,
    stalled: stalledChecks >= STALL_CHECKS,
    lines: counts.lines,
  };
}

/** The chunks of a run's stages that never recorded a marker. */
export async function missingChunks(
  run: Run,
  deps: Pick<WorkflowDeps, 'store' | 'policy'>,
): Promise<{ stage: string; chunks: string[] }[]> {
  const missing: { stage: string; chunks: string[] }[] = [];
  for (const wave of buildStagePlan(deps.policy).filter((w) => run.waves.includes(w.wave))) {
    for (const stage of wave.stages) {
      const expectation = await deps.store.stageExpectation(run.scope, stage.id);
      if (!expectation) {
        missing.push({ stage: stage.id, chunks: ['(never split)'] });
        continue;
      }
      const { ids } = await deps.store.stageProgress(run.scope, stage.id);
      const have = new Set(ids);
      const lost = expectedIds(expectation).filter((id) => !have.has(id));
      if (lost.length > 0) missing.push({ stage: stage.id, chunks: lost });
    }
  }
  return missing;
}
