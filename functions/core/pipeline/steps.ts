import { ExportRejectedError } from '../errors';
import type { ExportSource, ObjectStore, PipelineStore } from '../ports';
import { checkConservation, type Summary, Tally } from '../report/summary';
import { type DecidedRecord, parseLine } from '../rules/decide';
import type { Kind } from '../rules/kinds';
import { readManifest, validateExport } from '../rules/manifest';
import { readLines } from '../rules/ndjson';
import type { CompiledPolicy } from '../rules/policy';
import { EXPORT_ID } from '../rules/schemas';
import type { Verification } from '../verify/verify';
import { CHUNK_LINES, type ChunkMessage, chunkId, encodeChunkLine, runScope, workKeys } from './chunks';
import { buildStagePlan, selectWaves, type WavePlan } from './stages';
import { ENTITY_OF_KIND, type Entity } from './workers';

/**
 * The steps of the workflow, written once over ports: the state machine's Lambda functions call them on
 * AWS, the same handlers call them locally. Their inputs and outputs are small (far below 256 KB).
 */
export interface Run {
  readonly exportId: string;
  /** exportId@policy-hash: the run's working area and markers. */
  readonly scope: string;
  readonly waves: readonly string[];
  readonly startedAt: string;
}

export interface WorkflowDeps {
  readonly policy: CompiledPolicy;
  readonly store: PipelineStore;
  readonly objects: ObjectStore;
  readonly exportsBucket: string;
  readonly source: (exportId: string) => ExportSource;
  readonly now?: () => Date;
  /** Lines per chunk (CHUNK_LINES); smaller in tests, to exercise many chunks. */
  readonly chunkLines?: number;
}

/** Where a run starts: an upload's `{bucket, key}` or an operator's `{exportId, wave}`. */
export interface StartInput {
  readonly key?: string;
  readonly exportId?: string;
  readonly wave?: string;
}

const MANIFEST_KEY = /^exports\/([^/]+)\/manifest\.json$/;

/** Validates the export and opens the run; throws ExportRejectedError (the execution fails, nothing migrates). */
export async function startRun(input: StartInput, deps: WorkflowDeps): Promise<Run> {
  const exportId = input.exportId ?? MANIFEST_KEY.exec(input.key ?? '')?.[1];
  if (!exportId || !EXPORT_ID.test(exportId)) {
    throw new ExportRejectedError(
      `no export named by ${JSON.stringify(input.key ?? input.exportId ?? null)}`,
    );
  }
  const waves = selectWaves(buildStagePlan(deps.policy), input.wave ?? 'all');
  if (!waves)
    throw new ExportRejectedError(
      `unknown wave "${input.wave}" (one of ${deps.policy.waveIds.join(', ')}, or all)`,
    );
  await validateExport(deps.source(exportId));
  const run: Run = {
    exportId,
    scope: runScope(exportId, deps.policy),
    waves: waves.map((w) => w.wave),
    startedAt: (deps.now?.() ?? new Date()).toISOString(),
  };
  await deps.store.putRunStatus(exportId, {
    scope: run.scope,
    waves: run.waves,
    state: 'running',
    at: run.startedAt,
  });
  return run;
}

function stageOf(
  policy: CompiledPolicy,
  stageId: string,
): { wave: WavePlan; stage: WavePlan['stages'][number] } {
  for (const wave of buildStagePlan(policy)) {
    const stage = wave.stages.find((s) => s.id === stageId);
    if (stage) return { wave, stage };
  }
  throw new Error(`unknown stage "${stageId}"`);
}

/** Sends chunk messages to the queue of an entity worker. */
export type ChunkQueue = (entity: Entity, messages: readonly ChunkMessage[]) => Promise<void>;

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
    const bytes = await source.open(file.path);
    if (!bytes) throw new Error(`${file.path} disappeared after validation`);
    let rows: string[] = [];
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
    };
    for await (const line of readLines(bytes)) {
      const parsed = 'unreadable' in line ? undefined : parseLine(line.text);
      const duplicate = parsed?.ok === true && seen.has(parsed.id);
      if (parsed?.ok) seen.add(parsed.id);
      rows.push(encodeChunkLine(duplicate ? { ...line, duplicate } : line));
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
  const expectation = await deps.store.stageExpectation(run.scope, stageId);
  if (expectation === undefined) throw new Error(`stage "${stageId}" of ${run.scope} was never split`);
  const expected = sum(expectation);
  const { chunks, counts } = await deps.store.stageProgress(run.scope, stageId);
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

/** The results of a run's decide chunks, in the plan's order: waves, stages, kinds, chunks. */
export async function* runResults(run: Run, deps: WorkflowDeps): AsyncGenerator<DecidedRecord> {
  const keys = await deps.objects.list(deps.exportsBucket, workKeys.resultsPrefix(run.scope));
  const waves = buildStagePlan(deps.policy).filter((w) => run.waves.includes(w.wave));
  for (const wave of waves) {
    for (const stage of wave.stages) {
      for (const step of stage.steps) {
        if (step.op !== 'decide') continue;
        const prefix = `${workKeys.resultsPrefix(run.scope)}${stage.id}/${step.kind}/`;
        for (const key of keys.filter((k) => k.startsWith(prefix))) {
          const text = await deps.objects.getText(deps.exportsBucket, key);
          for (const row of (text ?? '').split('\n')) if (row !== '') yield JSON.parse(row) as DecidedRecord;
        }
      }
    }
  }
}

/** Where a run's report lives in the reports bucket: one folder per export and set of waves. */
export const reportPrefix = (run: Pick<Run, 'exportId' | 'waves'>) =>
  `${run.exportId}/${run.waves.join('+')}/`;

/** A sink for the report's records and its summary (a folder, then uploaded on AWS). */
export interface ReportSink {
  add(record: DecidedRecord): void | Promise<void>;
  finish(summary: Summary): Promise<number>;
}

/**
 * Builds the report from the run's results; conservation checked against the manifest. A failed
 * verification of the target shows in the status (after `incomplete`, which explains it).
 */
export async function reportRun(
  run: Run,
  deps: WorkflowDeps,
  sink: ReportSink,
  verification?: Verification,
): Promise<{ summary: Summary; receipts: number }> {
  const source = deps.source(run.exportId);
  const { files } = await readManifest(source);
  const waves = buildStagePlan(deps.policy).filter((w) => run.waves.includes(w.wave));
  const tally = new Tally(waves.flatMap((w) => w.kinds));
  for await (const record of runResults(run, deps)) {
    tally.add(record);
    await sink.add(record);
  }
  const expected = new Map<Kind, number>(
    waves.flatMap((w) => w.kinds.map((k) => [k, files.get(k)?.records ?? 0] as [Kind, number])),
  );
  // A run whose chunks went to a dead-letter queue is reported as incomplete, naming them; an
  // otherwise finished run must account for every line.
  const missing = await missingChunks(run, deps);
  if (missing.length === 0) checkConservation(tally.counts, expected);
  const summary: Summary = {
    ...tally.summary(run.exportId, [...run.waves], new Date(run.startedAt), deps.now?.() ?? new Date()),
    ...(verification && !verification.passed ? { status: 'verification-failed' as const } : {}),
    ...(missing.length > 0 ? { status: 'incomplete' as const, missing } : {}),
    ...(verification ? { verification } : {}),
  };
  const receipts = await sink.finish(summary);
  await deps.store.putRunStatus(run.exportId, {
    scope: run.scope,
    waves: run.waves,
    state: summary.status,
    at: summary.finishedAt,
  });
  return { summary, receipts };
}
