import { IdTable } from '../id-table';
import { chunkId, workKeys } from '../keys';
import type { ChunkQueue } from '../ports';
import { fileOf, parseLine } from '../rules/decide';
import type { Kind } from '../rules/kinds';
import { LIMITS } from '../rules/limits';
import { readManifest } from '../rules/manifest';
import { readLines } from '../rules/ndjson';
import { type AnyRecord, withoutCredentials } from '../rules/schemas';
import { type ChunkMessage, encodeChunkLine } from './chunks';
import { type Run, stageOf, type WorkflowDeps } from './run';
import { PARTITIONING, stageBudget } from './sizing';
import { IDENTITY_STAGES, markerStage } from './stages';
import { ENTITY_OF_KIND, type Queued } from './workers';

/**
 * The file a line carries, as its line declares it (not yet checked against its schema: an unreadable
 * size counts as none, the worker quarantines such a line).
 */
function declaredFile(kind: Kind, raw: Record<string, unknown> | undefined): { size: number } | undefined {
  if (!raw) return undefined;
  const ref = fileOf(kind, raw as unknown as AnyRecord) as unknown;
  if (typeof ref !== 'object' || ref === null) return undefined;
  const size = (ref as { size?: unknown }).size;
  return { size: typeof size === 'number' && Number.isFinite(size) && size > 0 ? size : 0 };
}

/** Chunks stored and queued at once by a split. */
export const SPLIT_CONCURRENCY = 16;

/**
 * Sends each queue its messages of a stage, each with the stage's budget when the deployment gave its
 * capacity: the capacity shared by as many workers as can run on these messages (sizing.ts stageBudget).
 * The waves' splits and the report's send through it.
 */
export async function sendBudgeted(
  deps: Pick<WorkflowDeps, 'capacity'> & { queue: ChunkQueue },
  byQueue: ReadonlyMap<Queued, readonly object[]>,
): Promise<void> {
  const sending = [...byQueue].filter(([, messages]) => messages.length > 0);
  const budget =
    deps.capacity && sending.length > 0
      ? stageBudget(
          deps.capacity,
          sending.map(([q]) => q),
          Object.fromEntries(sending.map(([q, messages]) => [q, messages.length])),
        )
      : undefined;
  for (const [q, messages] of sending)
    await deps.queue(
      q,
      messages.map((m) => (budget ? { ...m, budget } : m)),
    );
}

/**
 * Cuts the kind files of a stage into chunks (objects in the working area, up to SPLIT_CONCURRENCY
 * stored at once), then sends each chunk's message with the stage's budget: the deployment's capacity
 * shared by as many workers as can run on the messages sent (sizing.ts stageBudget), which is known only
 * once the files are cut. Then records how many chunks the stage expects. Safe to repeat: keys and
 * contents are the same, and a chunk that already recorded its marker (a re-run, or a restart after a
 * crash) is not sent again.
 */
export async function splitStage(
  run: Run,
  stageId: string,
  deps: WorkflowDeps & { queue: ChunkQueue },
): Promise<{ chunks: number; sent: number }> {
  const identity = IDENTITY_STAGES.find((st) => st.id === stageId);
  // The identity stages are the run's own (their markers too), before its waves.
  const { wave, stage } = identity
    ? { wave: { wave: 'identities' }, stage: { id: markerStage(run, identity.id), steps: identity.steps } }
    : stageOf(deps.policy, stageId);
  const source = deps.source(run.exportId);
  const { files } = await readManifest(source);
  const done = new Set((await deps.store.stageProgress(run.scope, stage.id)).ids);
  // The stage's workers share the table and buckets: those of the queues its steps feed.
  const queueOf = (kind: ChunkMessage['kind']): Queued => (identity ? 'identities' : ENTITY_OF_KIND[kind]);
  const expected: Record<string, number> = {};
  const unsent: ChunkMessage[] = [];
  let chunks = 0;
  let failure: unknown;
  const inFlight: Promise<void>[] = [];
  const store = (msg: ChunkMessage, body: string) => {
    const task = (async () => {
      await deps.objects.put(deps.exportsBucket, msg.key, body, 'application/x-ndjson');
    })().catch((error: unknown) => {
      failure ??= error;
    });
    inFlight.push(task);
    return inFlight.length >= SPLIT_CONCURRENCY ? inFlight.shift() : undefined;
  };
  for (const step of stage.steps) {
    const file = files.get(step.kind);
    if (!file) continue;
    const content = await source.open(file.path);
    if (!content) throw new Error(`${file.path} disappeared after validation`);
    let rows: string[] = [];
    let bytes = 0;
    let fileCount = 0;
    let fileBytes = 0;
    let chunk = 0;
    const p = deps.partitioning ?? PARTITIONING;
    // Read in order: a line whose id an earlier line had is marked, so that the first one stands (DQ-2).
    const seen = new IdTable();
    const flush = async () => {
      const key = workKeys.chunk(run.scope, stage.id, step.kind, step.op, chunk);
      const msg: ChunkMessage = {
        scope: run.scope,
        exportId: run.exportId,
        wave: wave.wave,
        stage: stage.id,
        op: step.op,
        kind: step.kind,
        ...('index' in step ? { index: step.index } : {}),
        path: file.path,
        chunk,
        key,
      };
      if (!done.has(chunkId(msg))) unsent.push(msg);
      const body = `${rows.join('\n')}\n`;
      chunk++;
      chunks++;
      expected[`${step.kind}.${step.op}`] = (expected[`${step.kind}.${step.op}`] ?? 0) + 1;
      rows = [];
      bytes = 0;
      fileCount = 0;
      fileBytes = 0;
      await store(msg, body);
      if (failure) throw failure;
    };
    for await (const line of readLines(content)) {
      const parsed = 'unreadable' in line ? undefined : parseLine(line.text);
      const duplicate = parsed?.ok === true && !seen.add(parsed.id);
      // ID-1: an account's password hash and login go no further than this read.
      const staged =
        step.kind === 'accounts' && 'text' in line && parsed?.raw
          ? { ...line, text: withoutCredentials(line.text, parsed.raw) }
          : line;
      const row = encodeChunkLine(duplicate ? { ...staged, duplicate } : staged);
      // A decided line's file is read whole (its SHA-256, step 7) and copied: counted by its declared size.
      const file = step.op === 'decide' ? declaredFile(step.kind, parsed?.raw) : undefined;
      // Cut by bytes as well as lines: a chunk of long lines stays one bounded object (and string); and by
      // files: a chunk of items that each carry a large file stays within a worker's time.
      if (
        rows.length > 0 &&
        (bytes + row.length > LIMITS.chunkBytes.value ||
          (file && (fileCount + 1 > p.chunkFiles || fileBytes + file.size > p.chunkFileBytes)))
      )
        await flush();
      rows.push(row);
      bytes += row.length + 1;
      if (file) {
        fileCount++;
        fileBytes += file.size;
      }
      if (rows.length >= p.chunkLines) await flush();
    }
    if (rows.length > 0) await flush();
  }
  await Promise.all(inFlight);
  if (failure) throw failure;
  // Each queue's messages, with the stage's budget (counted once every chunk is cut).
  const byQueue = new Map<Queued, ChunkMessage[]>();
  for (const msg of unsent) {
    const q = queueOf(msg.kind);
    const into = byQueue.get(q) ?? [];
    byQueue.set(q, into);
    into.push(msg);
  }
  await sendBudgeted(deps, byQueue);
  await deps.store.putStageExpectation(run.scope, stage.id, expected);
  return { chunks, sent: unsent.length };
}
