/**
 * `npm run bench [-- --quick] [-- --json]`: throughput, memory and cold start, each measured in a fresh
 * process, with every ratio taken within this one run on the same generated export (absolute times drift
 * on these machines). Default: about 20,000 accounts (large) and 2,000 (small); --quick: 2,000 and 200.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { gunzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { BUNDLING } from '../lib/constructs/migration-function';
import { generateExport } from '../tools/generate';
import { runMain } from './main';

const ROOT = join(__dirname, '..');
const args = new Set(process.argv.slice(2));
const quick = args.has('--quick');
const json = args.has('--json');
const SIZES = quick ? { small: 200, large: 2000 } : { small: 2000, large: 20000 };
const log = (s: string) => {
  if (!json) process.stdout.write(`${s}\n`);
  else process.stderr.write(`${s}\n`);
};

interface Measure {
  ms: number;
  records: number;
  maxRssMb: number;
  /** Of a run: the records it migrated. */
  migrated?: number;
  /** Of a plan: the AWS model's heaviest invocation per step, [function, seconds]. */
  steps?: Record<string, [string, number]>;
  /** Of a run: each function's invocations and heaviest one, in ms, as the local runtime measured them. */
  limits?: Record<string, [number, number]>;
  workload?: Record<string, number>;
}

/**
 * The V8 heap ceiling of every measured process, the same at both sizes: peak RSS then shows what the work
 * needs rather than how long V8 let garbage pile up (without it, a longer run keeps more garbage), and a
 * task whose live memory grew with the export would fail at the larger size instead of passing.
 */
export const HEAP_CEILING_MB = 384;

/**
 * Runs one task of child.ts in a fresh Node process, with a work folder of its own (plan's report folder,
 * run's state folder) that is removed here afterwards, so that neither the child's time nor its peak RSS
 * includes deleting what it wrote.
 */
async function measure(task: string, arg: string): Promise<Measure> {
  const work = await mkdtemp(join(tmpdir(), `esep-bench-${task}-`));
  const env = {
    ...process.env,
    POWERTOOLS_LOG_LEVEL: 'ERROR',
    POWERTOOLS_METRICS_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  const r = spawnSync(
    process.execPath,
    [
      `--max-old-space-size=${HEAP_CEILING_MB}`,
      '-r',
      'tsx/cjs',
      join(__dirname, 'child.ts'),
      task,
      arg,
      work,
    ],
    { cwd: ROOT, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  await rm(work, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`bench task ${task} failed: ${r.stderr.slice(-2000)}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1) as string) as Measure;
}

const perSec = (m: Measure) => Math.round(m.records / (m.ms / 1000));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** Each Lambda bundled as the CDK construct bundles it, its size, and the median of five cold loads. */
async function bundles(dir: string): Promise<Record<string, { bytes: number; initMs: number }>> {
  const out: Record<string, { bytes: number; initMs: number }> = {};
  const names = readdirSync(join(ROOT, 'functions')).filter((n) => {
    try {
      return statSync(join(ROOT, 'functions', n, 'handler.ts')).isFile();
    } catch {
      return false;
    }
  });
  for (const name of names) {
    const file = join(dir, `${name}.js`);
    await build({
      entryPoints: [join(ROOT, 'functions', name, 'handler.ts')],
      bundle: true,
      minify: BUNDLING.minify,
      sourcemap: BUNDLING.sourceMap,
      platform: 'node',
      target: BUNDLING.target,
      format: 'cjs',
      mainFields: [...BUNDLING.mainFields],
      external: [...BUNDLING.externalModules],
      outfile: file,
      logLevel: 'silent',
    });
    const loads = Array.from({ length: 5 }, () => {
      const code = `const t=process.hrtime.bigint();require(${JSON.stringify(file)});process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6))`;
      return Number(
        execFileSync(process.execPath, ['-e', code], {
          cwd: ROOT,
          encoding: 'utf8',
          env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
        }),
      );
    });
    out[name] = { bytes: statSync(file).size, initMs: Math.round(median(loads) * 10) / 10 };
  }
  return out;
}

/**
 * The command line as its user meets it (issue 24, item 3), wall time of each command in a fresh process
 * through bin/esep-migrate.cjs: `npm start` on the sample the first time (on a new state folder, after
 * `npm ci`'s `prepare`) and again, then `--help`, `status`, `lookup` and `register` on the state folder
 * it leaves (median of 3).
 */
function startup(dir: string) {
  const state = join(dir, 'startup-state');
  const env = { ...process.env, ESEP_SYNTH_CACHE: join(dir, 'startup-synth-cache') };
  const time = (args: string[]) => {
    const started = performance.now();
    const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'esep-migrate.cjs'), ...args], {
      cwd: ROOT,
      env,
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`esep-migrate ${args.join(' ')} failed: ${r.stderr.slice(-2000)}`);
    return Math.round(performance.now() - started);
  };
  const sample = join(ROOT, 'samples', 'export');
  // The first run after `npm ci`, whose `prepare` built the command line and synthesized the local app
  // into the cache (tools/build-cli.mjs --warm): here into this bench's own, empty, cache.
  const warm = spawnSync(process.execPath, [join(ROOT, 'tools', 'build-cli.mjs'), '--warm'], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
  });
  if (warm.status !== 0) throw new Error(`the build's warm-up failed: ${warm.stderr.slice(-2000)}`);
  const startFirstMs = time(['run', sample, '--state', state]);
  const startAgainMs = time(['run', sample, '--state', state]);
  const accounts = gunzipSync(readFileSync(join(sample, 'accounts.ndjson.gz'))).toString('utf8');
  const account = (JSON.parse(accounts.slice(0, accounts.indexOf('\n'))) as { id: string }).id;
  const thrice = (args: string[]) => median([time(args), time(args), time(args)]);
  return {
    startFirstMs,
    startAgainMs,
    helpMs: thrice(['--help']),
    statusMs: thrice(['status', '--state', state]),
    lookupMs: thrice(['lookup', '--account', account, '--state', state]),
    registerMs: thrice([
      'register',
      '--email',
      'nobody@bench.example',
      '--user',
      'u-bench',
      '--state',
      state,
    ]),
  };
}

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'esep-bench-'));
  try {
    log(`generating exports: ${SIZES.small} and ${SIZES.large} accounts`);
    const small = join(dir, 'bench-small');
    const large = join(dir, 'bench-large');
    await generateExport({ out: small, accounts: SIZES.small, seed: 1 });
    await generateExport({ out: large, accounts: SIZES.large, seed: 1 });

    log('parse baseline');
    const parse = await measure('parse', large);
    log('parse and validate (the floor of plan)');
    const validate = await measure('validate', large);
    log('store baseline');
    const store = await measure('store', String(25_000));
    log('local S3 stand-in baseline (PutObject through the SDK client)');
    const s3 = await measure('s3', String(2_000));
    log('plan (small, large)');
    const planSmall = await measure('plan', small);
    const planLarge = await measure('plan', large);
    log('run (small, large)');
    const runSmall = await measure('run', small);
    const runLarge = await measure('run', large);
    log('start-up: npm start on the sample (first and again), --help, status, lookup, register');
    const start = startup(dir);
    log('bundles');
    // Inside the project, so that the SDK (left external, as the Lambda runtime provides it) resolves.
    const bundleDir = join(ROOT, 'bench', '.bundles');
    const bundleFigures = await bundles(bundleDir);
    await rm(bundleDir, { recursive: true, force: true });

    const result = {
      accounts: SIZES,
      records: { small: planSmall.records, large: planLarge.records },
      parseRecordsPerSec: perSec(parse),
      /** Not a goal's baseline: parse plus each record's schema check (rule DQ-1), what bounds `plan`. */
      validateRecordsPerSec: perSec(validate),
      storeWritesPerSec: perSec(store),
      /** Not a goal's baseline: what bounds `run` (one object per migrated record, per receipt, per chunk). */
      s3PutsPerSec: perSec(s3),
      planRecordsPerSec: perSec(planLarge),
      runRecordsPerSec: perSec(runLarge),
      /**
       * Not a goal: the most `run` could reach if it did nothing but put one document per migrated record
       * into the S3 stand-in, at the rate measured above.
       */
      runCeilingRecordsPerSec: Math.round(runLarge.records / ((runLarge.migrated ?? 0) / perSec(s3))),
      peakRssMb: {
        plan: { small: planSmall.maxRssMb, large: planLarge.maxRssMb },
        run: { small: runSmall.maxRssMb, large: runLarge.maxRssMb },
      },
      startup: start,
      bundles: bundleFigures,
      modelVsLocal: { model: planLarge.steps, local: runLarge.limits },
      /** The run's requests: as the AWS model counts them for the export, and as the local run sent them. */
      workload: { model: planLarge.workload, local: runLarge.workload },
    };
    const goals = {
      'plan >= 0.5 x parse': result.planRecordsPerSec / result.parseRecordsPerSec,
      'run >= 0.5 x store writes': result.runRecordsPerSec / result.storeWritesPerSec,
      'plan memory large <= 1.5 x small': result.peakRssMb.plan.large / result.peakRssMb.plan.small,
      'run memory large <= 1.5 x small': result.peakRssMb.run.large / result.peakRssMb.run.small,
    };
    /** Issue 24, item 3: start-up goals in milliseconds. */
    const startupGoals: [string, number, number][] = [
      ['npm start the first time', start.startFirstMs, 10_000],
      ['npm start again', start.startAgainMs, 5_000],
      ['--help', start.helpMs, 1_000],
      ['status', start.statusMs, 1_000],
      ['lookup', start.lookupMs, 1_000],
      ['register', start.registerMs, 1_000],
    ];
    const bundleOk = Object.values(bundleFigures).every((b) => b.bytes <= 1_000_000 && b.initMs <= 150);
    log('');
    log(`records: small ${result.records.small}, large ${result.records.large}`);
    log(`parse and validate ${result.validateRecordsPerSec} records/s (the floor of plan)`);
    log(
      `parse   ${result.parseRecordsPerSec} records/s    store ${result.storeWritesPerSec} writes/s    S3 puts through the SDK ${result.s3PutsPerSec}/s`,
    );
    log(
      `plan    ${result.planRecordsPerSec} records/s (waves on threads of their own, receipts on every core)`,
    );
    log(
      `run     ${result.runRecordsPerSec} records/s (ceiling of one document put per migrated record alone ${result.runCeilingRecordsPerSec}, ${(result.runCeilingRecordsPerSec / result.storeWritesPerSec).toFixed(2)} x store writes)`,
    );
    log(
      `peak RSS MB: plan ${planSmall.maxRssMb} -> ${planLarge.maxRssMb}, run ${runSmall.maxRssMb} -> ${runLarge.maxRssMb}`,
    );
    for (const [name, b] of Object.entries(bundleFigures))
      log(`bundle ${name.padEnd(17)} ${String(b.bytes).padStart(8)} bytes  init ${b.initMs} ms`);
    // Where the model meets the local run: the same export, the model's heaviest invocation of each step
    // on AWS next to the heaviest the local runtime measured of its function (local stand-ins, one process).
    log('');
    log(`the AWS model's heaviest invocation vs the local run's (${SIZES.large} accounts):`);
    for (const [step, [fn, seconds]] of Object.entries(planLarge.steps ?? {})) {
      // The entity workers are one model step: the heaviest of the four.
      const names = fn === 'entity worker' ? ['profile', 'twinspace', 'group', 'portfolio-events'] : [fn];
      const local = names
        .map((n) => runLarge.limits?.[n])
        .filter((x): x is [number, number] => x !== undefined)
        .sort((x, y) => y[1] - x[1])[0];
      log(
        `  ${step.padEnd(26)} ${fn.padEnd(17)} model ${String(seconds).padStart(7)} s   local ${local ? `${(local[1] / 1000).toFixed(1).padStart(7)} s of ${local[0]} invocations` : '      -'}`,
      );
    }
    // The workload: what the model says the run asks of the services, and what the local run's clients sent.
    log('');
    log(`the run's requests, modelled vs sent by the local run (${SIZES.large} accounts):`);
    for (const key of ['records', 'dynamoWriteUnits', 'dynamoReadUnits', 's3Writes', 's3Reads']) {
      const [m, l] = [planLarge.workload?.[key], runLarge.workload?.[key]];
      log(
        `  ${key.padEnd(17)} model ${String(m ?? '-').padStart(9)}   local ${String(l ?? '-').padStart(9)}`,
      );
    }
    log('');
    for (const [goal, ratio] of Object.entries(goals)) {
      const ok = goal.includes('<=') ? ratio <= 1.5 : ratio >= 0.5;
      log(`${ok ? 'met    ' : 'NOT MET'} ${goal}: ${ratio.toFixed(2)}`);
    }
    log(`${bundleOk ? 'met    ' : 'NOT MET'} every bundle <= 1 MB and <= 150 ms init`);
    for (const [what, ms, goal] of startupGoals)
      log(
        `${ms <= goal ? 'met    ' : 'NOT MET'} ${what}: ${(ms / 1000).toFixed(2)} s (goal ${goal / 1000} s)`,
      );
    if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

runMain(main);
