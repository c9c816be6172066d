import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatEta, progress } from '../../cli/progress';
import { BIN, ROOT } from '../helpers/cli';

/**
 * Progress as people expect from long work: on a terminal (a pseudo-terminal, through util-linux's
 * `script`) one bar with the steps under way, a percentage, the records and an ETA; in a pipe, a plain line
 * per change of steps.
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
  expect(r.stdout).toMatch(
    /\[plan\] steps? [\d +]+ of 9: .* 100% \| 1,032\/1,032 records \| [\d,]+\/s \| ETA 0 s/,
  );
  expect(r.stdout).toContain('\u001b[2K'); // the bar is cleared before the summary
  expect(r.stdout).toMatch(/Plan of export export/);
});

test('in a pipe: one plain line per change of the steps under way, with the percentage and the ETA', () => {
  const r = spawnSync(process.execPath, [BIN, 'plan', 'samples/export', '--out', join(tmp, 'pipe')], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  expect(r.status).toBe(0);
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('[plan]'));
  // The waves are decided at once, each on a thread of its own: a line names the stages under way.
  expect(lines[0]).toMatch(
    /^\[plan\] steps? \d( \+ \d)* of 9: \S+( \+ \S+)* \(0%, 0 of 1,032 records, ETA unknown\)$/,
  );
  for (const stage of ['sept-2022/decide-1', 'sept-2022/decide-2', 'nov-2022/index', '2023/decide-2'])
    expect(lines.some((l) => l.includes(stage))).toBe(true);
  // Whether two waves' steps overlap depends on the threads' timing; when they do, the line names each step.
  for (const line of lines.filter((l) => l.includes(' + ')))
    expect(line).toMatch(/^\[plan\] steps \d( \+ \d)+ of 9: \S+( \+ \S+)+ \(/);
  expect(lines.at(-1)).toMatch(
    /^\[plan\] step 9 of 9: writing the report \(100%, 1,032 of 1,032 records, ETA 0 s\)$/,
  );
  expect(r.stderr).not.toContain('\u001b');
});

test('stages under way at once (waves on threads of their own) read as one line naming each step', () => {
  const written: string[] = [];
  const p = progress(
    { write: (s: string) => written.push(s) },
    'plan',
    ['a/index', 'a/decide', 'b/decide'],
    10,
  );
  p.phase('a/index');
  p.phase('a/decide + b/decide');
  p.records(5);
  p.phase('b/decide');
  p.end();
  expect(written).toEqual([
    '[plan] step 1 of 3: a/index (0%, 0 of 10 records, ETA unknown)\n',
    '[plan] steps 2 + 3 of 3: a/decide + b/decide (0%, 0 of 10 records, ETA unknown)\n',
    expect.stringMatching(/^\[plan\] step 3 of 3: b\/decide \(50%, 5 of 10 records, ETA \d+ s\)\n$/),
  ]);
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
