import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLocal } from '../../cli/commands/run';
import type { LimitsReport } from '../../local/runtime/limits';
import type { Throttling } from '../../local/runtime/throttling';
import { generateExport } from '../../tools/generate';

/**
 * `npm run test:aws-limits` (not in `npm test`: a run paced to AWS's limits takes minutes): a generated
 * export run against stand-ins that refuse what AWS would refuse (a new table's and a new bucket's rates,
 * scaled down so that they bind on a small export), with the workers budgeted from the same figures. The
 * run ends complete and verified, nothing dead-lettered, and the throttling it met is written down.
 */
jest.setTimeout(20 * 60_000);

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'esep-aws-limits-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

test("at AWS's limits (x 0.02) the run ends complete and verified, nothing dead-lettered, what was throttled in limits.json", async () => {
  const exportDir = join(tmp, 'limits-export');
  await generateExport({ out: exportDir, accounts: 200, seed: 25 });
  const started = Date.now();
  const result = await runLocal({
    exportDir,
    stateDir: join(tmp, 'state'),
    stderr: { write: () => true },
    awsLimits: 0.02,
  });
  const seconds = (Date.now() - started) / 1000;
  expect(result.failed).toBe(false);
  expect(result.summary.verification?.passed).toBe(true);
  const limits = JSON.parse(readFileSync(join(result.outDir, 'limits.json'), 'utf8')) as LimitsReport & {
    throttling: Throttling;
  };
  expect(limits.throttling).toEqual(result.throttling && { ...limits.throttling });
  expect(limits.throttling.deadLettered).toBe(0);
  expect(limits.throttling.requests).toBeGreaterThan(1000);
  // The workers are paced to their budgets: what is still refused (bursts, requests outside the budgets)
  // stays a small share, and is retried.
  expect(limits.throttling.throttled / limits.throttling.requests).toBeLessThan(0.05);
  // At 80 table writes, 70 bucket writes and 110 bucket reads a second, the run's requests take time.
  expect(seconds).toBeGreaterThan(limits.requests.s3Writes / (3500 * 0.02));
  console.log(
    `aws-limits x 0.02: ${limits.throttling.throttled} of ${limits.throttling.requests} requests throttled, ${(limits.throttling.waitedMs / 1000).toFixed(1)} s waited; model ${result.throttling?.model.throttled}, ${((result.throttling?.model.waitedMs ?? 0) / 1000).toFixed(1)} s; run ${seconds.toFixed(0)} s`,
  );
});
