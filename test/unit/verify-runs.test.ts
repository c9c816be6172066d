import type { RunStatus } from '../../functions/core/ports';
import type { Verification } from '../../functions/core/report/summary';
import { CHECKS, type CheckName, mergeVerifications } from '../../functions/core/report/verification';
import { runsToVerify } from '../../functions/core/verify/verify';

/**
 * What `verify <exportId>` stands on (issue 27, mistake 9): everything the export has in the target,
 * every finished run of it; a wave's rollback is checked, but never the only thing checked.
 */
const row = (over: Partial<RunStatus> & Pick<RunStatus, 'waves' | 'state' | 'at'>): RunStatus => ({
  scope: 'exA@p1',
  startedAt: over.at,
  ...over,
});
const ALL = ['sept-2022', 'nov-2022', '2023'];

test('a rolled-back wave of a run of all waves: the run is checked, with its withdrawn wave, not only the rollback', () => {
  const statuses = [
    row({ waves: ALL, state: 'completed', at: '2022-09-01T10:00:00Z', rolledBackWaves: ['2023'] }),
    row({
      waves: ['2023'],
      state: 'rolled-back',
      at: '2022-09-02T10:00:00Z',
      startedAt: '2022-09-01T10:00:00Z',
    }),
  ];
  expect(runsToVerify('exA', statuses)).toEqual([
    { exportId: 'exA', scope: 'exA@p1', waves: ALL, startedAt: '2022-09-01T10:00:00Z' },
  ]);
});

test('waves run one at a time, one of them rolled back, and a corrected export: every run, oldest first; a running one waits', () => {
  const statuses = [
    row({
      waves: ['nov-2022'],
      state: 'rolled-back',
      at: '2022-11-02T00:00:00Z',
      startedAt: '2022-11-01T00:00:00Z',
    }),
    row({ waves: ['sept-2022'], state: 'completed', at: '2022-09-01T00:00:00Z' }),
    // The same waves run again: its latest row stands.
    row({ waves: ['sept-2022'], state: 'completed-with-quarantine', at: '2022-09-05T00:00:00Z' }),
    row({ scope: 'exA@p2', waves: ['2023'], state: 'completed', at: '2023-01-01T00:00:00Z' }),
    row({ scope: 'exA@p2', waves: ['sept-2022'], state: 'running', at: '2023-02-01T00:00:00Z' }),
  ];
  expect(runsToVerify('exA', statuses).map((r) => `${r.scope} ${r.waves.join()} ${r.startedAt}`)).toEqual([
    'exA@p1 sept-2022 2022-09-05T00:00:00Z',
    'exA@p1 nov-2022 2022-11-01T00:00:00Z',
    'exA@p2 2023 2023-01-01T00:00:00Z',
  ]);
  expect(runsToVerify('exA', [])).toEqual([]);
});

test("several runs' verdicts as one: a check fails when it fails in any; what they covered adds up", () => {
  const verdict = (failing: Partial<Record<CheckName, string>>): Verification => {
    const checks = (Object.keys(CHECKS) as CheckName[]).map((name) => ({
      name,
      description: CHECKS[name],
      passed: failing[name] === undefined,
      checked: 2,
      problems: failing[name] === undefined ? [] : [failing[name] as string],
    }));
    return { passed: checks.every((c) => c.passed), checks };
  };
  const merged = mergeVerifications([
    verdict({}),
    verdict({ documents: 'portfolio pf-1: migrated by this run, but its document k is not in the target' }),
  ]);
  expect(merged.passed).toBe(false);
  const documents = merged.checks.find((c) => c.name === 'documents');
  expect(documents).toMatchObject({ passed: false, checked: 4 });
  expect(documents?.problems).toEqual([
    'portfolio pf-1: migrated by this run, but its document k is not in the target',
  ]);
  expect(merged.checks.filter((c) => !c.passed).map((c) => c.name)).toEqual(['documents']);
  expect(mergeVerifications([verdict({}), verdict({})]).passed).toBe(true);
});
