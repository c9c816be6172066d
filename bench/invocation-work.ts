/**
 * `npx tsx bench/invocation-work.ts [accounts] [chunkLines]` (issue 25, item 6): runs two generated exports
 * locally, `accounts` (default 200) and five times as many, with small chunks and partitions so that both
 * are cut into many, and prints each function's heaviest invocation's work (`limits.json` `maxWork`:
 * records, AWS requests, bytes) at both sizes and their ratio. Work that stays bounded per invocation
 * keeps a ratio near 1; the goal is 1.2 at most. Minutes, not part of `npm test`.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LimitsReport } from '../local/runtime/limits';
import { generateExport } from '../tools/generate';

const base = Number(process.argv[2] ?? 200);
const chunkLines = Number(process.argv[3] ?? 20);
const PARTITIONING = {
  chunkLines,
  reportResults: 4,
  partitionRecords: 100,
  verifyKeys: 40,
  verifyPartitionKeys: 100,
  summaryTallies: 20,
};
const PACE = { waitMs: 600_000, retryMs: 10, redeliverySeconds: 5 };

async function limitsOf(dir: string, accounts: number): Promise<LimitsReport> {
  const exportDir = join(dir, `export-${accounts}`);
  await generateExport({ out: exportDir, accounts, seed: 16 });
  // Loaded here, after main() quietened the handlers' logs (their logger reads its level when loaded).
  const { runLocal } = require('../cli/commands/run') as typeof import('../cli/commands/run');
  const result = await runLocal({
    exportDir,
    stateDir: join(dir, `state-${accounts}`),
    stderr: { write: () => true },
    pipeline: { ...PACE, context: { partitioning: PARTITIONING, workerConcurrency: 2 } },
  });
  if (result.failed) throw new Error(`the run of ${accounts} accounts failed`);
  return JSON.parse(await readFile(join(result.outDir, 'limits.json'), 'utf8')) as LimitsReport;
}

async function main() {
  process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  const dir = await mkdtemp(join(tmpdir(), 'esep-invocation-work-'));
  try {
    const small = await limitsOf(dir, base);
    const large = await limitsOf(dir, base * 5);
    console.log(`heaviest invocation's work, ${base} -> ${base * 5} accounts (chunkLines ${chunkLines}):`);
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

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
