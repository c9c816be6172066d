import { ExportRejectedError } from '../errors';
import { exportKeys } from '../keys';
import type { ExportSource, ObjectStore, PipelineStore } from '../ports';
import { validateExport } from '../rules/manifest';
import type { CompiledPolicy } from '../rules/policy';
import { EXPORT_ID } from '../rules/schemas';
import { runScope } from './chunks';
import { buildStagePlan, selectWaves, type WavePlan } from './stages';

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

/** Validates the export and opens the run; throws ExportRejectedError (the execution fails, nothing migrates). */
export async function startRun(input: StartInput, deps: WorkflowDeps): Promise<Run> {
  const exportId = input.exportId ?? exportKeys.exportIdOfManifest(input.key ?? '');
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
    startedAt: run.startedAt,
  });
  return run;
}

export function stageOf(
  policy: CompiledPolicy,
  stageId: string,
): { wave: WavePlan; stage: WavePlan['stages'][number] } {
  for (const wave of buildStagePlan(policy)) {
    const stage = wave.stages.find((s) => s.id === stageId);
    if (stage) return { wave, stage };
  }
  throw new Error(`unknown stage "${stageId}"`);
}

/** An export uploaded to `exports/<exportId>/` of a bucket, read through the core's port. */
export function bucketExportSource(objects: ObjectStore, bucket: string, exportId: string): ExportSource {
  return { name: exportId, open: (path) => objects.get(bucket, exportKeys.file(exportId, path)) };
}
