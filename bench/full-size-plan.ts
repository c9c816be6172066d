/**
 * The full-size dry run (issue 24, item 1), measured as an operator runs it: `esep-migrate plan` through
 * bin/esep-migrate.cjs in a fresh process, on generated exports of 20,000 and 100,000 accounts (seed 5),
 * then projected to the full export's 1.1 million accounts from the two sizes (a straight line through
 * both: what grows with the export grows at the rate measured between them; the peak memory of each phase,
 * deciding the waves and writing the report, on its own line). Also times finding one
 * teacher's receipt in the larger plan's folder (`esep-migrate receipt`), whose partitions are the same
 * size at any export size.
 *
 *   npm run bench:full-size [-- --keep <dir>]   (about 3 minutes here; --keep reuses generated exports)
 *
 * Prints what it measured and, last, one JSON line.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');
const BIN = join(ROOT, 'bin', 'esep-migrate.cjs');
const FULL = 1_100_000;
const SIZES = [20_000, 100_000] as const;
const GOALS = { seconds: 600, peakMb: 1024, growth: 1.2, lookupMs: 1000 };

const keepAt = process.argv.indexOf('--keep');
const work =
  keepAt > 0 ? (process.argv[keepAt + 1] as string) : mkdtempSync(join(tmpdir(), 'esep-full-size-'));
const log = (text: string) => process.stderr.write(`${text}\n`);

/**
 * Writes the peak RSS of the process it is loaded into (threads included) to $ESEP_PEAK_FILE at exit, as
 * JSON: `max`, and the peak of each phase apart, so that a peak of one phase at one size is not projected
 * through a peak of the other at the other size. `waves` is the peak before the report phase began (plan's
 * progress line "writing the report"); `report` the peak after it: the overall peak when the process
 * reached it then, else the largest RSS sampled every 50 ms then.
 */
const PEAK = join(work, 'peak.cjs');
writeFileSync(
  PEAK,
  `const fs = require('node:fs');
let waves = 0;
let report = 0;
let inReport = false;
const write = process.stderr.write.bind(process.stderr);
process.stderr.write = (chunk, ...rest) => {
  if (!inReport && String(chunk).includes('writing the report')) {
    inReport = true;
    waves = process.resourceUsage().maxRSS;
    setInterval(() => { report = Math.max(report, process.memoryUsage.rss() / 1024); }, 50).unref();
  }
  return write(chunk, ...rest);
};
process.on('exit', () => {
  const max = process.resourceUsage().maxRSS;
  fs.writeFileSync(process.env.ESEP_PEAK_FILE, JSON.stringify(inReport
    ? { max, waves, report: max > waves ? max : Math.round(report) }
    : { max, waves: max, report: 0 }));
});
`,
);

function cli(args: string[], extraEnv: Record<string, string> = {}) {
  const started = performance.now();
  const r = spawnSync(process.execPath, ['-r', PEAK, BIN, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, CI: 'true', ESEP_PEAK_FILE: join(work, 'peak'), ...extraEnv },
  });
  const ms = performance.now() - started;
  if (r.status !== 0) throw new Error(`esep-migrate ${args[0]} failed: ${r.stderr.slice(-2000)}`);
  const peak = JSON.parse(readFileSync(join(work, 'peak'), 'utf8')) as Record<
    'max' | 'waves' | 'report',
    number
  >;
  const mb = (kb: number) => Math.round(kb / 1024);
  return {
    ms,
    peakMb: mb(peak.max),
    phasePeakMb: { waves: mb(peak.waves), report: mb(peak.report) },
    stdout: r.stdout,
  };
}

// As an operator has it after `npm ci`: the command line built (bin/esep-migrate.cjs runs the TypeScript
// through tsx, much slower, while any source is newer than the build).
spawnSync(process.execPath, [join(ROOT, 'tools', 'build-cli.mjs')], { cwd: ROOT, stdio: 'ignore' });

const measured = SIZES.map((accounts) => {
  const exportDir = join(work, `g${accounts}`);
  if (!existsSync(join(exportDir, 'manifest.json'))) {
    log(`generating ${accounts.toLocaleString('en')} accounts`);
    cli(['generate', '--out', exportDir, '--accounts', String(accounts), '--seed', '5']);
  }
  const out = join(work, `plan-${accounts}`);
  rmSync(out, { recursive: true, force: true });
  log(`plan of ${accounts.toLocaleString('en')} accounts`);
  const { ms, peakMb, phasePeakMb } = cli([
    'plan',
    exportDir,
    '--out',
    out,
    '--state',
    join(work, `state-${accounts}`),
  ]);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as {
    counts: Record<string, { migrated: number; dropped: number; quarantined: number }>;
  };
  const records = Object.values(summary.counts).reduce(
    (n, c) => n + c.migrated + c.dropped + c.quarantined,
    0,
  );
  log(
    `  ${(ms / 1000).toFixed(1)} s, peak ${peakMb} MB (deciding the waves ${phasePeakMb.waves} MB, the report ${phasePeakMb.report} MB), ${records.toLocaleString('en')} records`,
  );
  return { accounts, records, seconds: ms / 1000, peakMb, phasePeakMb, out };
});

const [small, large] = measured as [(typeof measured)[0], (typeof measured)[0]];
const project = (a: number, b: number) =>
  b + ((b - a) * (FULL - large.accounts)) / (large.accounts - small.accounts);
// One teacher's receipt from the larger plan, the median of three fresh processes.
const lookups = [1, 2, 3].map(
  () => cli(['receipt', large.out, '--account', 'acc-050000', '--as', 'html']).ms,
);
const lookupMs = Math.round(lookups.sort((a, b) => a - b)[1] as number);
const result = {
  measured: measured.map(({ out: _, ...m }) => ({ ...m, seconds: Math.round(m.seconds * 10) / 10 })),
  projectedTo: FULL,
  projectedSeconds: Math.round(project(small.seconds, large.seconds)),
  // Each phase on its own line, never below what it measured at the larger size; the peak is the larger.
  projectedPhasePeakMb: {
    waves: Math.round(
      Math.max(large.phasePeakMb.waves, project(small.phasePeakMb.waves, large.phasePeakMb.waves)),
    ),
    report: Math.round(
      Math.max(large.phasePeakMb.report, project(small.phasePeakMb.report, large.phasePeakMb.report)),
    ),
  },
  peakGrowth: Math.round((large.peakMb / small.peakMb) * 100) / 100,
  receiptLookupMs: lookupMs,
};
const projectedPeakMb = Math.max(result.projectedPhasePeakMb.waves, result.projectedPhasePeakMb.report);
const goals = {
  [`full size <= ${GOALS.seconds} s`]: result.projectedSeconds <= GOALS.seconds,
  [`full size peak <= ${GOALS.peakMb} MB`]: projectedPeakMb <= GOALS.peakMb,
  [`peak at 100,000 <= ${GOALS.growth} x at 20,000`]: result.peakGrowth <= GOALS.growth,
  [`a receipt found in < ${GOALS.lookupMs} ms`]: lookupMs < GOALS.lookupMs,
};
log(
  `projected to ${FULL.toLocaleString('en')} accounts: ${result.projectedSeconds} s (${(result.projectedSeconds / 60).toFixed(1)} min), peak ${projectedPeakMb} MB (deciding the waves ${result.projectedPhasePeakMb.waves} MB, the report ${result.projectedPhasePeakMb.report} MB); peak ${result.peakGrowth} x from 20,000 to 100,000 accounts; one receipt (html) in ${lookupMs} ms`,
);
for (const [goal, met] of Object.entries(goals)) log(`  ${met ? 'met' : 'NOT met'}: ${goal}`);
process.stdout.write(`${JSON.stringify({ ...result, projectedPeakMb, goals })}\n`);
if (keepAt < 0) rmSync(work, { recursive: true, force: true });
