import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runLocal } from '../cli/commands/run';
import { generateExport } from '../tools/generate';

/**
 * One local run of a generated export under injected faults, as the reliability suite runs it
 * (`test/reliability/pipeline.test.ts`: its export's seed, its fast settings), timed, next to an
 * undisturbed run of the same export:
 *
 *   npx tsx bench/fault-run.ts --accounts 250 --share 0.2 --seed 13
 */
const { values } = parseArgs({
  options: {
    accounts: { type: 'string', default: '250' },
    share: { type: 'string', default: '0.2' },
    seed: { type: 'string', default: '13' },
  },
});
const FAST = { waitMs: 20, retryMs: 10, redeliverySeconds: 2 };

async function timed(exportDir: string, dir: string, faults?: { share: number; seed: number }) {
  const started = performance.now();
  const r = await runLocal({
    exportDir,
    stateDir: join(dir, 'state'),
    out: join(dir, 'out'),
    stderr: { write: () => true },
    pipeline: { ...FAST, ...(faults ? { faults } : {}) },
  });
  return {
    seconds: Math.round((performance.now() - started) / 100) / 10,
    failed: r.failed,
    verified: r.summary.verification?.passed ?? null,
    faults: r.counts.faults.injected,
  };
}

(async () => {
  const tmp = await mkdtemp(join(tmpdir(), 'esep-fault-run-'));
  try {
    const exportDir = join(tmp, 'export');
    await generateExport({ out: exportDir, accounts: Number(values.accounts), seed: 2026 });
    const undisturbed = await timed(exportDir, join(tmp, 'undisturbed'));
    const faulted = await timed(exportDir, join(tmp, 'faults'), {
      share: Number(values.share),
      seed: Number(values.seed),
    });
    console.log(
      JSON.stringify({
        accounts: Number(values.accounts),
        share: Number(values.share),
        undisturbed,
        faulted,
      }),
    );
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
})();
