import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readReceipt } from '../../cli/commands/receipt';
import { ReportFolder, WaveSpool, type WaveSpoolPlace } from '../../functions/adapters/report-folder';
import { findReceipt, receiptLine } from '../../functions/core/report/receipt-partitions';
import { buildReceipt } from '../../functions/core/report/summary';
import { ReportTally } from '../../functions/core/report/tally';
import type { DecidedRecord } from '../../functions/core/rules/decide';
import { compilePolicy } from '../../functions/core/rules/policy';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'esep-receipt-partitions-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Decisions of `accounts` accounts: each its profile, two activities, and a TwinSpace it takes part in. */
function decisions(accounts: number): DecidedRecord[] {
  const out: DecidedRecord[] = [];
  for (let a = 0; a < accounts; a++) {
    const owner = `acc-${a}`;
    out.push({
      kind: 'accounts',
      id: owner,
      wave: '2023',
      decision: 'migrated',
      reason: 'PROFILE_MIGRATED',
      owners: [owner],
    });
    for (const n of [1, 2])
      out.push({
        kind: 'activities',
        id: `act-${a}-${n}`,
        wave: '2023',
        decision: n === 1 ? 'migrated' : 'dropped',
        reason: n === 1 ? 'ACTIVITY_ELIGIBLE' : 'ACTIVITY_BEFORE_CUTOFF',
        owners: [owner],
        date: `2021-0${n}-1${a % 10}T23:30:00Z`,
      } as DecidedRecord);
  }
  out.push({
    kind: 'projects',
    id: 'prj-1',
    wave: 'sept-2022',
    decision: 'migrated',
    reason: 'TWINSPACE_ELIGIBLE',
    owners: ['acc-0'],
    members: Array.from({ length: accounts }, (_, a) => `acc-${a}`),
  } as DecidedRecord);
  return out;
}

async function planFolder(name: string, threads: number, records: DecidedRecord[], threadHeapMb?: number) {
  const dir = join(tmp, name);
  const folder = new ReportFolder(dir, 'exp-1', {
    partitions: 4,
    threads,
    policy: compilePolicy(),
    ...(threadHeapMb ? { threadHeapMb } : {}),
  });
  await folder.open();
  // Two waves, each spooled apart, joined in their order.
  const places = [folder.wave(0), folder.wave(1)];
  const counted = new ReportTally(['projects', 'accounts', 'activities']);
  for (const [n, wave] of ['sept-2022', '2023'].entries()) {
    const spool = await WaveSpool.open(places[n] as WaveSpoolPlace);
    for (const r of records.filter((r) => r.wave === wave)) await spool.add(r);
    counted.merge(await spool.close());
  }
  const summary = counted.tally.summary('exp-1', ['sept-2022', '2023'], new Date(0), new Date(0));
  const receipts = await folder.finish(summary, counted.toJSON(), places);
  return { dir, receipts };
}

const filesOf = async (dir: string) => {
  const names = (await readdir(join(dir, 'receipts'))).sort();
  return Promise.all(names.map(async (n) => [n, await readFile(join(dir, 'receipts', n), 'utf8')]));
};

test("a plan's receipts built on worker threads are the same partitions, byte for byte, as built in one thread", async () => {
  const records = decisions(300);
  const one = await planFolder('one', 1, records);
  const two = await planFolder('two', 2, records);
  expect([one.receipts, two.receipts]).toEqual([300, 300]);
  const files = await filesOf(one.dir);
  expect(files.map(([n]) => n)).toEqual([
    '00000.ndjson',
    '00001.ndjson',
    '00002.ndjson',
    '00003.ndjson',
    'partitions.json',
  ]);
  expect(await filesOf(two.dir)).toEqual(files);
  // No spool left behind.
  expect((await readdir(two.dir)).sort()).toEqual([
    'decisions.ndjson',
    'receipts',
    'report.html',
    'summary.json',
  ]);
});

test('a partition that outgrows its thread is built again here, with the same receipts', async () => {
  // One account that owns 30,000 records with long titles: its partition holds more than a 48 MB heap.
  const records: DecidedRecord[] = [...decisions(20)];
  for (let n = 0; n < 30_000; n++)
    records.push({
      kind: 'activities',
      id: `big-${n}`,
      wave: '2023',
      decision: 'dropped',
      reason: 'ACTIVITY_BEFORE_CUTOFF',
      owners: ['acc-big'],
      title: `${n} ${'x'.repeat(1_000)}`,
    } as DecidedRecord);
  const one = await planFolder('one-big', 1, records);
  const cramped = await planFolder('cramped', 2, records, 48);
  expect(cramped.receipts).toBe(21);
  expect(await filesOf(cramped.dir)).toEqual(await filesOf(one.dir));
}, 60_000);

test("an account's receipt is found in its partition, as built from its decisions; none for an account without", async () => {
  const records = decisions(300);
  const { dir } = await planFolder('find', 2, records);
  for (const id of ['acc-0', 'acc-1', 'acc-10', 'acc-299']) {
    const expected = buildReceipt(
      'exp-1',
      id,
      records.filter((r) => r.owners.includes(id)),
      { policy: compilePolicy() },
      records
        .filter((r) => r.members?.includes(id))
        .map(({ owners: _, members: __, ...r }) => ({ ...r, owners: [] }) as DecidedRecord),
    );
    const found = await readReceipt(dir, id);
    expect(found.accountId).toBe(id);
    expect(found.records).toEqual(expected.records);
    expect(found.spaces.map((s) => s.id)).toEqual(['prj-1']);
  }
  await expect(readReceipt(dir, 'acc-300')).rejects.toThrow(`${dir} has no receipt for account acc-300`);
});

test('findReceipt reads the line of that account, not of one whose id starts the same', () => {
  const lines = ['acc-10', 'acc-1', 'acc-1"x'].map((id) => receiptLine(buildReceipt('e', id, []))).join('');
  expect(findReceipt(lines, 'acc-1')?.accountId).toBe('acc-1');
  expect(findReceipt(lines, 'acc-10')?.accountId).toBe('acc-10');
  expect(findReceipt(lines, 'acc-1"x')?.accountId).toBe('acc-1"x');
  expect(findReceipt(lines, 'acc-')).toBeUndefined();
});
