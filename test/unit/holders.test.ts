import { HolderChangedError } from '../../functions/core/errors';
import { heldContainers } from '../../functions/core/pipeline/holders';
import { memoryStore } from '../helpers/memory-ports';

/**
 * ID-9 extended to TwinSpaces and groups: the latest export (by exportedAt, then id) holds one, whatever
 * order the exports run in; the copies of the exports it takes them from are withdrawn, also after a crash.
 */
const AUG = { exportId: 'first', exportedMs: Date.parse('2022-08-01T00:00:00Z') };
const SEP = { exportId: 'corrected', exportedMs: Date.parse('2022-09-01T00:00:00Z') };

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

test('the earlier export first: the later one takes the TwinSpace and withdraws the earlier copy', async () => {
  const { store, withdrawn, deps } = world();
  const first = await heldContainers('projects', ['p'], AUG, deps);
  expect(first.later.size).toBe(0);
  await first.hold(['p']);
  expect(withdrawn).toEqual([]);
  const corrected = await heldContainers('projects', ['p'], SEP, deps);
  expect(corrected.later.size).toBe(0);
  await corrected.hold(['p']);
  expect(withdrawn).toEqual(['first:projects:p']);
  expect((await store.containerHolders('projects', ['p'])).get('p')).toEqual({ ...SEP, replaced: ['first'] });
  // The earlier export run again: its line is in a later export.
  expect((await heldContainers('projects', ['p'], AUG, deps)).later.get('p')).toBe('corrected');
});

test('the later export first: the earlier one is told, and nothing is withdrawn', async () => {
  const { withdrawn, deps } = world();
  await (await heldContainers('groups', ['g'], SEP, deps)).hold(['g']);
  const first = await heldContainers('groups', ['g'], AUG, deps);
  expect(first.later.get('g')).toBe('corrected');
  await first.hold(['g']); // a line in a later export is not held
  expect(withdrawn).toEqual([]);
});

test('a chunk delivered again after a crash between the holder and the withdrawal withdraws again', async () => {
  const { store, withdrawn, deps } = world();
  await store.holdContainer('projects', 'p', { ...SEP, replaced: ['first'] }, undefined);
  await (await heldContainers('projects', ['p'], SEP, deps)).hold(['p']);
  expect(withdrawn).toEqual(['first:projects:p']);
});

test('a later export that takes the TwinSpace while this chunk decides it fails the chunk, to be decided again', async () => {
  const { store, deps } = world();
  const first = await heldContainers('projects', ['p'], AUG, deps);
  await (await heldContainers('projects', ['p'], SEP, deps)).hold(['p']);
  await expect(first.hold(['p'])).rejects.toThrow(HolderChangedError);
  expect((await store.containerHolders('projects', ['p'])).get('p')?.exportId).toBe('corrected');
});

test('two exports with the same exportedAt: the later export id holds it', async () => {
  const { deps } = world();
  await (await heldContainers('projects', ['p'], { exportId: 'b', exportedMs: SEP.exportedMs }, deps)).hold([
    'p',
  ]);
  const a = await heldContainers('projects', ['p'], { exportId: 'a', exportedMs: SEP.exportedMs }, deps);
  expect(a.later.get('p')).toBe('b');
});
