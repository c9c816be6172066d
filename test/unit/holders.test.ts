import { HolderChangedError } from '../../functions/core/errors';
import { heldContainers } from '../../functions/core/pipeline/holders';
import { memoryStore } from '../helpers/memory-ports';

/**
 * ID-9 extended to TwinSpaces and groups: the latest export (by exportedAt, then id) holds one, whatever
 * order the exports run in; the copies of the exports it takes them from are withdrawn, also after a
 * crash; each run's decision goes with the holder, in the same write.
 */
const AUG = {
  scope: 'first@1',
  holder: { exportId: 'first', exportedMs: Date.parse('2022-08-01T00:00:00Z') },
};
const SEP = {
  scope: 'corrected@1',
  holder: { exportId: 'corrected', exportedMs: Date.parse('2022-09-01T00:00:00Z') },
};
const migrated = (id: string) => [{ id, decision: 'migrated' as const, holds: true }];

function world() {
  const { store } = memoryStore();
  const withdrawn: string[] = [];
  const deps = {
    store,
    withdrawCopy: async (exportId: string, kind: string, id: string) =>
      void withdrawn.push(`${exportId}:${kind}:${id}`),
  };
  return { store, withdrawn, deps };
}

test('the earlier export first: the later one takes the TwinSpace and withdraws the earlier copy; each run keeps its decision', async () => {
  const { store, withdrawn, deps } = world();
  const first = await heldContainers('projects', ['p'], AUG, deps);
  expect(first.later.size).toBe(0);
  await first.decide(migrated('p'));
  expect(withdrawn).toEqual([]);
  const corrected = await heldContainers('projects', ['p'], SEP, deps);
  expect(corrected.later.size).toBe(0);
  await corrected.decide([{ id: 'p', decision: 'dropped', holds: true }]);
  expect(withdrawn).toEqual(['first:projects:p']);
  expect((await store.containerHolders('projects', ['p'])).get('p')).toMatchObject({
    ...SEP.holder,
    replaced: ['first'],
  });
  expect(await store.containerDecisions(AUG.scope, 'projects', ['p'])).toEqual(new Map([['p', 'migrated']]));
  expect(await store.containerDecisions(SEP.scope, 'projects', ['p'])).toEqual(new Map([['p', 'dropped']]));
  // The earlier export run again: its line is in a later export.
  expect((await heldContainers('projects', ['p'], AUG, deps)).later.get('p')).toBe('corrected');
});

test('the later export first: the earlier one is told, keeps its decision, and nothing is withdrawn', async () => {
  const { store, withdrawn, deps } = world();
  await (await heldContainers('groups', ['g'], SEP, deps)).decide(migrated('g'));
  const first = await heldContainers('groups', ['g'], AUG, deps);
  expect(first.later.get('g')).toBe('corrected');
  await first.decide([{ id: 'g', decision: 'dropped', holds: false }]);
  expect(withdrawn).toEqual([]);
  expect((await store.containerHolders('groups', ['g'])).get('g')?.exportId).toBe('corrected');
  expect(await store.containerDecisions(AUG.scope, 'groups', ['g'])).toEqual(new Map([['g', 'dropped']]));
});

test('a chunk delivered again after a crash between the holder and the withdrawal withdraws again', async () => {
  const { store, withdrawn, deps } = world();
  await store.decideHeld(
    'projects',
    'p',
    { scope: SEP.scope, decision: 'migrated' },
    { holder: { ...SEP.holder, replaced: ['first'] }, expected: undefined },
  );
  await (await heldContainers('projects', ['p'], SEP, deps)).decide(migrated('p'));
  expect(withdrawn).toEqual(['first:projects:p']);
});

test('a later export that takes the TwinSpace while this chunk decides it fails the chunk, to be decided again', async () => {
  const { store, deps } = world();
  const first = await heldContainers('projects', ['p'], AUG, deps);
  await (await heldContainers('projects', ['p'], SEP, deps)).decide(migrated('p'));
  await expect(first.decide(migrated('p'))).rejects.toThrow(HolderChangedError);
  expect((await store.containerHolders('projects', ['p'])).get('p')?.exportId).toBe('corrected');
});

test('two exports with the same exportedAt: the later export id holds it', async () => {
  const { deps } = world();
  const b = { scope: 'b@1', holder: { exportId: 'b', exportedMs: SEP.holder.exportedMs } };
  const a = { scope: 'a@1', holder: { exportId: 'a', exportedMs: SEP.holder.exportedMs } };
  await (await heldContainers('projects', ['p'], b, deps)).decide(migrated('p'));
  expect((await heldContainers('projects', ['p'], a, deps)).later.get('p')).toBe('b');
});
