import { chunkId, workKeys } from '../keys';
import type { ChunkQueue } from '../ports';
import { parseLine } from '../rules/decide';
import { LIMITS } from '../rules/limits';
import { readManifest } from '../rules/manifest';
import { readLines } from '../rules/ndjson';
import { CHUNK_LINES, type ChunkMessage, encodeChunkLine } from './chunks';
import { type Run, stageOf, type WorkflowDeps } from './run';
import { ENTITY_OF_KIND, type Entity } from './workers';

/**
 * Cuts the kind files of a stage into chunks (objects in the working area), records how many chunks
 * the stage expects, then sends one message per chunk. Safe to repeat: keys and contents are the same.
 */
export async function splitStage(
  run: Run,
  stageId: string,
  deps: WorkflowDeps & { queue: ChunkQueue },
): Promise<{ chunks: number; sent: number }> {
  const { wave, stage } = stageOf(deps.policy, stageId);
  const source = deps.source(run.exportId);
  const { files } = await readManifest(source);
  const messages: ChunkMessage[] = [];
  for (const step of stage.steps) {
    const file = files.get(step.kind);
    if (!file) continue;
    const content = await source.open(file.path);
    if (!content) throw new Error(`${file.path} disappeared after validation`);
    let rows: string[] = [];
    let bytes = 0;
    let chunk = 0;
    // Read in order: a line whose id an earlier line had is marked, so that the first one stands (DQ-2).
    const seen = new Set<string>();
    const flush = async () => {
      const key = workKeys.chunk(run.scope, stage.id, step.kind, step.op, chunk);
      await deps.objects.put(deps.exportsBucket, key, `${rows.join('\n')}\n`, 'application/x-ndjson');
      messages.push({
        scope: run.scope,
        exportId: run.exportId,
        wave: wave.wave,
        stage: stage.id,
        op: step.op,
        kind: step.kind,
        ...(step.op === 'index' ? { index: step.index } : {}),
        path: file.path,
        chunk,
        key,
      });
      chunk++;
      rows = [];
      bytes = 0;
    };
    for await (const line of readLines(content)) {
      const parsed = 'unreadable' in line ? undefined : parseLine(line.text);
      const duplicate = parsed?.ok === true && seen.has(parsed.id);
      if (parsed?.ok) seen.add(parsed.id);
      const row = encodeChunkLine(duplicate ? { ...line, duplicate } : line);
      // Cut by bytes as well as lines: a chunk of long lines stays one bounded object (and string).
      if (rows.length > 0 && bytes + row.length > LIMITS.chunkBytes.value) await flush();
      rows.push(row);
      bytes += row.length + 1;
      if (rows.length >= (deps.chunkLines ?? CHUNK_LINES)) await flush();
    }
    if (rows.length > 0) await flush();
  }
  const expected: Record<string, number> = {};
  for (const m of messages) expected[`${m.kind}.${m.op}`] = (expected[`${m.kind}.${m.op}`] ?? 0) + 1;
  await deps.store.putStageExpectation(run.scope, stage.id, expected);
  // A chunk that already recorded its marker (a re-run, or a restart after a crash) is not sent again.
  const done = new Set((await deps.store.stageProgress(run.scope, stage.id)).ids);
  const pending = messages.filter((m) => !done.has(chunkId(m)));
  const byEntity = new Map<Entity, ChunkMessage[]>();
  for (const m of pending)
    byEntity.set(ENTITY_OF_KIND[m.kind], [...(byEntity.get(ENTITY_OF_KIND[m.kind]) ?? []), m]);
  for (const [entity, list] of byEntity) await deps.queue(entity, list);
  return { chunks: messages.length, sent: pending.length };
}
