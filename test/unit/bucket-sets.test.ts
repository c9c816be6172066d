import fc from 'fast-check';
import { paceOf } from '../../functions/adapters/pacing';
import { bucketOf, bucketSetName, bucketsOf, withBucketSets } from '../../functions/core/bucket-sets';
import { bucketIndexOf, documentOfFile, targetKeys } from '../../functions/core/keys';
import type { ObjectStore } from '../../functions/core/ports';
import { memoryObjects } from '../helpers/memory-ports';

const SET = bucketSetName(['t0', 't1', 't2']);

/** Keys of the migrated layout (documents and their files) and keys outside it (links, reports). */
const keyArb = fc.oneof(
  fc.stringMatching(/^[a-z0-9]{1,6}$/).map((id) => targetKeys.profileDocument('ex', id)),
  fc.stringMatching(/^[a-z0-9]{1,6}$/).map((id) => `${targetKeys.profile('ex', id)}/photo/p.jpg`),
  fc
    .tuple(fc.stringMatching(/^[a-z0-9]{1,4}$/), fc.stringMatching(/^[a-z0-9]{1,4}$/))
    .map(([p, i]) => `${targetKeys.item('ex', 'twinspaces', p, i)}.json`),
  fc.stringMatching(/^[a-z0-9]{1,6}$/).map((id) => targetKeys.event('ex', id)),
  fc.stringMatching(/^[a-z0-9]{1,6}$/).map((u) => targetKeys.link(u)),
  fc.stringMatching(/^[a-z0-9]{1,6}$/).map((a) => `ex/sept-2022/receipts/${a}.json`),
);

type Op =
  | { op: 'put'; key: string; body: string }
  | { op: 'delete'; key: string }
  | { op: 'copy'; from: string; to: string };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('put' as const), key: keyArb, body: fc.string({ maxLength: 8 }) }),
  fc.record({ op: fc.constant('delete' as const), key: keyArb }),
  fc.record({ op: fc.constant('copy' as const), from: keyArb, to: keyArb }),
);

async function apply(store: ObjectStore, bucket: string, ops: readonly Op[]) {
  for (const o of ops) {
    if (o.op === 'put') await store.put(bucket, o.key, o.body);
    else if (o.op === 'delete') await store.delete(bucket, o.key);
    else if (await store.getText(bucket, o.from)) await store.copy(bucket, o.from, bucket, o.to);
  }
}

test('a set of buckets answers as one bucket would: every read, listing and page the same, each key in its own bucket', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(opArb, { maxLength: 40 }),
      fc.constantFrom('', 'ex/', 'ex/profiles/', 'links/', 'ex/sept-2022/'),
      fc.integer({ min: 1, max: 5 }),
      async (ops, prefix, max) => {
        const one = memoryObjects();
        const many = memoryObjects();
        const set = withBucketSets(many.store);
        await apply(one.store, 'b', ops);
        await apply(set, SET, ops);
        const keys = await one.store.list('b', prefix);
        expect(await set.list(SET, prefix)).toEqual(keys);
        // Paging through the set meets every key once, in order.
        const paged: string[] = [];
        let after: string | undefined;
        for (;;) {
          const page = await set.list(SET, prefix, { ...(after ? { startAfter: after } : {}), max });
          paged.push(...page);
          if (page.length < max) break;
          after = page.at(-1);
        }
        expect(paged).toEqual(keys);
        for (const key of keys) {
          expect(await set.getText(SET, key)).toBe(await one.store.getText('b', key));
          expect(many.objects.has(`${bucketOf(SET, key)}/${key}`)).toBe(true);
        }
        expect(many.objects.size).toBe(one.objects.size);
      },
    ),
    { numRuns: 150 },
  );
});

test("a record's document and its files share a bucket; a prefix that names a shard is listed in one bucket", async () => {
  for (const id of ['a', 'b1', 'teacher-7', 'x'.repeat(40)]) {
    const photo = `${targetKeys.profile('ex', id)}/photo/p.jpg`;
    expect(bucketOf(SET, photo)).toBe(bucketOf(SET, documentOfFile(photo) as string));
    const item = targetKeys.item('ex', 'groups', id, 'i1');
    expect(bucketOf(SET, `${item}/f.pdf`)).toBe(bucketOf(SET, `${item}.json`));
  }
  const { store } = memoryObjects();
  const listed: string[] = [];
  const counting: ObjectStore = {
    ...store,
    list: (bucket, prefix, page) => {
      listed.push(bucket);
      return store.list(bucket, prefix, page);
    },
  };
  const set = withBucketSets(counting);
  await set.list(SET, targetKeys.containerPrefix('ex', 'twinspaces', 'p1'));
  expect(listed).toEqual([bucketOf(SET, targetKeys.container('ex', 'twinspaces', 'p1'))]);
  listed.length = 0;
  await set.list(SET, 'ex/twinspaces/');
  expect(listed.sort()).toEqual(bucketsOf(SET));
  // A plain bucket is left alone.
  expect(bucketOf('plain', 'ex/profiles/00/a/profile.json')).toBe('plain');
  expect(bucketIndexOf('ex/twinspaces/a', 3, true)).toBeUndefined();
});

test("keys spread over a set's buckets evenly (the shards' and the keys' hashes)", () => {
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 4000; i++) {
    const index = bucketIndexOf(targetKeys.profileDocument('ex', `acc-${i}`), 4) as number;
    counts[index] = (counts[index] ?? 0) + 1;
    const receipt = bucketIndexOf(`ex/sept-2022/receipts/acc-${i}.json`, 4) as number;
    counts[receipt] = (counts[receipt] ?? 0) + 1;
  }
  for (const n of counts) expect(n).toBeGreaterThan(1800);
});

test('each bucket of a set is paced apart: one pace per worker, resource and bucket', () => {
  const client = {};
  expect(paceOf(client, 'bucketWrites', 't0')).toBe(paceOf(client, 'bucketWrites', 't0'));
  expect(paceOf(client, 'bucketWrites', 't0')).not.toBe(paceOf(client, 'bucketWrites', 't1'));
  expect(paceOf(client, 'bucketWrites', 't0')).not.toBe(paceOf(client, 'bucketReads', 't0'));
});
