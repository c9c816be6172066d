import { eachLimited } from '../concurrency';
import { chunkId, workKeys } from '../keys';
import type { ChunkQueue } from '../ports';
import type { ChunkMessage } from './chunks';
import { piecesOfRun } from './pieces';
import { type Run, stageOf, type WorkflowDeps } from './run';
import { PARTITIONING, stageBudget } from './sizing';
import { spansOf } from './spans';
import { buildStagePlan, IDENTITY_STAGES, lastStageOf, markerStage, stagesInOrder } from './stages';
import { ENTITY_OF_KIND, type Queued } from './workers';

/** Chunks stored and queued at once by a split. */
export const SPLIT_CONCURRENCY = 16;

/**
 * Sends each queue its messages of a stage, each with the stage's budget when the deployment gave its
 * capacity: the capacity shared by as many workers as can run on the stage's messages (sizing.ts
 * stageBudget): `totals` of each queue when the messages are a page of them, else those sent. The waves'
 * splits and the report's send through it.
 */
export async function sendBudgeted(
  deps: Pick<WorkflowDeps, 'capacity'> & { queue: ChunkQueue },
  byQueue: ReadonlyMap<Queued, readonly object[]>,
  totals?: Partial<Record<Queued, number>>,
): Promise<void> {
  const sending = [...byQueue].filter(([, messages]) => messages.length > 0);
  const counts = totals ?? Object.fromEntries(sending.map(([q, messages]) => [q, messages.length]));
  const queues = (Object.keys(counts) as Queued[]).filter((q) => (counts[q] ?? 0) > 0);
  const budget = deps.capacity && sending.length > 0 ? stageBudget(deps.capacity, queues, counts) : undefined;
  for (const [q, messages] of sending)
    await deps.queue(
      q,
      messages.map((m) => (budget ? { ...m, budget } : m)),
    );
}

/**
 * One page of a stage's split (`from`, then `next` until it gives none): the stage's chunks are the
 * pieces validate cut of its steps' kinds (pipeline/pieces), in order, up to `splitChunks` a page. The
 * run's last step that works a kind sends its pieces themselves, and its workers delete each once worked
 * (as any chunk); an earlier step copies each to its chunk's key first (SPLIT_CONCURRENCY at once,
 * server-side: no export byte passes through a split). Then the page's messages go out with the stage's
 * budget (the deployment's capacity shared by as many workers as can run on the stage's chunks,
 * sizing.ts stageBudget). The first page records how many chunks the stage expects. Safe to repeat: a
 * chunk that already recorded its marker (a re-run, or a restart after a crash; one query a step of the
 * page) is not copied or sent again.
 */
export async function splitStage(
  run: Run,
  stageId: string,
  deps: WorkflowDeps & { queue: ChunkQueue },
  from = 0,
): Promise<{ chunks: number; sent: number; next?: number }> {
  const identity = IDENTITY_STAGES.find((st) => st.id === stageId);
  // The identity stages are the run's own (their markers too), before its waves.
  const { wave, stage } = identity
    ? { wave: { wave: 'identities' }, stage: { id: markerStage(run, identity.id), steps: identity.steps } }
    : stageOf(deps.policy, stageId);
  const pieces = piecesOfRun(run);
  // The stage's workers share the table and buckets: those of the queues its steps feed.
  const queueOf = (kind: ChunkMessage['kind']): Queued => (identity ? 'identities' : ENTITY_OF_KIND[kind]);
  const steps = stage.steps.map((step) => ({
    step,
    path: pieces[step.kind]?.path ?? step.kind,
    count: pieces[step.kind]?.pieces ?? 0,
  }));
  const chunks = steps.reduce((n, s) => n + s.count, 0);
  const expected: Record<string, number> = {};
  const totals: Partial<Record<Queued, number>> = {};
  for (const { step, count } of steps) {
    const id = `${step.kind}.${step.op}`;
    expected[id] = (expected[id] ?? 0) + count;
    totals[queueOf(step.kind)] = (totals[queueOf(step.kind)] ?? 0) + count;
  }
  if (from === 0) await deps.store.putStageExpectation(run.scope, stage.id, expected);
  const order = stagesInOrder(buildStagePlan(deps.policy), run.waves);
  const end = Math.min(chunks, from + (deps.partitioning ?? PARTITIONING).splitChunks);
  // The page's chunks that recorded no marker; `piece` what a chunk is copied from.
  const page: { msg: ChunkMessage; piece?: string }[] = [];
  for (const { segment, index, lo, hi } of spansOf(steps, from, end)) {
    const { step, path } = segment;
    // The run's last step that works a kind works its pieces themselves (its workers delete each once
    // worked); earlier steps work copies.
    const direct =
      lastStageOf(order, step.kind) === stageId &&
      stage.steps.findLastIndex((s) => s.kind === step.kind) === index;
    const at = (chunk: number) => chunkId({ kind: step.kind, op: step.op, chunk });
    const done = new Set(await deps.store.chunkMarkersBetween(run.scope, stage.id, at(lo), at(hi - 1)));
    for (let chunk = lo; chunk < hi; chunk++) {
      if (done.has(at(chunk))) continue;
      const piece = workKeys.piece(run.scope, step.kind, chunk);
      const msg: ChunkMessage = {
        scope: run.scope,
        exportId: run.exportId,
        wave: wave.wave,
        stage: stage.id,
        op: step.op,
        kind: step.kind,
        ...('index' in step ? { index: step.index } : {}),
        path,
        chunk,
        key: direct ? piece : workKeys.chunk(run.scope, stage.id, step.kind, step.op, chunk),
        ...(direct ? { piece: true as const } : {}),
      };
      page.push(direct ? { msg } : { msg, piece });
    }
  }
  const bucket = deps.exportsBucket;
  await eachLimited(page, SPLIT_CONCURRENCY, async ({ msg, piece }) => {
    if (piece) await deps.objects.copy(bucket, piece, bucket, msg.key);
  });
  // Each queue's messages (in the stage's order), with the stage's budget.
  const byQueue = new Map<Queued, ChunkMessage[]>();
  const unsent = page.map((p) => p.msg);
  for (const msg of unsent) {
    const q = queueOf(msg.kind);
    const into = byQueue.get(q) ?? [];
    byQueue.set(q, into);
    into.push(msg);
  }
  await sendBudgeted(deps, byQueue, totals);
  return { chunks, sent: unsent.length, ...(end < chunks ? { next: end } : {}) };
}
