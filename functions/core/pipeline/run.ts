import { eachLimited } from '../concurrency';
import { ExportRejectedError, RunInProgressError } from '../errors';
import {
  ForbiddenIndexBuilder,
  forbiddenIndexKeys,
  forbiddenLayout,
  type IndexPlace,
  putForbiddenIndex,
} from '../forbidden';
import { contentReportPrefix, exportKeys, MANIFEST, reportPrefix, workKeys } from '../keys';
import type { ExportSource, ObjectStore, PipelineStore, RunStatus, StageTasks } from '../ports';
import type { Kind } from '../rules/kinds';
import { checkFile, readManifest } from '../rules/manifest';
import type { CompiledPolicy } from '../rules/policy';
import { EXPORT_ID, type ManifestFile } from '../rules/schemas';
import { runScope } from './chunks';
import { CUT_CONCURRENCY, PieceCutter, type RunPieces } from './pieces';
import type { Budget, Capacity, Partitioning } from './sizing';
import { buildStagePlan, IDENTITY_STAGES, runIdOf, selectWaves, type WavePlan } from './stages';

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
  /** When this export's content first ran these waves (a run again keeps it): the receipts' deadline counts from it. */
  readonly firstStartedAt?: string;
  /** The execution that runs it, holding the export's run lock until the run ends. */
  readonly executionId?: string;
  /** Where its report goes in the reports bucket, when not the export's and waves' own folder (keys reportPrefix). */
  readonly reportPrefix?: string;
  /**
   * The pieces validate cut each kind the run works into (pipeline/pieces): what its stages' splits copy.
   * Only the run that validate opened has them (not one read back from its status).
   */
  readonly pieces?: RunPieces;
}

export interface WorkflowDeps {
  readonly policy: CompiledPolicy;
  readonly store: PipelineStore;
  readonly objects: ObjectStore;
  readonly exportsBucket: string;
  readonly source: (exportId: string) => ExportSource;
  readonly now?: () => Date;
  /** How the run's work is cut into invocations (PARTITIONING unless told); smaller in tests. */
  readonly partitioning?: Partitioning;
  /** What the deployment gives a run (the splits budget each stage's workers from it); none: unpaced. */
  readonly capacity?: Capacity;
  /** Paces this container's clients to a message's budget. */
  readonly applyBudget?: (budget: Budget) => void;
  /** Answers the workflow's wait when a chunk or part completes its stage (none: the wait's checks find it). */
  readonly stageTasks?: StageTasks;
  /**
   * The e-mail key (the identity index's HMAC key): validate keys the values that must never reach the
   * target with it, and verify checks documents against them (core/forbidden). Validate and verify need it.
   */
  readonly emailSecret?: () => Promise<string>;
}

/** Where a run's index of the values that must never reach the target is: validate puts it, verify reads it. */
export const forbiddenPlace = (
  run: Pick<Run, 'scope' | 'waves' | 'startedAt'>,
  deps: Pick<WorkflowDeps, 'objects' | 'exportsBucket'>,
): IndexPlace => ({ objects: deps.objects, bucket: deps.exportsBucket, scope: run.scope, run: runIdOf(run) });

/** The run a status row records: its export, scope, waves, start and report folder. */
export const runOfStatus = (exportId: string, status: RunStatus): Run => ({
  exportId,
  scope: status.scope,
  waves: status.waves,
  startedAt: status.startedAt ?? status.at,
  ...(status.reportPrefix ? { reportPrefix: status.reportPrefix } : {}),
});

/**
 * Where a run starts: an upload's `{bucket, key}` or an operator's `{exportId, wave}`; `replace` withdraws
 * earlier runs of other content under the same export id (an upload of a changed manifest replaces).
 */
export interface StartInput {
  readonly key?: string;
  readonly exportId?: string;
  readonly wave?: string;
  readonly replace?: boolean;
  /** The state machine's execution (`$$.Execution.Id`): the export's run lock is taken for it. */
  readonly executionId?: string;
  /**
   * Started by another run whose accounts own records this export held (PR-7, pipeline/rerun): the
   * workflow waits for the export's run lock rather than being refused.
   */
  readonly rerun?: boolean;
}

/** A run lock older than the state machine's timeout belongs to an execution that no longer runs. */
export const RUN_LOCK_HOURS = 24;

/** The export's files as its manifest lists them: path → SHA-256. */
export const manifestFiles = (files: readonly { path: string; sha256: string }[]): Record<string, string> =>
  Object.fromEntries(files.map((f) => [f.path, f.sha256]));

/**
 * A start under way (the state machine's payload between its steps): the export, its scope and files as
 * the manifest lists them, the start's time. `beginRun` makes it, `checkRunFile` checks each file (one
 * invocation a file, all at once), `openCheckedRun` opens the run; `startRun` does all three in turn.
 */
export interface Opening {
  readonly input: StartInput;
  readonly exportId: string;
  readonly scope: string;
  readonly startedAt: string;
  readonly files: readonly ManifestFile[];
}

/** A listed file, checked: its path, and the pieces cut of it (none when the run works no step of it). */
export interface CheckedFile {
  readonly kind: Kind;
  readonly path: string;
  readonly pieces: number;
}

/** The waves a start asks for; ExportRejectedError for one the policy does not have. */
function wavesOf(input: StartInput, deps: Pick<WorkflowDeps, 'policy'>): WavePlan[] {
  const waves = selectWaves(buildStagePlan(deps.policy), input.wave ?? 'all');
  if (!waves)
    throw new ExportRejectedError(
      `unknown wave "${input.wave}" (one of ${deps.policy.waveIds.join(', ')}, or all)`,
    );
  return waves;
}

/**
 * A start's first step: the export named, its manifest checked (not its files), the export's run lock
 * taken for the execution. Throws ExportRejectedError, or RunInProgressError while another execution runs
 * the export.
 */
export async function beginRun(input: StartInput, deps: WorkflowDeps): Promise<Opening> {
  const exportId = input.exportId ?? exportKeys.exportIdOfManifest(input.key ?? '');
  if (!exportId || !EXPORT_ID.test(exportId)) {
    throw new ExportRejectedError(
      `no export named by ${JSON.stringify(input.key ?? input.exportId ?? null)}`,
    );
  }
  wavesOf(input, deps);
  const { manifest, files } = await readManifest(deps.source(exportId));
  const startedAt = (deps.now?.() ?? new Date()).toISOString();
  // One execution per export at a time: a second event for the same upload is refused, not run twice.
  if (input.executionId) {
    const staleBefore = new Date(Date.parse(startedAt) - RUN_LOCK_HOURS * 3_600_000).toISOString();
    const held = await deps.store.lockRun(
      exportId,
      { executionId: input.executionId, at: startedAt },
      staleBefore,
    );
    if (held !== true)
      throw new RunInProgressError(
        `export ${exportId} is being run by execution ${held.executionId} since ${held.at}: this start (a repeated event?) is refused; start it again once that run has ended`,
      );
  }
  const scope = runScope(exportId, deps.policy, manifestFiles(manifest.files));
  return { input, exportId, scope, startedAt, files: [...files.values()] };
}

/** Where a start puts the run's index of the values that must never reach the target (for verify). */
const forbiddenOfOpening = (opening: Opening, deps: WorkflowDeps) =>
  forbiddenPlace(
    {
      scope: opening.scope,
      waves: wavesOf(opening.input, deps).map((w) => w.wave),
      startedAt: opening.startedAt,
    },
    deps,
  );

/**
 * One listed file of a start, read once: checked (its SHA-256 and lines, ExportRejectedError otherwise),
 * cut into pieces when the run's stages work its kind (pipeline/pieces), and for the accounts file the
 * values that must never reach the target keyed into the run's index (for verify), put once checked. A
 * file that fails leaves none of its pieces.
 */
export async function checkRunFile(
  opening: Opening,
  file: ManifestFile,
  deps: WorkflowDeps,
): Promise<CheckedFile> {
  const pieces = new PieceCutter(opening.scope, deps);
  try {
    const secret = file.kind === 'accounts' ? await deps.emailSecret?.() : undefined;
    const forbidden =
      secret === undefined ? undefined : new ForbiddenIndexBuilder(secret, forbiddenLayout(file.records));
    const cutter = kindsOfRun(wavesOf(opening.input, deps)).has(file.kind)
      ? pieces.reader(file.kind, file.path)
      : undefined;
    await checkFile(
      deps.source(opening.exportId),
      file,
      forbidden
        ? {
            line: (line) => {
              if ('text' in line) forbidden.addLine(line.text);
              return cutter?.line(line);
            },
            end: async () => cutter?.end?.(),
          }
        : cutter,
    );
    const cut = await pieces.finish();
    if (forbidden) await putForbiddenIndex(forbiddenOfOpening(opening, deps), forbidden);
    return { kind: file.kind, path: file.path, pieces: cut[file.kind]?.pieces ?? 0 };
  } catch (error) {
    await pieces.discard();
    throw error;
  }
}

/**
 * A start's last step, every file checked: a changed export refused or replaced, the run opened. A start
 * that fails here leaves none of its pieces and gives the export's lock back.
 */
export async function openCheckedRun(
  opening: Opening,
  checked: readonly CheckedFile[],
  deps: WorkflowDeps,
  /** Withdraws the earlier runs of other content (core/pipeline/withdraw); without it, none is replaced. */
  replace?: (exportId: string, files: Readonly<Record<string, string>>) => Promise<unknown>,
): Promise<Run> {
  const pieces: RunPieces = Object.fromEntries(
    checked.filter((f) => f.pieces > 0).map((f) => [f.kind, { path: f.path, pieces: f.pieces }]),
  );
  try {
    // An export without an accounts file has an empty index: verify reads one for every run.
    const secret = await deps.emailSecret?.();
    if (secret !== undefined && !opening.files.some((f) => f.kind === 'accounts'))
      await putForbiddenIndex(
        forbiddenOfOpening(opening, deps),
        new ForbiddenIndexBuilder(secret, forbiddenLayout(0)),
      );
    return await openRun(opening, wavesOf(opening.input, deps), deps, pieces, replace);
  } catch (error) {
    await discardStart(opening, deps, pieces);
    throw error;
  }
}

/**
 * What a start that failed leaves of itself: nothing. Its pieces are deleted (those `cut`, or every piece
 * under the run's scope when the failure lost count of them: a file's check that failed beside others),
 * and the run's index of the values that must never reach the target (its own: the start's run id), and
 * the export's lock given back. It holds the lock: no other run reads them.
 */
export async function discardStart(opening: Opening, deps: WorkflowDeps, cut?: RunPieces): Promise<void> {
  const pieces = cut
    ? Object.entries(cut).flatMap(([kind, f]) =>
        Array.from({ length: f?.pieces ?? 0 }, (_, n) => workKeys.piece(opening.scope, kind, n)),
      )
    : await deps.objects.list(deps.exportsBucket, workKeys.piecesPrefix(opening.scope));
  const index = forbiddenIndexKeys(
    forbiddenOfOpening(opening, deps),
    forbiddenLayout(opening.files.find((f) => f.kind === 'accounts')?.records ?? 0),
  );
  await eachLimited([...pieces, ...index], CUT_CONCURRENCY, (key) =>
    deps.objects.delete(deps.exportsBucket, key),
  );
  if (opening.input.executionId) await deps.store.unlockRun(opening.exportId, opening.input.executionId);
}

/**
 * Validates the export and opens the run, the three steps of a start in turn (each file after the
 * other); throws ExportRejectedError (nothing migrates). An export whose files differ from those of an
 * earlier run under its id is rejected, naming them, unless the run replaces it: then the earlier runs
 * are withdrawn from the target first.
 */
export async function startRun(
  input: StartInput,
  deps: WorkflowDeps,
  replace?: (exportId: string, files: Readonly<Record<string, string>>) => Promise<unknown>,
): Promise<Run> {
  const opening = await beginRun(input, deps);
  const checked: CheckedFile[] = [];
  try {
    for (const file of opening.files) checked.push(await checkRunFile(opening, file, deps));
  } catch (error) {
    await discardStart(opening, deps);
    throw error;
  }
  return openCheckedRun(opening, checked, deps, replace);
}

/** The kinds a run's stages work: the identity stages' and those of its waves. */
const kindsOfRun = (waves: readonly WavePlan[]): Set<Kind> =>
  new Set<Kind>([
    ...IDENTITY_STAGES.flatMap((s) => s.steps.map((st) => st.kind)),
    ...waves.flatMap((w) => w.stages.flatMap((s) => s.steps.map((st) => st.kind))),
  ]);

/**
 * The rest of a start, under the export's run lock: a changed export refused or replaced, the run's index
 * of the export's credentials put (`forbidden`, for its verify), the run opened.
 */
async function openRun(
  opening: Opening,
  waves: readonly WavePlan[],
  deps: WorkflowDeps,
  pieces: RunPieces,
  replace?: (exportId: string, files: Readonly<Record<string, string>>) => Promise<unknown>,
): Promise<Run> {
  const { exportId, scope, startedAt, input } = opening;
  const files = manifestFiles(opening.files);
  const changed = await changedRuns(exportId, files, deps.store);
  if (changed.length > 0) {
    // On AWS the upload of a changed manifest is the operator's say-so; an operator's start must ask.
    if (!(input.replace ?? input.key !== undefined) || !replace) throw changedExportError(exportId, changed);
    await replace(exportId, files);
  }
  const ids = waves.map((w) => w.wave);
  const earlier = await deps.store.runStatuses(exportId);
  const before = statusIn(earlier, { scope, waves: ids });
  const prefix = reportPrefixOfRun({ exportId, scope, waves: ids }, earlier);
  const run: Run = {
    exportId,
    scope,
    waves: ids,
    startedAt,
    firstStartedAt: before?.firstStartedAt ?? before?.startedAt ?? startedAt,
    pieces,
    ...(input.executionId ? { executionId: input.executionId } : {}),
    ...(prefix === reportPrefix({ exportId, waves: ids }) ? {} : { reportPrefix: prefix }),
  };
  // A wave rolled back earlier runs again: its withdrawals no longer describe the target.
  const stale = (await deps.store.withdrawals(run.scope)).filter(
    (w) => w.reason === 'ROLLED_BACK' && w.wave !== undefined && run.waves.includes(w.wave),
  );
  if (stale.length > 0) await deps.store.removeWithdrawals(run.scope, stale);
  await deps.store.putRunStatus(exportId, {
    scope: run.scope,
    waves: run.waves,
    state: 'running',
    at: run.startedAt,
    startedAt: run.startedAt,
    ...(run.firstStartedAt ? { firstStartedAt: run.firstStartedAt } : {}),
    ...(run.reportPrefix ? { reportPrefix: run.reportPrefix } : {}),
    files,
  });
  return run;
}

/** Whether two runs ran the same waves (in the same order). */
export const sameWaves = (a: readonly string[], b: readonly string[]) => a.join('+') === b.join('+');

/** The status a run (its scope and waves) last recorded, among an export's statuses. */
const statusIn = (
  statuses: readonly RunStatus[],
  run: { readonly scope: string; readonly waves: readonly string[] },
) => statuses.find((s) => s.scope === run.scope && sameWaves(s.waves, run.waves));

/**
 * The report folder of a run (issue 27, mistake 4): the one its content had when it ran these waves
 * before; the export's and waves' own folder for the first content that runs them; beside it, named by
 * the content, for any other (a corrected export under `--replace`, another policy). A replaced run's
 * report stays where it was, and its receipts are told what was withdrawn.
 */
export function reportPrefixOfRun(
  run: { readonly exportId: string; readonly scope: string; readonly waves: readonly string[] },
  earlier: readonly RunStatus[],
): string {
  const mine = statusIn(earlier, run)?.reportPrefix;
  if (mine) return mine;
  return earlier.some((s) => s.scope !== run.scope && sameWaves(s.waves, run.waves))
    ? contentReportPrefix(run)
    : reportPrefix(run);
}

/** The runs of an export as the state has them, each with its export id. */
export const runsOf = async (store: PipelineStore, exportId: string) =>
  (await store.runStatuses(exportId)).map((s) => ({ ...s, exportId }));

/** The waves of a run that are still in the target (not rolled back). */
export const standingWaves = (run: RunStatus) =>
  run.state === 'rolled-back' ? [] : run.waves.filter((w) => !(run.rolledBackWaves ?? []).includes(w));

/** The paths whose SHA-256 differs between two manifests' files (or that one of them lacks). */
export function changedFiles(
  before: Readonly<Record<string, string>>,
  now: Readonly<Record<string, string>>,
): string[] {
  return [...new Set([...Object.keys(before), ...Object.keys(now)])]
    .filter((p) => before[p] !== now[p])
    .sort();
}

/** The earlier runs of an export whose content differs from `files`, and the files that differ. */
export async function changedRuns(
  exportId: string,
  files: Readonly<Record<string, string>>,
  store: PipelineStore,
) {
  return (await runsOf(store, exportId)).flatMap((run) => {
    const changed = run.files && standingWaves(run).length > 0 ? changedFiles(run.files, files) : [];
    return changed.length > 0 ? [{ run, changed }] : [];
  });
}

/** A changed export under a finished id, refused: the message names the files that differ. */
export function changedExportError(
  exportId: string,
  changed: readonly { readonly changed: readonly string[] }[],
): ExportRejectedError {
  const names = [...new Set(changed.flatMap((c) => c.changed))];
  return new ExportRejectedError(
    `export ${exportId} changed since it was run: ${names.join(', ')} ${names.length === 1 ? 'differs' : 'differ'} from the manifest its earlier run used. Give it a new export id, or run it again with --replace to withdraw the earlier run and decide the new content`,
    MANIFEST,
  );
}

/** The status a run (its scope and waves) last recorded, if any. */
async function statusOfRun(
  store: PipelineStore,
  exportId: string,
  run: { readonly scope: string; readonly waves: readonly string[] },
): Promise<RunStatus | undefined> {
  return statusIn(await store.runStatuses(exportId), run);
}

/**
 * Records a run's status over the one it had: what the run's start recorded of the export's files (a
 * changed export is told from it) and when its content first ran are kept.
 */
export async function recordRunStatus(
  store: PipelineStore,
  exportId: string,
  status: RunStatus,
): Promise<void> {
  const before = await statusOfRun(store, exportId, status);
  await store.putRunStatus(exportId, {
    ...(before?.files ? { files: before.files } : {}),
    ...(before?.firstStartedAt ? { firstStartedAt: before.firstStartedAt } : {}),
    ...(before?.reportPrefix ? { reportPrefix: before.reportPrefix } : {}),
    ...status,
  });
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
