/**
 * `npx tsx bench/invocation-work.ts [accounts] [chunkLines] [partitionRecords]` (issue 25, item 6): runs two generated exports
 * locally, `accounts` (default 200) and five times as many, with small chunks and partitions so that both
 * are cut into many, and prints each function's heaviest invocation's work (`limits.json` `maxWork`:
 * records, AWS requests, bytes) at both sizes and their ratio. Work that stays bounded per invocation
 * keeps a ratio near 1; the goal is 1.2 at most. Minutes, not part of `npm test`.
 *
 * The chunks are cut small enough (by default) that every kind of the smaller export fills a worker's
 * whole batch (SIZING.workerBatchSize chunks): a kind of fewer lines never reaches the bound at the
 * smaller size, so its ratio would measure the export's size, not the invocation's. A chunk holds at most
 * half its lines' files (`chunkFiles`), so a batch's files are bounded below its lines as well.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SIZING } from '../functions/core/pipeline/sizing';
import type { LimitsReport } from '../local/runtime/limits';
import { generateExport } from '../tools/generate';
import { runMain } from './main';

const base = Number(process.argv[2] ?? 200);
/**
 * Records a receipts partition is sized by (100 by default, so that both exports are cut into many; a
 * partition then holds a handful of accounts, and the heaviest of them weighs on it). `-` for chunkLines
 * keeps its default.
 */
const partitionRecords = Number(process.argv[4] ?? 100);
const partitioningFor = (chunkLines: number) => ({
  chunkLines,
  chunkFiles: Math.max(1, Math.floor(chunkLines / 2)),
  chunkFileBytes: 2 * 1024 ** 3,
  // A stage's split sends a few chunks a page, so that both exports' stages take many pages: two worker
  // batches' worth (SIZING.workerBatchSize), as the deployed 1,000 is a multiple of it, so that a worker's
  // batch holds consecutive chunks as deployed rather than the tail of one page and the head of the next.
  splitChunks: 2 * SIZING.workerBatchSize,
  reportResults: 4,
  partitionRecords,
  verifyKeys: 40,
  verifyPartitionKeys: 100,
  joinObjects: 5,
  summaryTallies: 20,
  receiptsPerStep: 5,
  spoolPuts: 10,
});
const PACE = { waitMs: 600_000, retryMs: 10, redeliverySeconds: 5 };

/** The most lines a chunk may hold for every kind of an export to fill a worker's batch. */
async function chunkLinesFor(exportDir: string): Promise<number> {
  const manifest = JSON.parse(await readFile(join(exportDir, 'manifest.json'), 'utf8')) as {
    files: { kind: string; records: number }[];
  };
  const fewest = Math.min(...manifest.files.filter((f) => f.records > 0).map((f) => f.records));
  return Math.max(1, Math.floor(fewest / SIZING.workerBatchSize));
}

async function limitsOf(exportDir: string, stateDir: string, chunkLines: number): Promise<LimitsReport> {
  // Loaded here, after main() quietened the handlers' logs (their logger reads its level when loaded).
  const { runLocal } = require('../cli/commands/run') as typeof import('../cli/commands/run');
  const result = await runLocal({
    exportDir,
    stateDir,
    stderr: { write: () => true },
    pipeline: { ...PACE, context: { partitioning: partitioningFor(chunkLines), workerConcurrency: 2 } },
  });
  if (result.failed) throw new Error(`the run of ${exportDir} failed`);
  return JSON.parse(await readFile(join(result.outDir, 'limits.json'), 'utf8')) as LimitsReport;
}

async function main() {
  process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  const dir = await mkdtemp(join(tmpdir(), 'esep-invocation-work-'));
  try {
    const sizes = [base, base * 5];
    for (const accounts of sizes)
      await generateExport({ out: join(dir, `export-${accounts}`), accounts, seed: 16 });
    const chunkLines =
      process.argv[3] && process.argv[3] !== '-'
        ? Number(process.argv[3])
        : await chunkLinesFor(join(dir, `export-${base}`));
    const limits: LimitsReport[] = [];
    for (const accounts of sizes)
      limits.push(
        await limitsOf(join(dir, `export-${accounts}`), join(dir, `state-${accounts}`), chunkLines),
      );
    const [small, large] = limits as [LimitsReport, LimitsReport];
    console.log(
      `heaviest invocation's work, ${base} -> ${base * 5} accounts (chunkLines ${chunkLines}, chunkFiles ${partitioningFor(chunkLines).chunkFiles}, partitionRecords ${partitionRecords}):`,
    );
    for (const [name, f] of Object.entries(large.functions)) {
      const a = small.functions[name]?.maxWork;
      const b = f.maxWork;
      if (!a) continue;
      const r = (k: 'records' | 'requests' | 'bytes') => (b[k] / Math.max(1, a[k])).toFixed(2);
      console.log(
        `  ${name.padEnd(18)} records ${a.records} -> ${b.records} (${r('records')})   requests ${a.requests} -> ${b.requests} (${r('requests')})   bytes ${a.bytes} -> ${b.bytes} (${r('bytes')})`,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

runMain(main);
