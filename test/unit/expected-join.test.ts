import fc from 'fast-check';
import { workKeys } from '../../functions/core/keys';
import { expectedDocuments, type JoinState, joinExpected } from '../../functions/core/pipeline/expected';
import { countingReads, memoryObjects } from '../helpers/memory-ports';

const where = { scope: 'exp-1@abc', report: 'r1', partition: 3 };

/** Spool objects of some report parts for the partition (and one of another partition, never read). */
async function world(parts: string[][]) {
  const { store } = memoryObjects();
  for (const [part, docs] of parts.entries())
    await store.put(
      'exports',
      workKeys.expectedSpool(where.scope, where.report, where.partition, part),
      docs.map((id) => `${JSON.stringify([`p/${id}.json`, 'accounts', id])}\n`).join(''),
    );
  await store.put(
    'exports',
    workKeys.expectedSpool(where.scope, where.report, 4, 0),
    '["p/other.json","accounts","other"]\n',
  );
  const counted = countingReads(store);
  return { ...counted, deps: { objects: counted.objects, exportsBucket: 'exports' } };
}

describe("a verify partition's join of what the report's parts spooled for it, a page of objects per invocation", () => {
  test('any number of parts, any page: every document of the partition once, and no step reads more than a page and the lines before', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uniqueArray(fc.stringMatching(/^[a-z0-9]{1,6}$/), { maxLength: 5 }), { maxLength: 25 }),
        fc.integer({ min: 2, max: 6 }),
        async (parts, max) => {
          const w = await world(parts);
          let join: JoinState & { done: boolean; folded?: readonly string[] } = { step: 0, done: false };
          let steps = 0;
          while (!join.done) {
            w.resetReads();
            join = await joinExpected(w.deps, where, join, max);
            expect(w.reads()).toBeLessThanOrEqual(max + 1);
            steps++;
          }
          expect(steps).toBe(Math.floor(parts.length / max) + 1);
          // The step that ended the join hands on what it joined: the same documents, nothing read back.
          w.resetReads();
          const known = await expectedDocuments(w.deps, where, join.folded);
          expect(w.reads()).toBe(0);
          const expected = await expectedDocuments(w.deps, where);
          expect(known).toEqual(expected);
          const ids = parts.flat();
          expect([...expected.keys()].sort()).toEqual([...new Set(ids.map((id) => `p/${id}.json`))].sort());
          expect(expected.has('p/other.json')).toBe(false);
        },
      ),
      { numRuns: 60 },
    );
  });

  test('a step run again writes the same and hands on the same place; pages before the join is done are an error', async () => {
    const w = await world([['a'], ['b'], ['c'], ['d'], ['e']]);
    await expect(expectedDocuments(w.deps, where)).rejects.toThrow(/never joined/);
    const first = await joinExpected(w.deps, where, { step: 0 }, 2);
    const again = await joinExpected(w.deps, where, { step: 0 }, 2);
    expect(again).toEqual(first);
    expect(first).toMatchObject({ step: 1, done: false });
    let join = first;
    while (!join.done) join = await joinExpected(w.deps, where, join, 2);
    expect([...(await expectedDocuments(w.deps, where)).keys()]).toEqual([
      'p/a.json',
      'p/b.json',
      'p/c.json',
      'p/d.json',
      'p/e.json',
    ]);
  });
});
