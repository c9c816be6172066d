import { PoisonMessageError } from '../errors';
import { chunkId, workKeys } from '../keys';
import type { ObjectStore, PipelineStore, StageCount, StageTasks } from '../ports';
import type { ChunkCounts, ChunkMessage } from './chunks';
import type { Run, WorkflowDeps } from './run';
import type { Budget } from './sizing';
import { buildStagePlan, IDENTITY_STAGES, markerStage, REPORT_STAGES } from './stages';

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

/** Every chunk id a stage expects (`<kind>.<op>.<n>`), from its expectation. */
const expectedIds = (expected: Readonly<Record<string, number>>) =>
  Object.entries(expected).flatMap(([step, n]) =>
    Array.from({ length: n }, (_, i) => `${step}.${String(i).padStart(6, '0')}`),
  );

/**
 * A stage's chunks done and their lines: its count, which is exact and read in one request, or, when the
 * count is uncertain (ports `countChunk`: a chunk counted twice, a marker forgotten) or `fromMarkers` is
 * asked, its markers.
 */
async function chunksDone(
  scope: string,
  stage: string,
  count: StageCount,
  store: Pick<PipelineStore, 'stageProgress'>,
  fromMarkers = count.uncertain === true,
): Promise<{ chunks: number; lines: number }> {
  if (!fromMarkers) return { chunks: count.done, lines: count.lines };
  const { chunks, counts } = await store.stageProgress(scope, stage);
  return { chunks, lines: counts.lines };
}

/**
 * A stage's progress: done when every chunk it expects has counted itself. A stage whose queues stay
 * drained while chunks are missing is stalled: those chunks are in a dead-letter queue.
 */
export async function stageStatus(
  run: Run,
  stageId: string,
  deps: Pick<WorkflowDeps, 'store'> & { pendingMessages?: () => Promise<number> },
  previousStalledChecks = 0,
): Promise<StageStatus> {
  const stage = markerStage(run, stageId);
  const count = await deps.store.stageCount(run.scope, stage);
  if (count.expected === Number.POSITIVE_INFINITY)
    throw new Error(`stage "${stageId}" of ${run.scope} was never split`);
  const { expected } = count;
  let { chunks, lines } = await chunksDone(run.scope, stage, count, deps.store);
  const drained =
    chunks < expected && deps.pendingMessages !== undefined && (await deps.pendingMessages()) === 0;
  // Queues drained, chunks missing by the count: a count behind its markers (a worker stopped between its
  // marker and its count, and its message is gone: a local run killed) is told from a stall by them.
  if (drained && !count.uncertain)
    ({ chunks, lines } = await chunksDone(run.scope, stage, count, deps.store, true));
  const done = chunks >= expected;
  const stalledChecks = drained && !done ? previousStalledChecks + 1 : 0;
  return {
    done,
    chunks,
    expected,
    stalledChecks,
    stalled: stalledChecks >= STALL_CHECKS,
    lines,
  };
}

/**
 * The task that waits for a stage (a Step Functions task token): recorded where the stage's chunks count
 * themselves, then the markers are read; a stage done is answered at once. A chunk that counts
 * itself before the token is recorded has its marker read here; one that counts itself after finds the
 * token: either way someone answers, as soon as the last chunk is done.
 */
export async function awaitStage(
  run: Run,
  stageId: string,
  token: string,
  deps: Pick<WorkflowDeps, 'store'> & { readonly stageTasks: StageTasks },
): Promise<StageStatus> {
  // A stage done already (a run resumed, or run again) is answered without recording anything.
  let status = await stageStatus(run, stageId, deps);
  if (!status.done) {
    await deps.store.awaitStage(run.scope, markerStage(run, stageId), token);
    status = await stageStatus(run, stageId, deps);
  }
  if (status.done) await deps.stageTasks.succeed(token, status);
  return status;
}

/**
 * Records a chunk (or part) done: its marker, once, and then its count toward the stage. The chunk that
 * completes the count answers the task waiting for the stage, so a stage ends when its work ends, not at
 * the next check. A chunk whose marker was there already counts again (its first delivery may have
 * stopped between its marker and its count): the count is uncertain then, and the markers confirm before
 * the answer. A count ahead is harmless where one behind would leave the stage to the waiting task's
 * timeout. Returns whether the marker is new.
 */
export async function recordChunk(
  scope: string,
  stage: string,
  chunk: string,
  counts: ChunkCounts,
  deps: { readonly store: PipelineStore; readonly stageTasks?: StageTasks },
): Promise<boolean> {
  const first = await deps.store.putChunkMarker(scope, stage, chunk, counts);
  await countTowardStage(scope, stage, first ? counts : undefined, deps);
  return first;
}

/**
 * Whether a chunk (or part) was worked before: its marker is there. Such a chunk, delivered again, counts
 * again (as in recordChunk), so that a worker that stopped between the marker and its count still ends
 * the stage.
 */
export async function workedBefore(
  scope: string,
  stage: string,
  chunk: string,
  deps: { readonly store: PipelineStore; readonly stageTasks?: StageTasks },
): Promise<boolean> {
  if (!(await deps.store.hasChunkMarker(scope, stage, chunk))) return false;
  await countTowardStage(scope, stage, undefined, deps);
  return true;
}

/** Counts a chunk toward its stage (no counts: again) and answers the stage's wait when it completes it. */
async function countTowardStage(
  scope: string,
  stage: string,
  counts: ChunkCounts | undefined,
  deps: { readonly store: PipelineStore; readonly stageTasks?: StageTasks },
): Promise<void> {
  const count = await deps.store.countChunk(scope, stage, counts);
  if (!deps.stageTasks || count.done < count.expected || count.token === undefined) return;
  const { chunks, lines } = await chunksDone(scope, stage, count, deps.store);
  if (chunks >= count.expected)
    await deps.stageTasks.succeed(count.token, {
      done: true,
      chunks,
      expected: count.expected,
      stalledChecks: 0,
      stalled: false,
      lines,
    } satisfies StageStatus);
}

/** Where a running run is (`status` of a deployed stack): its stage, that stage's chunks, and an ETA. */
export interface RunPosition {
  /** The stage at work (the first not done), or the last one when every stage is done (writing the end). */
  readonly stage: string;
  /** Its place among the run's stages, from 1. */
  readonly step: number;
  readonly steps: number;
  /** Its chunks done, of the chunks it was cut into (0 of 0 before it is split). */
  readonly chunks: number;
  readonly expected: number;
  /** Records worked in the stages so far. */
  readonly lines: number;
  /**
   * Seconds left at the pace so far: the time since the start, over the stages done (the stage at work
   * by its chunks), times what is left. Stages take unequal times, so this is a guide, not a promise.
   */
  readonly etaSeconds?: number;
}

/** Every stage of a run, in the order the state machine runs them: identities, its waves', the report's. */
export const runStageIds = (run: Pick<Run, 'waves'>, policy: WorkflowDeps['policy']): string[] => [
  ...IDENTITY_STAGES.map((s) => s.id),
  ...buildStagePlan(policy)
    .filter((w) => run.waves.includes(w.wave))
    .flatMap((w) => w.stages.map((s) => s.id)),
  REPORT_STAGES.parts,
  REPORT_STAGES.receipts,
];

export async function runPosition(
  run: Pick<Run, 'scope' | 'waves' | 'startedAt'>,
  deps: Pick<WorkflowDeps, 'store' | 'policy'>,
  now: Date,
): Promise<RunPosition> {
  const ids = runStageIds(run, deps.policy);
  let lines = 0;
  let position: Omit<RunPosition, 'lines' | 'etaSeconds'> | undefined;
  for (const [i, id] of ids.entries()) {
    const stage = markerStage(run, id);
    const count = await deps.store.stageCount(run.scope, stage);
    const split = count.expected !== Number.POSITIVE_INFINITY;
    const expected = split ? count.expected : 0;
    const progress = split ? await chunksDone(run.scope, stage, count, deps.store) : undefined;
    lines += progress?.lines ?? 0;
    const chunks = Math.min(progress?.chunks ?? 0, expected);
    position = { stage: id, step: i + 1, steps: ids.length, chunks, expected };
    if (!split || chunks < expected) break;
  }
  const at = position ?? { stage: ids[0] ?? '', step: 1, steps: ids.length, chunks: 0, expected: 0 };
  const done = at.step - 1 + (at.expected > 0 ? at.chunks / at.expected : 0);
  const elapsed = (now.getTime() - Date.parse(run.startedAt)) / 1000;
  return {
    ...at,
    lines,
    ...(done > 0 && elapsed >= 0 ? { etaSeconds: Math.round((elapsed / done) * (at.steps - done)) } : {}),
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
      // A certain count that reached the expectation: nothing is missing, and nothing more need be read.
      const count = await deps.store.stageCount(run.scope, stage.id);
      if (!count.uncertain && count.done >= count.expected) continue;
      const expectation =
        count.expected === Number.POSITIVE_INFINITY
          ? undefined
          : await deps.store.stageExpectation(run.scope, stage.id);
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

/**
 * A chunk message's lines, or undefined when the chunk is worked already (its marker): a redelivery, whose
 * object a failed delete may have left (deleted now), or another delivery of the same message that ended
 * first and deleted it. Applies the message's budget before reading. A chunk neither worked nor stored is a
 * poison message.
 */
export async function openChunk(
  msg: ChunkMessage,
  deps: {
    readonly store: PipelineStore;
    readonly stageTasks?: StageTasks;
    readonly objects: ObjectStore;
    readonly exportsBucket: string;
    readonly applyBudget?: (budget: Budget) => void;
  },
): Promise<string | undefined> {
  if (await workedBefore(msg.scope, msg.stage, chunkId(msg), deps)) {
    await discardChunk(msg, deps);
    return undefined;
  }
  if (msg.budget) deps.applyBudget?.(msg.budget);
  const text = await deps.objects.getText(deps.exportsBucket, msg.key);
  // Gone since: the delivery that deleted it recorded the chunk's marker and its count.
  if (text !== undefined || (await deps.store.hasChunkMarker(msg.scope, msg.stage, chunkId(msg))))
    return text;
  throw new PoisonMessageError(`chunk object ${msg.key} is missing`);
}

/**
 * Deletes a worked chunk's object (its lines as the export has them, e-mail addresses among them): once
 * the chunk's marker is recorded, nothing reads it again (a redelivery stops at the marker; a run that
 * works the chunk again splits it anew). The key is the one split made from the chunk's coordinates (its
 * piece's, when the chunk is its kind's piece itself), not whatever the message says; the functions may
 * delete only chunk sets and pieces (keys.ts `chunkSets`, `PIECE_SETS`).
 */
export async function discardChunk(
  msg: ChunkMessage,
  deps: { readonly objects: ObjectStore; readonly exportsBucket: string },
): Promise<void> {
  await deps.objects.delete(
    deps.exportsBucket,
    msg.piece
      ? workKeys.piece(msg.scope, msg.kind, msg.chunk)
      : workKeys.chunk(msg.scope, msg.stage, msg.kind, msg.op, msg.chunk),
  );
}
