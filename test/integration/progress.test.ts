import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatEta } from '../../cli/progress';
import { BIN, ROOT } from '../helpers/cli';

/**
 * Progress as people expect from long work: on a terminal (a pseudo-terminal, through util-linux's
 * `script`) one bar with the step, a percentage, the records and an ETA; in a pipe, a plain line per step.
 */
jest.setTimeout(60_000);

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'esep-progress-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
}, 60_000);

test('on a terminal: a bar with the step, percentage, records of the total and an ETA, cleared at the end', () => {
  const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} plan samples/export --out ${JSON.stringify(join(tmp, 'tty'))}`;
  const r = spawnSync('script', ['-qec', command, '/dev/null'], { cwd: ROOT, encoding: 'utf8' });
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/\[plan\] step \d+ of 9: .* 100% \| 1,032\/1,032 records \| [\d,]+\/s \| ETA 0 s/);
  expect(r.stdout).toContain('\u001b[2K'); // the bar is cleared before the summary
  expect(r.stdout).toMatch(/Plan of export export/);
});

test('in a pipe: one plain line per step, with the percentage and the ETA', () => {
  const r = spawnSync(process.execPath, [BIN, 'plan', 'samples/export', '--out', join(tmp, 'pipe')], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  expect(r.status).toBe(0);
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('[plan]'));
  expect(lines[0]).toBe('[plan] step 1 of 9: sept-2022/decide-1 (0%, 0 of 1,032 records, ETA unknown)');
  expect(lines.at(-1)).toMatch(
    /^\[plan\] step 9 of 9: writing the report \(100%, 1,032 of 1,032 records, ETA 0 s\)$/,
  );
  expect(r.stderr).not.toContain('\u001b');
});

test.each([
  [0.2, '1 s'],
  [59, '59 s'],
  [61, '2 min'],
  [3 * 3600 + 120, '3 h 2 min'],
  [Number.NaN, 'unknown'],
])('an ETA of %s seconds reads "%s"', (seconds, text) => {
  expect(formatEta(seconds)).toBe(text);
});
