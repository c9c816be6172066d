import fc from 'fast-check';
import { blob, buildExport, decideAll } from '../helpers/memory-export';

/**
 * Properties over whole exports: every non-blank line gets exactly one decision; conservation holds
 * (decideExport checks it and would throw); decisions do not depend on line order except which
 * duplicate stands.
 */
const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const stamp = fc.constantFrom(
  '2018-06-30T21:59:59Z',
  '2018-06-30T22:00:00Z',
  '2018-07-01T00:00:00+02:00',
  '2018-06-30T23:59:59+02:00',
  '2020-12-31T23:00:00Z',
  '2021-06-01T10:00:00+02:00',
  '2022-02-21T23:00:00Z',
  '2022-02-21T23:59:59+01:00',
  '2016-01-01T00:00:00',
);
const garbage = fc.constantFrom('{"id": "x"', '[1]', '{"title":"no id"}', 'not json at all');
const { ref, blobs } = blob('bytes of a real file');

const exportArb = (idPool: number) =>
  fc.record({
    projects: fc.array(
      fc.oneof(
        fc.record({
          id: fc.constantFrom(...ids('p', idPool)),
          title: fc.constant('P'),
          registeredAt: stamp,
          members: fc.constant([{ accountId: 'a0', role: 'founder' }]),
        }),
        garbage,
      ),
      { maxLength: 8 },
    ),
    'twinspace-items': fc.array(
      fc.oneof(
        fc.record({
          id: fc.constantFrom(...ids('i', idPool * 2)),
          projectId: fc.constantFrom(...ids('p', idPool + 1)),
          kind: fc.constant('material'),
          title: fc.constant('T'),
          authorId: fc.constantFrom('a0', 'a1'),
          createdAt: stamp,
          file: fc.constantFrom(ref, { ...ref, sha256: 'f'.repeat(64) }),
        }),
        garbage,
      ),
      { maxLength: 12 },
    ),
    groups: fc.array(
      fc.record({
        id: fc.constantFrom(...ids('g', idPool)),
        title: fc.constant('G'),
        createdAt: stamp,
        members: fc.constant([]),
      }),
      { maxLength: 6 },
    ),
    'group-items': fc.array(
      fc.record({
        id: fc.constantFrom(...ids('x', idPool * 2)),
        groupId: fc.constantFrom(...ids('g', idPool + 1)),
        kind: fc.constant('page'),
        title: fc.constant('T'),
        authorId: fc.constant('a0'),
        createdAt: stamp,
      }),
      { maxLength: 12 },
    ),
    accounts: fc.array(
      fc.record({
        id: fc.constantFrom(...ids('a', idPool)),
        platform: fc.constantFrom('etwinning', 'seg'),
        email: fc.constantFrom('ana@x.pt', ' ANA@X.PT', 'jan@y.nl', 'Jan@Y.nl '),
        firstName: fc.constant('F'),
        lastName: fc.constant('L'),
        country: fc.constantFrom('PT', 'pt'),
        registeredAt: stamp,
        organisations: fc.constant([]),
      }),
      { maxLength: 8 },
    ),
  });

const nonBlank = (kinds: Record<string, unknown[]>) =>
  Object.values(kinds).reduce((n, lines) => n + lines.length, 0);
const key = (r: { kind: string; id: string; decision: string; reason: string }) =>
  `${r.kind}|${r.id}|${r.decision}|${r.reason}`;

test('every line gets exactly one decision and conservation holds', async () => {
  await fc.assert(
    fc.asyncProperty(exportArb(4), async (kinds) => {
      const { records } = await decideAll({ kinds, blobs });
      expect(records).toHaveLength(nonBlank(kinds));
      // Every line that is a JSON object with an id is decided under that id; every other under <file>:<line>.
      for (const [kind, lines] of Object.entries(kinds)) {
        const objects = lines.filter((l) => typeof l === 'object').length;
        const decided = records.filter((r) => r.kind === kind && !r.id.includes('.ndjson:')).length;
        expect(decided).toBe(objects);
      }
    }),
    { numRuns: 150 },
  );
});

test('decisions do not depend on line order when ids are unique', async () => {
  const unique = exportArb(12).map((kinds) => {
    const dedupe = (lines: unknown[]) => {
      const seen = new Set<string>();
      return lines.filter((l): l is { id: string } => {
        if (typeof l !== 'object' || l === null) return false;
        const id = (l as { id: string }).id;
        return !seen.has(id) && seen.add(id) !== undefined;
      });
    };
    return Object.fromEntries(Object.entries(kinds).map(([k, v]) => [k, dedupe(v)]));
  });
  await fc.assert(
    fc.asyncProperty(unique, fc.func(fc.integer()), async (kinds, order) => {
      const shuffled = Object.fromEntries(
        Object.entries(kinds).map(([k, lines]) => [
          k,
          [...lines]
            .map((l, i) => [order(i, JSON.stringify(l)), l] as const)
            .sort((a, b) => a[0] - b[0])
            .map(([, l]) => l),
        ]),
      );
      const a = (await decideAll({ kinds, blobs })).records.map(key).sort();
      const b = (await decideAll({ kinds: shuffled, blobs })).records.map(key).sort();
      expect(b).toEqual(a);
    }),
    { numRuns: 100 },
  );
});

test('with duplicates, only which line stands changes: the decided ids and their counts do not', async () => {
  await fc.assert(
    fc.asyncProperty(exportArb(3), async (kinds) => {
      const reversed = Object.fromEntries(
        Object.entries(kinds).map(([k, lines]) => [k, [...lines].reverse()]),
      );
      const a = await decideAll({ kinds, blobs });
      const b = await decideAll({ kinds: reversed, blobs });
      const dupCount = (rs: typeof a.records) => rs.filter((r) => r.reason === 'DUPLICATE_ID').length;
      expect(dupCount(b.records)).toBe(dupCount(a.records));
      const readable = (rs: typeof a.records) =>
        rs
          .filter((r) => !r.id.includes('.ndjson:'))
          .map((r) => `${r.kind}|${r.id}`)
          .sort();
      expect(readable(b.records)).toEqual(readable(a.records));
    }),
    { numRuns: 100 },
  );
});

test('the helper builds exports whose manifest matches (a guard for the properties above)', () => {
  const files = buildExport({ kinds: { projects: ['{"id":"p"}', '', '  '] } });
  expect(JSON.parse(String(files['manifest.json'])).files[0].records).toBe(1);
});
