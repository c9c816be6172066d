import { readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import { dynamoIdentities, dynamoStore } from '../../functions/adapters/dynamo-store';
import { onThreads } from '../../functions/adapters/on-threads';
import { ReportFolder } from '../../functions/adapters/report-folder';
import { UsageError } from '../../functions/core/errors';
import {
  type Estimate,
  type EstimateSettings,
  estimate,
  scaleWorkload,
  WorkloadTally,
} from '../../functions/core/estimate/estimate';
import type { AslDefinition } from '../../functions/core/estimate/transitions';
import { reportPrefix } from '../../functions/core/keys';
import { type Elsewhere, elsewhereIn, type ProgressEvent } from '../../functions/core/pipeline/decide-export';
import { PARTITIONING, receiptPartitions } from '../../functions/core/pipeline/sizing';
import { buildStagePlan, selectWaves, type WavePlan } from '../../functions/core/pipeline/stages';
import { decisionsOf, decisionTotals, type Summary } from '../../functions/core/report/summary';
import { ReportTally } from '../../functions/core/report/tally';
import type { Kind } from '../../functions/core/rules/kinds';
import { validateExport } from '../../functions/core/rules/manifest';
import { type CompiledPolicy, compilePolicy, parsePolicyJson } from '../../functions/core/rules/policy';
import { SETTING_DEFAULTS } from '../../lib/settings';
import { definitionOf } from '../../local/cloudformation/definition';
import { cachedSynth } from '../../local/cloudformation/synth-cache';
import { exportFolder, fsExportSource } from '../../local/runtime/fs-export-source';
import { hasTable, readState, type StateReader } from '../../local/runtime/read-state';
import { reportFolder } from '../folders';
import { notice } from '../messages';
import { progress, stagesOf } from '../progress';
import { decideWave, thrownAgain, type WaveDecided, type WaveOutcome, type WaveTask } from './plan-wave';

/**
 * A wave thread's young generation, in MB. V8's default lets a thread's short-lived objects (a line's
 * text and parse, its decision line) pile up to several times this between scavenges; at 100,000
 * accounts a cap of 16 MB took 50-70 MB off the plan's peak. With the old generation capped too (below),
 * 32 MB promotes less to it, for fewer full collections (docs/benchmarks.md, 2026-12-07).
 */
const WAVE_YOUNG_MB = 32;

/**
 * A wave thread's old generation, in MB. Under V8's default maximum (a share of the machine's memory) a
 * thread's heap grows to about four times what it keeps alive, which grew with the export; under a
 * maximum of 1 GB V8 lets it grow by about 1.6 times (V8's MemoryController::MaxGrowingFactor). At
 * 100,000 accounts a thread keeps about 20 MB alive, and at 1.1 million about ten times that, well below
 * it. Measured (`npm run bench:full-size`): the peak while deciding the waves 256-293 MB at 20,000 and
 * 100,000 accounts with it, 266-374 MB without, for about 15 % more time. A wave that outgrows it runs
 * again in the main thread.
 */
const WAVE_HEAP_MB = 1024;

export interface PlanOptions {
  readonly exportDir: string;
  readonly wave?: string;
  readonly out?: string;
  readonly policyFile?: string;
  /**
   * The state folder whose other exports plan decides with, as run would there (the command line always
   * gives one: --state, ESEP_STATE or .esep-local); without it, the export alone. Its plans/ folder is the
   * default report folder.
   */
  readonly stateDir?: string;
  readonly stderr?: NodeJS.WriteStream | { write(s: string): unknown; isTTY?: boolean };
  /** The deployment the AWS estimate assumes (CDK context workerConcurrency and pollSeconds). */
  readonly estimateSettings?: Partial<EstimateSettings>;
  /** Project the export's workload to this many accounts for the estimate (`--scale-to`). */
  readonly scaleTo?: number;
}

export interface PlanResult {
  readonly summary: Summary;
  readonly outDir: string;
  readonly receipts: number;
  readonly estimate: Estimate;
}

export async function loadPolicy(file: string | undefined): Promise<CompiledPolicy> {
  if (!file) return compilePolicy();
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new UsageError(
      `--policy: cannot read ${file} (${(cause as NodeJS.ErrnoException).code ?? cause})`,
      { cause },
    );
  }
  return parsePolicyJson(text, file);
}

/**
 * `esep-migrate plan`: a dry run straight over the files with the core alone. Writes the report folder
 * (summary.json, decisions.ndjson, receipts/) and nothing else anywhere.
 */
export async function plan(options: PlanOptions): Promise<PlanResult> {
  const startedAt = new Date();
  const policy = await loadPolicy(options.policyFile);
  const waves = selectWaves(buildStagePlan(policy), options.wave ?? 'all');
  if (!waves)
    throw new UsageError(
      `--wave: unknown wave "${options.wave}" (one of ${policy.waveIds.join(', ')}, or all)`,
    );
  const dir = await exportFolder(options.exportDir);
  const source = fsExportSource(dir);
  const validated = await validateExport(source);
  const exportId = validated.manifest.exportId;
  // One report folder per export and set of waves, as on AWS: a plan never overwrites another's report.
  const outDir = await reportFolder(
    options.out,
    join(
      options.stateDir ?? '.esep-local',
      'plans',
      reportPrefix({ exportId, waves: waves.map((w) => w.wave) }),
    ),
  );
  const records = validated.manifest.files.reduce((n, f) => n + f.records, 0);
  const folder = new ReportFolder(outDir, exportId, {
    partitions: receiptPartitions(records, PARTITIONING),
    policy,
  });
  const workload = new WorkloadTally();
  let exportBytes = 0;
  for (const f of validated.manifest.files) {
    const bytes = (await stat(join(dir, f.path))).size;
    exportBytes += bytes;
    workload.kind(f.kind as Kind).fileBytes = bytes;
  }
  const stages = stagesOf(waves, (kind) => validated.files.get(kind as Kind)?.records ?? 0);
  const bar = progress(
    options.stderr ?? process.stderr,
    'plan',
    [...stages.ids, 'writing the report'],
    stages.total,
  );
  // Lines read so far, by wave: of the steps it finished, and of the one under way; and the stage each
  // wave is in until its last step is done (the waves' threads run at once: the bar names each stage).
  const read = waves.map(() => ({ finished: 0, current: 0, stage: undefined as string | undefined }));
  const onProgress = (n: number) => (e: ProgressEvent) => {
    const wave = read[n] as (typeof read)[number];
    wave.current = e.done ? 0 : e.lines;
    if (e.done) wave.finished += e.lines;
    const lastStage = (waves[n] as WavePlan).stages.at(-1);
    const lastStep = lastStage?.steps.at(-1);
    const ended =
      e.done && e.stage === lastStage?.id && e.step.kind === lastStep?.kind && e.step.op === lastStep?.op;
    wave.stage = ended ? undefined : e.stage;
    const underWay = read.flatMap((w) => (w.stage ? [w.stage] : []));
    if (underWay.length > 0) bar.phase(underWay.join(' + '));
    bar.records(read.reduce((sum, w) => sum + w.finished + w.current, 0));
  };
  await folder.open();
  // A state that holds other exports: read (never written), so that plan decides as run would there.
  let state: StateReader | undefined;
  const channels: MessageChannel[] = [];
  try {
    let elsewhere: Elsewhere | undefined;
    const stateDir = options.stateDir === undefined ? undefined : resolve(options.stateDir);
    if (stateDir !== undefined && hasTable(stateDir)) {
      state = await readState(stateDir, notice);
      const holder = { exportId, exportedMs: Date.parse(validated.manifest.exportedAt) };
      elsewhere = await elsewhereIn(
        {
          store: dynamoStore(state.dynamo, state.table),
          identities: dynamoIdentities(state.dynamo, state.table),
          secret: state.secret,
        },
        holder,
      );
    }
    const tasks: WaveTask[] = waves.map((w, n) => ({
      exportDir: dir,
      validated,
      policy: policy.policy,
      wave: w.wave,
      spool: folder.wave(n),
    }));
    const decided: WaveDecided[] = new Array(waves.length);
    if (elsewhere) {
      // The state's table is open here, and one process at a time may read it: the waves in order, here.
      for (const [n, task] of tasks.entries())
        decided[n] = thrownAgain(await decideWave(task, { elsewhere, onProgress: onProgress(n) }));
    } else {
      // Each wave on a thread of its own, the largest first, so that the smaller ones fill in after.
      const size = (n: number) =>
        (waves[n] as WavePlan).kinds.reduce((sum, k) => sum + (validated.files.get(k)?.records ?? 0), 0);
      const order = waves.map((_, n) => n).sort((a, b) => size(b) - size(a));
      const threaded = order.map((n) => {
        const channel = new MessageChannel();
        channels.push(channel);
        channel.port1.on('message', onProgress(n));
        return { ...(tasks[n] as WaveTask), progress: channel.port2 };
      });
      const results = await onThreads({
        worker: {
          source: join(__dirname, 'plan-wave-worker.cjs'),
          built: 'plan-wave.cjs',
          name: 'decideWave',
        },
        tasks: threaded,
        // A wave that outgrew its thread runs here again: its port went to the thread, so its progress
        // comes straight to its bar.
        here: ({ progress: _sent, ...task }: WaveTask) =>
          decideWave(task, {
            onProgress: onProgress(waves.findIndex((w) => w.wave === task.wave)),
          }),
        transfer: (task) => (task.progress ? [task.progress] : []),
        youngMb: WAVE_YOUNG_MB,
        heapMb: WAVE_HEAP_MB,
      });
      // Progress posted after a wave's result is of work already counted: the bar moves on.
      for (const channel of channels) channel.port1.close();
      for (const [i, n] of order.entries()) decided[n] = thrownAgain(results[i] as WaveOutcome);
    }
    const counted = new ReportTally(waves.flatMap((w) => w.kinds));
    for (const wave of decided) {
      counted.merge(wave.counts);
      workload.merge(wave.workload);
    }
    bar.phase('writing the report');
    bar.records(stages.total);
    const summary = counted.tally.summary(
      exportId,
      waves.map((w) => w.wave),
      startedAt,
      new Date(),
    );
    // The estimate walks the state machine that this policy deploys (synthesized once per content, cached).
    const definition = definitionOf(
      await cachedSynth({
        ...(options.policyFile ? { policyFile: resolve(options.policyFile) } : {}),
      }),
    ) as unknown as AslDefinition;
    let aws: Estimate | undefined;
    const receipts = await folder.finish(
      summary,
      counted.toJSON(),
      tasks.map((t) => t.spool),
      (receipts) => {
        const measured = {
          kinds: workload.kinds,
          receipts: receipts.accounts,
          receiptFiles: receipts.files,
          exportBytes,
        };
        const projected = options.scaleTo ? scaleWorkload(measured, options.scaleTo) : measured;
        const made = estimate(
          projected,
          waves,
          {
            ...options.estimateSettings,
            workerConcurrency:
              options.estimateSettings?.workerConcurrency ?? SETTING_DEFAULTS.workerConcurrency,
            pollSeconds: options.estimateSettings?.pollSeconds ?? SETTING_DEFAULTS.pollSeconds,
          },
          definition,
        );
        aws = options.scaleTo ? { ...made, scaledTo: options.scaleTo } : made;
        return aws;
      },
    );
    if (!aws) throw new Error('the report folder did not ask for the estimate');
    await writeFile(join(outDir, 'estimate.json'), `${JSON.stringify(aws, null, 2)}\n`);
    return { summary, outDir, receipts, estimate: aws };
  } catch (error) {
    await folder.abandon();
    throw error;
  } finally {
    for (const channel of channels) channel.port1.close();
    bar.end();
    await state?.close();
  }
}

/** The summary table printed at the end of a plan or run: counts only, never personal data. */
export function formatSummary(summary: Summary, waveOf: Readonly<Record<string, string>>): string {
  const rows: string[][] = [['kind', 'wave', 'migrated', 'dropped', 'quarantined', 'total']];
  const totals = decisionTotals(summary.counts);
  for (const [kind, c] of Object.entries(summary.counts)) {
    rows.push([
      kind,
      waveOf[kind] ?? '',
      ...[c.migrated, c.dropped, c.quarantined, decisionsOf(c)].map(String),
    ]);
  }
  const all = decisionsOf(totals);
  rows.push(['total', '', ...[totals.migrated, totals.dropped, totals.quarantined, all].map(String)]);
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  const line = (r: string[]) =>
    r.map((cell, i) => (i < 2 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');
  const reasons = Object.entries(summary.reasons)
    .sort(([, a], [, b]) => b - a)
    .map(([code, n]) => `  ${code.padEnd(30)} ${n}`);
  return [
    line(rows[0] ?? []),
    ...rows.slice(1, -1).map(line),
    line(rows.at(-1) ?? []),
    '',
    'reasons:',
    ...reasons,
  ].join('\n');
}
