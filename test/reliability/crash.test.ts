import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { plan } from '../../cli/commands/plan';
import { runLocal } from '../../cli/commands/run';
import { generateExport, prng } from '../../tools/generate';
import { BIN, cli, ROOT } from '../helpers/cli';
import { reportOf, snapshot } from '../helpers/local-state';
import { lossAndDuplication, recordFigures, scale } from './support';

/**
 * Crash safety: `esep-migrate run` killed with SIGKILL at random points, again and again, then started
 * once more: the decisions, the target, the ledger and the report are those of an undisturbed run.
 */
jest.setTimeout(scale(300_000, 1_800_000));

const KILLS = scale(2, 8);
const ACCOUNTS = scale(50, 300);
let tmp: string;
let exportDir: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'esep-crash-'));
  exportDir = join(tmp, 'crash-export');
  await generateExport({ out: exportDir, accounts: ACCOUNTS, seed: 99 });
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
}, 60_000);

/** Starts `run` and kills it with SIGKILL after `ms`; false when it finished first. */
function runAndKill(state: string, ms: number): Promise<boolean> {
  const child = spawn(
    process.execPath,
    [BIN, 'run', exportDir, '--state', state, '--out', join(tmp, 'killed')],
    {
      cwd: ROOT,
      detached: true,
      stdio: 'ignore',
    },
  );
  return new Promise((resolve) => {
    let exited = false;
    child.on('exit', () => {
      exited = true;
    });
    setTimeout(() => {
      if (exited) return resolve(false);
      process.kill(-(child.pid as number), 'SIGKILL');
      child.on('exit', () => resolve(true));
    }, ms);
  });
}

test(`a run killed ${KILLS} times at random points ends as an undisturbed run`, async () => {
  const quiet = { write: () => true };
  const p = await plan({ exportDir, out: join(tmp, 'plan'), stderr: quiet });
  const undisturbedState = join(tmp, 'state-undisturbed');
  await runLocal({ exportDir, stateDir: undisturbedState, out: join(tmp, 'undisturbed'), stderr: quiet });
  const baseline = await snapshot(undisturbedState);

  const state = join(tmp, 'state-killed');
  const next = prng(7);
  let killed = 0;
  for (let i = 0; i < KILLS; i++) {
    // Anywhere from start-up (synth, stand-ins) to the last stages.
    if (await runAndKill(state, 800 + Math.floor(next() * 9000))) killed++;
  }
  expect(killed).toBeGreaterThanOrEqual(Math.ceil(KILLS / 2));
  const final = cli(['run', exportDir, '--state', state, '--out', join(tmp, 'final')]);
  // Nothing but the notice that it takes over the state folder a killed run left.
  const said = final.stderr.split('\n').filter((l) => l.startsWith('esep-migrate:'));
  expect(
    said.filter((l) => !/was left by an esep-migrate that stopped \(pid \d+\); taking it over$/.test(l)),
  ).toEqual([]);
  expect(final.status).toBe(0);

  const after = await snapshot(state);
  expect(reportOf(join(tmp, 'final'))).toEqual(reportOf(join(tmp, 'undisturbed')));
  expect(reportOf(join(tmp, 'final')).decisions).toBe(
    readFileSync(join(p.outDir, 'decisions.ndjson'), 'utf8'),
  );
  expect(after.objects).toEqual(baseline.objects);
  expect(after.results).toEqual(baseline.results);
  const lines = (dir: string) =>
    readFileSync(join(dir, 'decisions.ndjson'), 'utf8').split('\n').filter(Boolean);
  const records = lossAndDuplication(lines(join(tmp, 'undisturbed')), lines(join(tmp, 'final')));
  const objects = lossAndDuplication(baseline.objects, after.objects);
  recordFigures('crash', {
    runsKilled: killed,
    killedRunsSurvived: killed,
    recordsLost: records.lost + objects.lost,
    recordsDuplicated: records.duplicated + objects.duplicated,
  });
});

test('redrive names what it cannot find', () => {
  const r = cli(['redrive', 'no-such-export', '--state', join(tmp, 'state-empty')]);
  expect(r.status).toBe(2);
  expect(r.stderr).toContain('redrive: no run of export "no-such-export" in this state folder');
});
