import fc from 'fast-check';
import {
  documentOfFile,
  isDocumentKey,
  shardOf,
  type TargetPartition,
  targetPartitionOf,
  targetPartitions,
} from '../../functions/core/keys';
import type { DecidedRecord } from '../../functions/core/rules/decide';
import type { AnyRecord } from '../../functions/core/rules/schemas';
import { targetOf } from '../../functions/core/rules/targets';
import { EMAIL_WITHHELD, withholdEmails } from '../../functions/core/rules/withheld';

/** The migrated layout reads back: verify tells documents from files and finds each file's document. */
const decided = (
  kind: DecidedRecord['kind'],
  id: string,
  over: Partial<DecidedRecord> = {},
): DecidedRecord => ({
  kind,
  id,
  wave: 'w',
  decision: 'migrated',
  reason: 'CONTENT_ELIGIBLE',
  owners: [],
  ...over,
});
const ref = (fileName: string) => ({ sha256: 'd'.repeat(64), size: 1, contentType: 'x/y', fileName });

describe('the migrated layout', () => {
  test('every document key reads as a document, every file key leads back to its document', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 300 }),
        fc.string({ minLength: 1, maxLength: 300 }),
        (id, name) => {
          const item = {
            id,
            projectId: `${id}/..`,
            groupId: id,
            kind: 'material',
            title: 't',
            authorId: 'a',
            createdAt: '2020-01-01T00:00:00Z',
            file: ref(name),
          };
          const account = {
            id,
            platform: 'etwinning',
            firstName: 'f',
            lastName: 'l',
            country: 'BE',
            registeredAt: '2020-01-01T00:00:00Z',
            organisations: [],
            profilePhoto: ref(name),
          };
          const writes = [
            targetOf('e', decided('twinspace-items', id, { file: ref(name) }), item as unknown as AnyRecord),
            targetOf('e', decided('group-items', id, { file: ref(name) }), item as unknown as AnyRecord),
            targetOf('e', decided('accounts', id, { file: ref(name) }), account as unknown as AnyRecord),
            targetOf('e', decided('portfolio', id), {
              id,
              accountId: id,
              kind: 'prize',
              title: 't',
              awardedAt: '2020-01-01T00:00:00Z',
            } as unknown as AnyRecord),
            targetOf('e', decided('events', id), { id } as unknown as AnyRecord),
            targetOf('e', decided('projects', id), { id } as unknown as AnyRecord),
            targetOf('e', decided('groups', id), { id } as unknown as AnyRecord),
          ];
          for (const w of writes) {
            if (!w) throw new Error('expected a target');
            expect(isDocumentKey(w.documentKey)).toBe(true);
            expect(documentOfFile(w.documentKey)).toBeUndefined();
            if (w.file) {
              expect(isDocumentKey(w.file.key)).toBe(false);
              expect(documentOfFile(w.file.key)).toBe(w.documentKey);
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  test("a record's own field `kind` is carried as `type`; the document's kind is the record's kind", () => {
    const w = targetOf('e', decided('portfolio', 'p1'), {
      id: 'p1',
      accountId: 'a1',
      kind: 'prize',
      title: 't',
      awardedAt: '2020-01-01T00:00:00Z',
    } as unknown as AnyRecord);
    expect(w?.document).toMatchObject({ kind: 'portfolio', type: 'prize', id: 'p1' });
  });

  test('keys outside the layout are neither documents nor files', () => {
    for (const key of [
      'e/notes/readme.txt',
      `e/profiles/${shardOf('a')}/a/x.json`,
      `e/twinspaces/${shardOf('p')}/p/other.json`,
      `e/events/${shardOf('a')}/a/b.json`,
      // A key under the wrong shard is not the layout's.
      `e/profiles/${shardOf('b')}/a/profile.json`,
      `e/events/${shardOf('b')}/a.json`,
      'e/profiles/a/profile.json',
    ])
      expect([isDocumentKey(key), documentOfFile(key)]).toEqual([false, undefined]);
  });
});

describe("verify's partitions of the target", () => {
  /** Whether a key is in a partition, as a listing of it returns keys. */
  const holds = (p: TargetPartition, key: string) =>
    key.startsWith(p.prefix) && (p.from === undefined || key > p.from) && (p.to === undefined || key < p.to);

  test('a document key falls in exactly the partition targetPartitionOf names, at any number of ranges', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('events', 'groups', 'profiles', 'twinspaces'),
        fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !s.includes('/')),
        fc.integer({ min: 1, max: 300 }),
        (area, id, ranges) => {
          const key = `e/${area}/${shardOf(id)}/${id}/x.json`;
          const partitions = targetPartitions('e', ranges);
          const holding = partitions.flatMap((p, i) => (holds(p, key) ? [i] : []));
          expect(holding).toEqual([targetPartitionOf(key, ranges)]);
        },
      ),
    );
  });

  test('a key outside the areas has no partition of its own', () => {
    expect(() => targetPartitionOf('e/notes/00/readme.txt', 4)).toThrow(RangeError);
    expect(targetPartitionOf('e/notes/00/readme.txt', 1)).toBe(0);
  });
});

describe('e-mail addresses in user text (ID-5; issue 27, mistake 11)', () => {
  test("a value that is an e-mail address is withheld from the document, before it is written; text that mentions one is the user's", () => {
    const activity = {
      id: 'act-1',
      accountId: 'acc-1',
      title: ' Maria.Rossi@School1.example.eu ',
      description: 'write to maria@school1.example.eu for the slides',
      tags: ['jan@school2.example.eu', 'science'],
      createdAt: '2020-01-01T00:00:00Z',
    };
    const write = targetOf('e', decided('activities', 'act-1'), activity as unknown as AnyRecord);
    expect(write?.document).toMatchObject({
      title: EMAIL_WITHHELD,
      description: 'write to maria@school1.example.eu for the slides',
      tags: [EMAIL_WITHHELD, 'science'],
      id: 'act-1',
      accountId: 'acc-1',
    });
    expect(JSON.stringify(write?.document)).not.toMatch(/Maria\.Rossi|jan@/);
  });

  test('the title a receipt repeats is withheld the same way', () => {
    expect(withholdEmails('Jan@School2.example.eu')).toBe(EMAIL_WITHHELD);
    expect(withholdEmails('Water around us')).toBe('Water around us');
    expect(withholdEmails('a@b')).toBe('a@b'); // no domain: not an address
  });
});
