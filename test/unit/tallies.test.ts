import fc from 'fast-check';
import { workKeys } from '../../functions/core/keys';
import type { Run } from '../../functions/core/pipeline/run';
import { PARTITIONING } from '../../functions/core/pipeline/sizing';
import { runIdOf } from '../../functions/core/pipeline/stages';
import {
  addTally,
  EMPTY_TOTALS,
  FOLD_START,
  type Fold,
  foldTallies,
  type PartTally,
  totalsAt,
} from '../../functions/core/pipeline/tallies';
import { emptyVerifyTally } from '../../functions/core/report/verification';
import { countingReads, memoryObjects } from '../helpers/memory-ports';

const run: Run = {
  exportId: 'exp-1',
  scope: 'exp-1@abc',
  waves: ['sept-2022'],
  startedAt: '2022-10-01T00:00:00.000Z',
};

/** A part's tally of each kind the summary merges; n varies the counts and the samples. */
function tallyOf(op: PartTally['op'], n: number): PartTally {
  switch (op) {
    case 'map':
      return {
        op,
        report: {
          counts: { accounts: { migrated: n, dropped: 1, quarantined: n % 3 } },
          reasons: { CONTACTS_MIGRATED: n },
          byWave: { 'sept-2022': { migrated: n, dropped: 1, quarantined: n % 3 } },
          byCountry: { [n % 2 ? 'BE' : 'NL']: { migrated: n, dropped: 1, quarantined: n % 3 } },
          quarantine: Array.from({ length: n % 3 }, (_, i) => ({
            kind: 'accounts' as const,
            id: `a-${n}-${i}`,
            reason: 'INVALID_RECORD' as const,
            wave: 'sept-2022',
          })),
          quarantineTotal: n % 3,
        },
        away: { accounts: n % 2 },
      };
    case 'verify': {
      const empty = emptyVerifyTally();
      return {
        op,
        verify: {
          documents: { accounts: n },
          checked: { ...empty.checked, files: n },
          problems: { ...empty.problems, files: n % 4 === 0 ? [`missing ${n}`] : [] },
        },
      };
    }
    case 'receipts':
      return { op, receipts: n };
    default:
      return { op, identities: { indexed: n } } as PartTally;
  }
}

const OPS: PartTally['op'][] = ['identify', 'link', 'map', 'receipts', 'verify'];

/** Puts each tally where its part keeps it, and counts the reads of the store. */
async function world(parts: { op: PartTally['op']; n: number }[]) {
  const { store } = memoryObjects();
  for (const [i, p] of parts.entries())
    await store.put(
      'exports',
      workKeys.reportTally(run.scope, runIdOf(run), p.op, i),
      JSON.stringify(tallyOf(p.op, p.n)),
    );
  return countingReads(store);
}

/** What merging every tally in one pass, in the keys' order, gives. */
async function oneByOne(parts: { op: PartTally['op']; n: number }[]) {
  const keyed = parts.map((p, i) => ({ key: workKeys.reportTally(run.scope, runIdOf(run), p.op, i), p }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : 1));
  return keyed.reduce((t, { p }) => addTally(t, tallyOf(p.op, p.n)), EMPTY_TOTALS);
}

describe("the summary's merge of the parts' tallies, a page per invocation", () => {
  test('any number of tallies, any page size: the same totals as one pass, and no step reads more than a page and the totals before it', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ op: fc.constantFrom(...OPS), n: fc.integer({ min: 0, max: 50 }) }), {
          maxLength: 40,
        }),
        fc.integer({ min: 2, max: 7 }),
        async (parts, page) => {
          const w = await world(parts);
          const deps = {
            objects: w.objects,
            exportsBucket: 'exports',
            partitioning: { ...PARTITIONING, summaryTallies: page },
          };
          let fold: Fold = FOLD_START;
          let steps = 0;
          while (fold.more) {
            w.resetReads();
            fold = await foldTallies(run, fold, deps);
            expect(w.reads()).toBeLessThanOrEqual(page + 1);
            steps++;
          }
          // One step per page, and one more that finds nothing when the last page was full.
          expect(steps).toBe(Math.floor(parts.length / page) + 1);
          expect(await totalsAt(run, fold.step, deps)).toEqual(await oneByOne(parts));
        },
      ),
      { numRuns: 60 },
    );
  });

  test('a step run again (a retried invocation) writes the same totals and hands on the same place', async () => {
    const parts = Array.from({ length: 9 }, (_, i) => ({ op: OPS[i % OPS.length] as PartTally['op'], n: i }));
    const w = await world(parts);
    const deps = {
      objects: w.objects,
      exportsBucket: 'exports',
      partitioning: { ...PARTITIONING, summaryTallies: 4 },
    };
    const first = await foldTallies(run, FOLD_START, deps);
    const second = await foldTallies(run, first, deps);
    const totals = await totalsAt(run, second.step, deps);
    expect(await foldTallies(run, first, deps)).toEqual(second);
    expect(await totalsAt(run, second.step, deps)).toEqual(totals);
    expect(second).toMatchObject({ step: 2, more: true });
  });

  test('the totals of a step that was never written are an error, not an empty report', async () => {
    const w = await world([]);
    await expect(totalsAt(run, 3, { objects: w.objects, exportsBucket: 'exports' })).rejects.toThrow(
      /totals of step 3 are missing/,
    );
  });
});
