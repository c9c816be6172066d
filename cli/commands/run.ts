import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { DeleteObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { dynamoStore } from '../../functions/adapters/dynamo-store';
import { s3Objects } from '../../functions/adapters/s3-objects';
import type { Clients } from '../../functions/adapters/wiring';
import { bucketOf, bucketsOf } from '../../functions/core/bucket-sets';
import { eachLimited } from '../../functions/core/concurrency';
import { ExecutionFailedError, ExportRejectedError, UsageError } from '../../functions/core/errors';
import { ASSUMPTIONS } from '../../functions/core/estimate/estimate';
import {
  DECISIONS_PARTS,
  decisionsIndex,
  decisionsPart,
  exportKeys,
  MANIFEST,
  reportPrefix,
} from '../../functions/core/keys';
import type { RerunStart } from '../../functions/core/pipeline/rerun';
import { changedExportError, changedRuns, manifestFiles, sameWaves } from '../../functions/core/pipeline/run';
import {
  buildStagePlan,
  IDENTITY_STAGES,
  REPORT_STAGES,
  selectWaves,
  stageStateName,
  type WavePlan,
} from '../../functions/core/pipeline/stages';
import { statusPanel } from '../../functions/core/report/status';
import type { Summary } from '../../functions/core/report/summary';
import type { Kind } from '../../functions/core/rules/kinds';
import { validateExport } from '../../functions/core/rules/manifest';
import type { DeliveryCounts } from '../../local/runtime/event-sources';
import type { FaultCounts } from '../../local/runtime/faults';
import { exportFiles, exportFolder, fsExportSource } from '../../local/runtime/fs-export-source';
import { type LocalPipeline, startLocalPipeline } from '../../local/runtime/pipeline';
import type { Throttling } from '../../local/runtime/throttling';
import { objectFile, objectFilesUnder } from '../../local/stand-ins/s3rver-files';
import { outFolder, recordReportFolder, reportFolder, reportFolders } from '../folders';
import { onInterrupt } from '../interrupt';
import { notice } from '../messages';
import { progress, stagesOf } from '../progress';
import { textIfThere } from '../text-file';
import { loadPolicy } from './plan';

export interface RunOptions {
  readonly exportDir: string;
  readonly wave?: string;
  readonly out?: string;
  readonly stateDir?: string;
  readonly policyFile?: string;
  /** Withdraw earlier runs of other content under this export id, and decide the new content. */
  readonly replace?: boolean;
  readonly stderr?: { write(s: string): unknown; isTTY?: boolean };
  /** Enforce AWS's limits in the stand-ins, times this scale (0 to 1), and pace the workers to them. */
  readonly awsLimits?: number;
  /** For tests: options of the local pipeline (faults, timings). */
  readonly pipeline?: Partial<Parameters<typeof startLocalPipeline>[0]>;
}

export interface RunResult {
  readonly summary: Summary;
  readonly outDir: string;
  readonly receipts: number;
  /**
   * The execution failed after writing its report: `RunIncomplete` (dead-lettered chunks, which the
   * report names) or `VerificationFailed` (the target did not pass verification; the report says why).
   */
  readonly failed: boolean;
  /** What the stand-ins went through: faults injected, SQS deliveries (the reliability suite reads them). */
  readonly counts: { readonly faults: FaultCounts; readonly deliveries: DeliveryCounts };
  /** With `awsLimits`: the requests refused as over AWS's limits, beside what the AWS model counts for them. */
  readonly throttling?: Throttling & { readonly scale: number; readonly model: ModelThrottling };
}

/** What the AWS model counts for throttling (ASSUMPTIONS): a share of the requests, each after one backoff. */
export interface ModelThrottling {
  readonly share: number;
  readonly throttled: number;
  readonly waitedMs: number;
}

export const modelThrottling = (requests: number): ModelThrottling => ({
  share: ASSUMPTIONS.throttledShare,
  throttled: Math.round(requests * ASSUMPTIONS.throttledShare),
  waitedMs: Math.round(requests * ASSUMPTIONS.throttledShare * ASSUMPTIONS.retryBackoffMs),
});

async function md5(file: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(file)) hash.update(chunk);
  return hash.digest('hex');
}

/**
 * Puts the export under `exports/<exportId>/` as an upload would: the listed files and the blobs,
 * manifest.json last; unchanged files are skipped. What an earlier upload of this export left there and
 * the folder no longer has is withdrawn, so that `run` reads exactly the bytes `plan` reads.
 */
export async function upload(
  clients: Clients,
  bucket: string,
  dir: string,
  exportId: string,
  listed: readonly string[],
): Promise<number> {
  const all = await exportFiles(dir, listed);
  const files = all.filter((f) => f !== MANIFEST);
  const keep = new Set(all.map((f) => exportKeys.file(exportId, f)));
  for (const key of await s3Objects(clients.s3).list(bucket, exportKeys.prefix(exportId)))
    if (!keep.has(key)) await clients.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  let sent = 0;
  const put = async (file: string) => {
    const key = exportKeys.file(exportId, file);
    const path = join(dir, file);
    const etag = await clients.s3
      .send(new HeadObjectCommand({ Bucket: bucket, Key: key }))
      .then((r) => r.ETag?.replaceAll('"', ''))
      .catch(() => undefined);
    if (etag && file !== MANIFEST && etag === (await md5(path))) return;
    // Streamed, so that a large kind file never sits in memory (the client sends no checksum framing).
    const { size } = await stat(path);
    await clients.s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: createReadStream(path), ContentLength: size }),
    );
    sent++;
  };
  for (let i = 0; i < files.length; i += 16) await Promise.all(files.slice(i, i + 16).map(put));
  await put(MANIFEST);
  return sent;
}

/**
 * Copies the report folder out of the local reports bucket to `outDir`, joining the parts of
 * decisions.ndjson (that its index lists, in order) into the one file outputs.md names. Read from the S3
 * stand-in's files (s3rver-files), a file copy an object: a run's receipts are thousands of objects, and
 * a GET each cost as much as the run's own requests.
 */
export async function copyReportFolder(
  pipeline: Pick<LocalPipeline, 'stateDir' | 'resources'>,
  prefix: string,
  outDir: string,
): Promise<void> {
  const { stateDir } = pipeline;
  const reports = pipeline.resources.buckets.reports;
  await rm(join(outDir, 'receipts'), { recursive: true, force: true });
  const made = new Set<string>();
  const copy = async ({ key, file }: { key: string; file: string }) => {
    const to = join(outDir, key.slice(prefix.length));
    if (!made.has(dirname(to))) {
      await mkdir(dirname(to), { recursive: true });
      made.add(dirname(to));
    }
    await copyFile(file, to).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error; // withdrawn since it was listed
    });
  };
  // The reports may be a set of buckets (core/bucket-sets): each holds some of the folder.
  for (const bucket of bucketsOf(reports)) {
    let batch: { key: string; file: string }[] = [];
    for await (const object of objectFilesUnder(stateDir, bucket, prefix)) {
      if (object.key.startsWith(prefix + DECISIONS_PARTS)) continue;
      batch.push(object);
      if (batch.length < 256) continue;
      await eachLimited(batch, 16, copy);
      batch = [];
    }
    await eachLimited(batch, 16, copy);
  }
  // An object not there was withdrawn since the run wrote it.
  const text = (key: string) => textIfThere(objectFile(stateDir, bucketOf(reports, key), key));
  const index = await text(decisionsIndex(prefix));
  if (index === undefined) return;
  const { parts } = JSON.parse(index) as { parts: number };
  const out = createWriteStream(join(outDir, 'decisions.ndjson'));
  for (let part = 0; part < parts; part++) {
    const body = await text(decisionsPart(prefix, part));
    if (body === undefined) throw new Error(`the report's decisions part ${part} is missing`);
    if (!out.write(body)) await once(out, 'drain');
  }
  const closed = once(out, 'close');
  out.end();
  await closed;
}

/** Copies again the local report folders of earlier runs whose receipts changed in the reports bucket. */
export async function refreshReportFolders(
  pipeline: LocalPipeline,
  which: (prefix: string) => boolean,
): Promise<string[]> {
  const refreshed: string[] = [];
  for (const [prefix, dir] of await reportFolders(pipeline.stateDir)) {
    if (!which(prefix) || !existsSync(join(dir, 'summary.json'))) continue;
    await copyReportFolder(pipeline, prefix, dir);
    refreshed.push(dir);
  }
  return refreshed;
}

/**
 * The run's progress from the state machine's tasks as they end: validation, identities, each stage (its
 * records from the chunk markers, through the progress checks), verify and the report.
 */
function runProgress(
  stream: NonNullable<RunOptions['stderr']>,
  waves: readonly WavePlan[],
  records: (kind: string) => number,
) {
  const stages = stagesOf(waves, records);
  const phases = [
    'validating the export',
    'indexing identities',
    ...stages.ids,
    'counting the report',
    'verifying the target and writing the receipts',
    'writing the report',
  ];
  const bar = progress(stream, 'run', phases, stages.total);
  // A stage reports from the task that waits for it (answered when its last chunk is done) and from the
  // check that runs when that wait times out: either one's output is the stage's status.
  const stageOf = new Map(
    [...stages.ids, IDENTITY_STAGES[1].id, REPORT_STAGES.parts, REPORT_STAGES.receipts].flatMap((id) =>
      ['wait', 'progress'].map((what) => [stageStateName(id, what), id] as const),
    ),
  );
  let finished = 0;
  let ended = false;
  bar.phase('validating the export');
  return {
    onTask: (state: string, _input: unknown, output: unknown) => {
      // Ended with the run: the executions it started after (PR-7) say so on their own.
      if (ended) return;
      const verifying = 'counting the report';
      const next = (id: string) => stages.ids[stages.ids.indexOf(id) + 1] ?? verifying;
      if (state === 'Validate export') bar.phase('indexing identities');
      const stage = stageOf.get(state);
      if (!stage) return;
      const status = output as { done?: boolean; lines?: number };
      if (stage === IDENTITY_STAGES[1].id) {
        if (status.done) bar.phase(stages.ids[0] ?? verifying);
      } else if (stage === REPORT_STAGES.parts) {
        if (status.done) bar.phase('verifying the target and writing the receipts');
      } else if (stage === REPORT_STAGES.receipts) {
        if (status.done) bar.phase('writing the report');
      } else {
        bar.records(finished + (status.lines ?? 0));
        if (status.done) {
          finished += stages.lines.get(stage) ?? 0;
          bar.phase(next(stage));
        } else bar.phase(stage);
      }
    },
    end: () => {
      if (!ended) bar.end();
      ended = true;
    },
  };
}

/** Says so when a wave runs before an earlier wave of the policy has completed for the export. */
async function warnOutOfOrder(
  pipeline: LocalPipeline,
  exportId: string,
  waves: readonly string[],
  waveOrder: readonly string[],
): Promise<void> {
  const store = dynamoStore(pipeline.clients.dynamo, pipeline.resources.table);
  const now = new Date().toISOString();
  const earlier = (await store.runStatuses(exportId)).map((s) => ({ ...s, exportId }));
  const self = { exportId, scope: '', waves, state: 'running' as const, at: now, startedAt: now };
  const missing = statusPanel([...earlier, self], waveOrder).at(-1)?.outOfOrder ?? [];
  if (missing.length > 0)
    notice(
      `wave ${waves.join(', ')} of ${exportId} runs before ${missing.join(', ')} has completed: waves are meant to run in order (esep-migrate status shows every run)`,
    );
}

/** The report prefixes of the runs that recorded a withdrawal at or after `since`. */
async function withdrawnFromSince(pipeline: LocalPipeline, since: string): Promise<Set<string>> {
  const store = dynamoStore(pipeline.clients.dynamo, pipeline.resources.table);
  const touched = new Set<string>();
  for (const status of await store.allRunStatuses())
    if ((await store.withdrawals(status.scope)).some((w) => w.at >= since)) touched.add(reportPrefix(status));
  return touched;
}

/** Errors of an execution that ended after writing its report and status (the run's exit status is 1). */
export const REPORTED_FAILURES = new Set(['RunIncomplete', 'VerificationFailed']);

/**
 * Where the run of these waves that started at or after `since` put its report: the folder its start
 * chose (a run of other content than the first writes beside the first's report, not over it).
 */
async function reportPrefixSince(
  pipeline: LocalPipeline,
  run: { exportId: string; waves: readonly string[] },
  since: string,
): Promise<string> {
  const store = dynamoStore(pipeline.clients.dynamo, pipeline.resources.table);
  // One execution at a time: the one row of these waves started since is this execution's run.
  const mine = (await store.runStatuses(run.exportId)).find(
    (s) => sameWaves(s.waves, run.waves) && (s.startedAt ?? '') >= since,
  );
  return reportPrefix({ ...run, ...(mine?.reportPrefix ? { reportPrefix: mine.reportPrefix } : {}) });
}

/**
 * Runs one execution of the state machine and copies its report to `outDir` (a folder the caller claimed
 * with `reportFolder`; without it, the run's own folder under the state folder). Throws
 * ExportRejectedError (exit 2) or ExecutionFailedError; a run that failed after its report
 * (REPORTED_FAILURES) returns it.
 */
export async function executeRun(
  pipeline: LocalPipeline,
  input: { bucket: string; key: string } | { exportId: string; wave: string },
  run: { exportId: string; waves: readonly string[] },
  out: string | undefined,
  /** Called when the run has ended, before the exports it started again run (its progress ends). */
  ended?: () => void,
): Promise<RunResult> {
  pipeline.limits.reset();
  const startedAt = new Date().toISOString();
  if (pipeline.throttling)
    Object.assign(pipeline.throttling.counts, { requests: 0, throttled: 0, waitedMs: 0, deadLettered: 0 });
  const outcome = await pipeline.execute(input);
  const failed = !outcome.ok && REPORTED_FAILURES.has(outcome.error);
  if (!outcome.ok && !failed) {
    if (outcome.error === 'ExportRejectedError') throw new ExportRejectedError(outcome.cause);
    throw new ExecutionFailedError(outcome.error, outcome.cause);
  }
  const prefix = await reportPrefixSince(pipeline, run, startedAt);
  const outDir = out ?? (await reportFolder(undefined, join(pipeline.stateDir, 'reports', prefix)));
  await copyReportFolder(pipeline, prefix, outDir);
  // Each function's heaviest invocation of this run against Lambda's limits, and the execution's quotas;
  // under AWS's limits, what the stand-ins refused and what was left dead-lettered.
  const throttling = pipeline.throttling
    ? {
        ...pipeline.throttling.counts,
        waitedMs: Math.round(pipeline.throttling.counts.waitedMs),
        deadLettered: await pipeline.deadLettered(),
      }
    : undefined;
  await writeFile(
    join(outDir, 'limits.json'),
    `${JSON.stringify({ ...pipeline.limits.report(outcome.stats), ...(throttling ? { throttling } : {}) }, null, 2)}\n`,
  );
  await recordReportFolder(pipeline.stateDir, prefix, outDir);
  const summary = JSON.parse(await readFile(join(outDir, 'summary.json'), 'utf8')) as Summary;
  // Records of other exports held as ORPHAN_RECORD belong to accounts this run brought (PR-7): the run
  // started those exports again, which run now, and their report folders here are refreshed.
  ended?.();
  const starting = (input: unknown) => {
    const { exportId, wave } = input as RerunStart;
    notice(
      `export ${exportId} (wave ${wave}) holds records whose owner account this export brings (they were ORPHAN_RECORD): it runs again now, to decide them with their owner`,
    );
  };
  for (const again of await pipeline.runStarted(starting)) {
    const { exportId, wave } = again.input as RerunStart;
    const { outcome } = again;
    const reported = outcome.ok || REPORTED_FAILURES.has(outcome.error);
    if (reported) await refreshReportFolders(pipeline, (other) => other.startsWith(`${exportId}/`));
    notice(
      reported
        ? `export ${exportId} (wave ${wave}) ran again${outcome.ok ? '' : `, and ended ${outcome.error}`}: its report is refreshed`
        : `export ${exportId} (wave ${wave}) did not run again (${outcome.error}: ${outcome.cause}): run it again`,
    );
  }
  // This run, and the runs it started again, withdrew what other runs staged (ID-3's superseded SEG
  // accounts, ID-9's accounts, TwinSpaces, groups and events that a later export holds): their receipts
  // were told, and so are their local copies (after the runs started again, whose withdrawals count too).
  const touched = await withdrawnFromSince(pipeline, startedAt);
  if (touched.size > 0)
    await refreshReportFolders(pipeline, (other) => other !== prefix && touched.has(other));
  const receipts = (await readdir(join(outDir, 'receipts')).catch(() => [])).filter((f) =>
    f.endsWith('.json'),
  ).length;
  return {
    summary,
    outDir,
    receipts,
    failed,
    counts: { faults: pipeline.faultCounts, deliveries: pipeline.deliveries },
    ...(throttling && pipeline.throttling
      ? {
          throttling: {
            ...throttling,
            scale: pipeline.throttling.scale,
            model: modelThrottling(throttling.requests),
          },
        }
      : {}),
  };
}

/**
 * `esep-migrate run`: the pipeline on this machine, through the synthesized state machine and the real
 * handlers, against the local stand-ins. The export is checked before anything starts (exit 2 when it is
 * rejected, nothing written), then put into the local exports bucket as an upload would be.
 */
export async function runLocal(options: RunOptions): Promise<RunResult> {
  const stateDir = resolve(options.stateDir ?? '.esep-local');
  const policy = await loadPolicy(options.policyFile);
  const wave = options.wave ?? 'all';
  const wavePlans = selectWaves(buildStagePlan(policy), wave);
  if (!wavePlans)
    throw new UsageError(`--wave: unknown wave "${wave}" (one of ${policy.waveIds.join(', ')}, or all)`);
  const dir = await exportFolder(options.exportDir);
  const { manifest, files } = await validateExport(fsExportSource(dir));
  const exportId = manifest.exportId;
  const waves = wavePlans.map((w) => w.wave);
  const progress = runProgress(
    options.stderr ?? process.stderr,
    wavePlans,
    (kind) => files.get(kind as Kind)?.records ?? 0,
  );
  const pipeline = await startLocalPipeline({
    stateDir,
    notice,
    context: options.policyFile ? { policyFile: resolve(options.policyFile) } : {},
    onTask: progress.onTask,
    ...(options.awsLimits === undefined ? {} : { awsLimits: options.awsLimits }),
    ...options.pipeline,
  }).catch((error: unknown) => {
    progress.end();
    throw error;
  });
  const release = onInterrupt(() => pipeline.stop());
  try {
    const { clients, resources } = pipeline;
    // One report folder per run's content, export and set of waves, as on AWS: a run never overwrites
    // another's report. --out is claimed under the state folder's lock: a refused run writes nothing.
    const outDir = await outFolder(options.out);
    await warnOutOfOrder(pipeline, exportId, waves, policy.waveIds);
    // A changed export under a finished id: refused before its files replace the earlier ones.
    const store = dynamoStore(clients.dynamo, resources.table);
    const changed = await changedRuns(exportId, manifestFiles(manifest.files), store);
    if (changed.length > 0 && !options.replace) throw changedExportError(exportId, changed);
    await upload(
      clients,
      resources.buckets.exports,
      dir,
      exportId,
      manifest.files.map((f) => f.path),
    );
    // An upload (wave all) replaces a changed export, as on AWS; the check above asked for --replace.
    const input =
      wave === 'all'
        ? { bucket: resources.buckets.exports, key: exportKeys.manifest(exportId) }
        : { exportId, wave, replace: options.replace === true };
    return await executeRun(pipeline, input, { exportId, waves }, outDir, progress.end);
  } finally {
    progress.end();
    release();
    await pipeline.stop();
  }
}
