import fc from 'fast-check';
import { ForbiddenIndexError } from '../../functions/core/errors';
import {
  ForbiddenCheck,
  ForbiddenIndexBuilder,
  forbiddenLayout,
  MAX_FILTER_BITS,
  putForbiddenIndex,
  readForbiddenCheck,
  SHARD_VALUES,
  VALUES_PER_ACCOUNT,
} from '../../functions/core/forbidden';
import { memoryObjects } from '../helpers/memory-ports';

const SECRET = 'test-key';

/** A check over a builder's objects as they would be read back, counting the shards read. */
function checkOf(index: ForbiddenIndexBuilder, secret = SECRET) {
  const shards = index.shardObjects().map((s) => Buffer.from(s));
  const reads: number[] = [];
  // Read back as S3 gives it: a view into a larger buffer, not at its start.
  const filter = Buffer.concat([Buffer.alloc(5), Buffer.from(index.filterObject())]).subarray(5);
  const check = new ForbiddenCheck(secret, filter, async (n) => {
    reads.push(n);
    return shards[n];
  });
  return { check, reads };
}

const account = (fields: Record<string, unknown>) => JSON.stringify({ id: 'acc-1', ...fields });

describe('the index of the values that must never reach the target (core/forbidden)', () => {
  test("an account's password hash, login and e-mail address (as given and normalised) are found; nothing else", async () => {
    const index = new ForbiddenIndexBuilder(SECRET, forbiddenLayout(3));
    index.addLine(
      account({ passwordHash: '$2b$10$abcdefghijkl', login: 'jannetje', email: ' Jan.Smit@School.NL ' }),
    );
    // Short values would match ordinary words: not kept. A line that is not JSON gives nothing.
    index.addLine(account({ passwordHash: 'abc', login: 'jan', email: 5 }));
    index.addLine('{"id": ');
    expect(index.size).toBe(4);
    const { check } = checkOf(index);
    const asked = [
      '$2b$10$abcdefghijkl',
      'jannetje',
      ' Jan.Smit@School.NL ',
      'jan.smit@school.nl',
      'jan',
      'abc',
    ];
    expect([...(await check.among([...asked, 'Jannetje ', 'an ordinary sentence']))].sort()).toEqual(
      asked.slice(0, 4).sort(),
    );
  });

  test('a string the filter may hold is confirmed in its shard: a full filter reports no false leak', async () => {
    // A filter of 8 bits is full after a few values: every string passes it, and the shard decides.
    const index = new ForbiddenIndexBuilder(SECRET, { filterBits: 8, shards: 4 });
    for (let i = 0; i < 50; i++) index.add(`secret-value-${i}`);
    const { check, reads } = checkOf(index);
    const others = Array.from({ length: 200 }, (_, i) => `innocent-${i}`);
    expect([...(await check.among(others))]).toEqual([]);
    expect(reads.length).toBeGreaterThan(0);
    expect([...(await check.among(['secret-value-7', 'innocent-1']))]).toEqual(['secret-value-7']);
  });

  test('a filter of the real size passes almost no string it does not hold: few shards are read', async () => {
    const index = new ForbiddenIndexBuilder(SECRET, forbiddenLayout(2_000));
    for (let i = 0; i < 2_000 * VALUES_PER_ACCOUNT; i++) index.add(`value-${i}@example.org`);
    const { check, reads } = checkOf(index);
    const others = Array.from({ length: 20_000 }, (_, i) => `other-${i}`);
    expect((await check.among(others)).size).toBe(0);
    // 32 bits a value, 12 probes: about one false positive in 10^6 strings (0.02 expected here).
    expect(reads.length).toBeLessThanOrEqual(1);
  });

  test('only keyed digests are kept: no value in the objects, and another key finds nothing', async () => {
    const index = new ForbiddenIndexBuilder(SECRET, forbiddenLayout(1));
    index.addLine(account({ passwordHash: '$2b$10$abcdefghijkl', email: 'jan.smit@school.nl' }));
    const bytes = Buffer.concat([
      Buffer.from(index.filterObject()),
      ...index.shardObjects().map((s) => Buffer.from(s)),
    ]);
    for (const value of ['$2b$10$abcdefghijkl', 'jan.smit@school.nl', 'jan.smit'])
      expect(bytes.includes(Buffer.from(value))).toBe(false);
    expect((await checkOf(index, 'another-key').check.among(['jan.smit@school.nl'])).size).toBe(0);
  });

  test('the filter grows with the accounts up to 16 MiB and no further; shards stay about 8,192 values', () => {
    const small = forbiddenLayout(200);
    const larger = forbiddenLayout(1_000);
    expect(larger.filterBits).toBeGreaterThan(small.filterBits);
    const full = forbiddenLayout(1_100_000);
    expect(full.filterBits).toBe(MAX_FILTER_BITS);
    expect(forbiddenLayout(5_000_000).filterBits).toBe(MAX_FILTER_BITS);
    expect((1_100_000 * VALUES_PER_ACCOUNT) / full.shards).toBeLessThanOrEqual(SHARD_VALUES);
    expect(forbiddenLayout(0)).toEqual({ filterBits: 8192, shards: 1 });
  });

  test('a damaged filter or a missing shard is an error, never a clean check', async () => {
    const index = new ForbiddenIndexBuilder(SECRET, { filterBits: 8, shards: 2 });
    index.add('secret-value');
    const damaged = Buffer.from(index.filterObject());
    damaged.write('XXXX', 0, 'latin1');
    expect(() => new ForbiddenCheck(SECRET, damaged, async () => undefined)).toThrow(ForbiddenIndexError);
    expect(() => new ForbiddenCheck(SECRET, damaged.subarray(0, 10), async () => undefined)).toThrow(
      ForbiddenIndexError,
    );
    const check = new ForbiddenCheck(SECRET, Buffer.from(index.filterObject()), async () => undefined);
    await expect(check.among(['secret-value'])).rejects.toThrow(ForbiddenIndexError);
  });

  test('put and read back through the object store; a run without an index is named, not passed', async () => {
    const { store: objects } = memoryObjects();
    const place = { objects, bucket: 'exports', scope: 'exp@abc', run: 'r1' };
    await expect(readForbiddenCheck(place, SECRET)).rejects.toThrow(/run the export again/);
    const index = new ForbiddenIndexBuilder(SECRET, forbiddenLayout(10));
    index.addLine(account({ login: 'jannetje' }));
    await putForbiddenIndex(place, index);
    const check = await readForbiddenCheck(place, SECRET);
    expect([...(await check.among(['jannetje', 'pietje']))]).toEqual(['jannetje']);
  });

  test('property: exactly the values added are found, among any strings', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { maxLength: 40 }),
        fc.array(fc.string({ maxLength: 12 }), { maxLength: 40 }),
        fc.integer({ min: 3, max: 12 }),
        async (values, others, log2) => {
          const index = new ForbiddenIndexBuilder(SECRET, { filterBits: 2 ** log2, shards: 3 });
          for (const v of values) index.add(v);
          const found = await checkOf(index).check.among([...others, ...values]);
          expect([...found].sort()).toEqual([...new Set(values)].sort());
        },
      ),
      { numRuns: 100 },
    );
  });
});
