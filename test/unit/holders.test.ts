import { HolderChangedError } from '../../functions/core/errors';
import { heldContainers, statusForChild } from '../../functions/core/pipeline/holders';
import type { ContainerHolder } from '../../functions/core/ports';
import type { Kind } from '../../functions/core/rules/kinds';
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
  expect((await heldContainers('projects', ['p'], AUG, deps)).later.get('p')?.exportId).toBe('corrected');
});

test('the later export first: the earlier one is told, keeps its decision, and nothing is withdrawn', async () => {
  const { store, withdrawn, deps } = world();
  await (await heldContainers('groups', ['g'], SEP, deps)).decide(migrated('g'));
  const first = await heldContainers('groups', ['g'], AUG, deps);
  expect(first.later.get('g')?.exportId).toBe('corrected');
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
  expect((await heldContainers('projects', ['p'], a, deps)).later.get('p')?.exportId).toBe('b');
});

describe('accounts (ID-9): the latest export gives the account, and its records of the kinds it carries', () => {
  const ET = new Map([['a', 'etwinning']]);
  const withKinds = (run: typeof AUG, kinds: Kind[]) => ({ ...run, holder: { ...run.holder, kinds } });

  test('the later export takes the account with its kinds and platform; the earlier copy is withdrawn by it', async () => {
    const { store, deps } = world();
    const seen: ContainerHolder[] = [];
    const recording = {
      ...deps,
      withdrawCopy: async (_e: string, _k: string, _i: string, by: ContainerHolder) => void seen.push(by),
    };
    await (
      await heldContainers('accounts', ['a'], withKinds(AUG, ['accounts', 'activities']), recording, ET)
    ).decide(migrated('a'));
    await (await heldContainers('accounts', ['a'], withKinds(SEP, ['accounts']), recording, ET)).decide(
      migrated('a'),
    );
    expect(seen).toEqual([
      expect.objectContaining({ exportId: 'corrected', kinds: ['accounts'], platform: 'etwinning' }),
    ]);
    expect((await store.containerHolders('accounts', ['a'])).get('a')).toMatchObject({
      exportId: 'corrected',
      kinds: ['accounts'],
      platform: 'etwinning',
      replaced: ['first'],
    });
    // Each run's decision goes with the holder, for the records that follow the account (PR-7).
    expect(await store.containerDecisions(AUG.scope, 'accounts', ['a'])).toEqual(
      new Map([['a', 'migrated']]),
    );
  });

  test("another platform's account with the same id is neither later nor taken over", async () => {
    const { store, withdrawn, deps } = world();
    await (await heldContainers('accounts', ['a'], withKinds(SEP, ['accounts']), deps, ET)).decide(
      migrated('a'),
    );
    const seg = await heldContainers(
      'accounts',
      ['a'],
      withKinds(AUG, ['accounts']),
      deps,
      new Map([['a', 'seg']]),
    );
    expect(seg.later.size).toBe(0);
    const segLater = {
      scope: 'seg@1',
      holder: { exportId: 'z-seg', exportedMs: SEP.holder.exportedMs + 1, kinds: ['accounts' as Kind] },
    };
    await (await heldContainers('accounts', ['a'], segLater, deps, new Map([['a', 'seg']]))).decide(
      migrated('a'),
    );
    expect(withdrawn).toEqual([]);
    expect((await store.containerHolders('accounts', ['a'])).get('a')).toMatchObject({
      exportId: 'corrected',
      platform: 'etwinning',
    });
  });

  test("a record of the account: held later with the later export's copy when it carries the record's kind, its own otherwise", () => {
    const holder: ContainerHolder = {
      exportId: 'corrected',
      exportedMs: 1,
      kinds: ['accounts', 'portfolio'],
    };
    expect(statusForChild('later', 'portfolio', holder)).toBe('later');
    expect(statusForChild('later', 'activities', holder)).toBe('migrated');
    // A space's holder has no kinds: its items follow it whole.
    expect(statusForChild('later', 'twinspace-items', { exportId: 'x', exportedMs: 1 })).toBe('later');
    expect(statusForChild('dropped', 'activities', holder)).toBe('dropped');
  });
});
