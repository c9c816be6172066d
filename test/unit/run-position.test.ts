import { recordChunk, runPosition, runStageIds } from '../../functions/core/pipeline/progress';
import { markerStage } from '../../functions/core/pipeline/stages';
import { compilePolicy } from '../../functions/core/rules/policy';
import { memoryStore } from '../helpers/memory-ports';

/** Where a running run is, as `status --stack` shows it: its stage, that stage's chunks, and an ETA. */
const policy = compilePolicy();
const run = { scope: 'ex@abc', waves: ['2023'], startedAt: '2026-12-05T10:00:00.000Z' };
const at = (seconds: number) => new Date(Date.parse(run.startedAt) + seconds * 1000);
const counts = (lines: number) => ({ lines, migrated: lines, dropped: 0, quarantined: 0 });

test("a run's stages in the state machine's order: identities, its waves' own, the report's", () => {
  const ids = runStageIds(run, policy);
  expect(ids.slice(0, 2)).toEqual(['identities/index', 'identities/link']);
  expect(ids.slice(-2)).toEqual(['report/parts', 'report/receipts']);
  expect(ids.slice(2, -2).every((id) => id.startsWith('2023/'))).toBe(true);
  expect(runStageIds({ waves: ['sept-2022', '2023'] }, policy).length).toBeGreaterThan(ids.length);
});

test('the first stage not done is where the run is; the ETA follows the pace of the stages done so far', async () => {
  const { store } = memoryStore();
  const deps = { store, policy };
  const steps = runStageIds(run, policy).length;
  // Nothing split yet: the first stage, no ETA.
  expect(await runPosition(run, deps, at(5))).toEqual({
    stage: 'identities/index',
    step: 1,
    steps,
    chunks: 0,
    expected: 0,
    lines: 0,
  });
  // The first stage done (2 of 2 chunks), the second one quarter done, 100 s in.
  const index = markerStage(run, 'identities/index');
  const link = markerStage(run, 'identities/link');
  await store.putStageExpectation(run.scope, index, { 'accounts.identify': 2 });
  for (const chunk of ['a', 'b']) await recordChunk(run.scope, index, chunk, counts(50), { store });
  await store.putStageExpectation(run.scope, link, { 'accounts.link': 4 });
  await recordChunk(run.scope, link, 'c', counts(25), { store });
  const position = await runPosition(run, deps, at(100));
  expect(position).toEqual({
    stage: 'identities/link',
    step: 2,
    steps,
    chunks: 1,
    expected: 4,
    lines: 125,
    etaSeconds: Math.round((100 / 1.25) * (steps - 1.25)),
  });
});
