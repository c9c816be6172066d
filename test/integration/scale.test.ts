import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLocal } from '../../cli/commands/run';
import { synthesize } from '../../local/cloudformation/synth';
import type { LimitsReport } from '../../local/runtime/limits';
import { generateExport } from '../../tools/generate';
import { allows, IAM_ACTIONS, permissions } from '../helpers/grants';

/**
 * No invocation's work grows with the export (issue 16): the same pipeline, cut into small partitions,
 * runs an export and one with five times the accounts; the report's and verify's heaviest invocations
 * do at most twice the smaller run's work (requests and bytes), while their number grows with the export. limits.json is what
 * the local runtime measured of every invocation.
 */
// A stage ends when its last chunk answers its wait; a wait that timed out would add a check and a token
// write that grow with the run's wall time, not its work, so none may time out here.
const FAST = { waitMs: 600_000, retryMs: 10, redeliverySeconds: 5 };
const quiet = { write: () => true };
/**
 * Small partitions, so that a small export already takes many of each. Chunks of 200 lines (the
 * deployment's hold 1,000): each chunk's marker and count are two writes, 0.01 a record at this size (at
 * 100 lines the run measured 0.302 write units a record, over the goal only by those).
 */
const PARTITIONING = {
  chunkLines: 200,
  reportResults: 4,
  partitionRecords: 100,
  verifyKeys: 40,
  verifyPartitionKeys: 100,
  // A receipts or verify partition joins its spool 3 objects an invocation, the summary merges 5 tallies:
  // both hand on through their queue or the state machine's loop, as a large export's do.
  joinObjects: 3,
  summaryTallies: 5,
  // A receipts partition puts 4 accounts' receipts a step, handing the rest on through its queue.
  receiptsPerStep: 4,
  // A map part puts 6 spool objects an invocation, handing the rest on.
  spoolPuts: 6,
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'esep-scale-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
}, 60_000);

async function limitsOf(accounts: number): Promise<LimitsReport> {
  const exportDir = join(dir, `export-${accounts}`);
  await generateExport({ out: exportDir, accounts, seed: 16 });
  const result = await runLocal({
    exportDir,
    stateDir: join(dir, `state-${accounts}`),
    stderr: quiet,
    // Two invocations per queue at once in both runs: each one's time is its own work, not its wait for
    // the others' in this one process.
    pipeline: { ...FAST, context: { partitioning: PARTITIONING, workerConcurrency: 2 } },
  });
  expect(result.summary.verification?.passed).toBe(true);
  const manifest = JSON.parse(await readFile(join(exportDir, 'manifest.json'), 'utf8')) as {
    files: { records: number }[];
  };
  records.set(
    accounts,
    manifest.files.reduce((n, f) => n + f.records, 0),
  );
  return JSON.parse(await readFile(join(result.outDir, 'limits.json'), 'utf8')) as LimitsReport;
}

/** The records of each export run, by its accounts. */
const records = new Map<number, number>();
let small: LimitsReport | undefined;

let large: LimitsReport | undefined;

test('five times the accounts: the heaviest report and verify invocations do at most twice the work, inside every limit', async () => {
  small = await limitsOf(20);
  large = await limitsOf(100);
  for (const name of ['report', 'verify'] as const) {
    const [s, l] = [small?.functions[name], large.functions[name]];
    expect(s && l).toBeTruthy();
    if (!s || !l) return;
    // The work is cut into more invocations, not bigger ones: counted in requests and bytes, not timed
    // (invocations that share this process slow each other down as more run at once).
    const within = l.maxWork.requests <= 2 * s.maxWork.requests && l.maxWork.bytes <= 2 * s.maxWork.bytes;
    expect({
      name,
      invocations: [s.invocations, l.invocations],
      work: [s.maxWork, l.maxWork],
      within,
    }).toEqual({
      name,
      invocations: [s.invocations, expect.any(Number)],
      work: [s.maxWork, l.maxWork],
      within: true,
    });
  }
  // Work, counted rather than timed: a verify page is the same work however large the target.
  const [sv, lv] = [small?.functions.verify?.maxWork, large.functions.verify?.maxWork];
  expect(sv?.requests).toBeGreaterThan(0);
  expect(lv && sv && lv.requests <= 1.2 * sv.requests && lv.bytes <= 1.2 * sv.bytes).toBe(true);
  for (const [name, f] of Object.entries(large.functions))
    expect([name, f.maxWork.records > 0 && f.maxWork.requests > 0 && f.maxWork.bytes > 0]).toEqual([
      name,
      true,
    ]);
  // More parts of the report; more pages of verify's (fixed) partitions.
  expect(large.functions.report?.invocations).toBeGreaterThanOrEqual(
    2 * (small?.functions.report?.invocations ?? 0),
  );
  expect(large.functions.verify?.invocations).toBeGreaterThan(small?.functions.verify?.invocations ?? 0);
  for (const report of [small as LimitsReport, large]) {
    for (const [name, f] of Object.entries(report.functions)) {
      expect([name, f.maxDurationMs < f.timeoutMs]).toEqual([name, true]);
      expect([name, f.maxTmpBytes <= f.tmpLimitBytes]).toEqual([name, true]);
    }
    expect(report.historyEvents).toBeGreaterThan(0);
    expect(report.historyEvents).toBeLessThan(report.historyLimit);
    expect(report.maxStatePayloadBytes).toBeLessThan(report.statePayloadLimitBytes);
  }
}, 300_000);

test('every AWS operation a function called in the run is granted to its role, and none of its grants is a wildcard action', () => {
  if (!large) throw new Error('the run of the test above did not finish');
  const synth = synthesize({ partitioning: PARTITIONING, workerConcurrency: 2 });
  const missing: string[] = [];
  for (const [name, f] of Object.entries(large.functions)) {
    const { actions } = permissions(synth, name);
    expect([name, actions.filter((a) => a === '*' || a.endsWith(':*'))]).toEqual([name, []]);
    for (const call of f.calls)
      for (const action of IAM_ACTIONS[call] ?? [call])
        if (!allows(actions, action)) missing.push(`${name} calls ${call}: ${action} not granted`);
  }
  expect(missing).toEqual([]);
  // The run called what every stage needs: the table, the buckets and the queues.
  const calls = new Set(Object.values(large.functions).flatMap((f) => f.calls));
  for (const call of ['dynamodb:BatchWriteItem', 's3:PutObject', 's3:CopyObject', 'sqs:SendMessageBatch'])
    expect(calls).toContain(call);
});

test('the table takes no item per record: the requests the run sent cost at most 0.3 write units per record more', () => {
  if (!small || !large) throw new Error('the runs of the first test did not finish');
  const more = (records.get(100) ?? 0) - (records.get(20) ?? 0);
  expect(more).toBeGreaterThan(1000);
  // Counted from every request the functions' clients sent (limits.json `requests`), not modelled.
  const units = large.requests.dynamoWriteUnits - small.requests.dynamoWriteUnits;
  expect(units).toBeGreaterThan(0);
  expect(units / more).toBeLessThanOrEqual(0.3);
  // The records' documents went to S3 instead, and verify read them back.
  expect(large.requests.s3Writes - small.requests.s3Writes).toBeGreaterThan(0.1 * more);
  expect(large.requests.s3Reads).toBeGreaterThan(small.requests.s3Reads);
});
