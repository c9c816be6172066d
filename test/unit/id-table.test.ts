import fc from 'fast-check';
import { IdTable } from '../../functions/core/id-table';

describe('IdTable (the compact ids of a plan)', () => {
  it('claims an id once, exactly: ids that share a hash or a prefix stay apart', () => {
    const ids = new IdTable();
    // FNV-1a collides for these two strings: the table must compare the characters, not the hash.
    expect(ids.add('costarring')).toBe(true);
    expect(ids.add('liquid')).toBe(true);
    expect(ids.add('acc-1')).toBe(true);
    expect(ids.add('acc-10')).toBe(true);
    expect(ids.add('')).toBe(true);
    expect(ids.add('acc-1')).toBe(false);
    expect(ids.add('')).toBe(false);
    expect(ids.has('acc-')).toBe(false);
    expect(ids.size).toBe(5);
  });

  it('keeps an id beyond one-byte characters as exactly as the others', () => {
    const ids = new IdTable();
    expect(ids.add('łódź-1')).toBe(true);
    expect(ids.add('😀')).toBe(true);
    expect(ids.add('łódź-1')).toBe(false);
    expect(ids.has('lodz-1')).toBe(false);
    expect(ids.size).toBe(2);
  });

  it('keeps ids across its pages of characters, and an id longer than a page beside them', () => {
    const ids = new IdTable();
    const long = (i: number) => `${i}:`.padEnd(1_000 + (i % 7), String.fromCharCode(97 + (i % 26)));
    for (let i = 0; i < 300; i++) expect(ids.add(long(i))).toBe(true);
    const huge = 'x'.repeat(70_000);
    expect(ids.add(huge)).toBe(true);
    for (let i = 0; i < 300; i++) expect(ids.add(long(i))).toBe(false);
    expect(ids.has(huge)).toBe(true);
    expect(ids.has(huge.slice(1))).toBe(false);
    expect(ids.size).toBe(301);
  });

  it('holds a value an id, set again when told', () => {
    const decisions = new IdTable<'migrated' | 'dropped'>(['migrated', 'dropped']);
    decisions.set('prj-1', 'migrated').set('prj-2', 'dropped').set('żółw', 'dropped');
    decisions.set('prj-1', 'dropped');
    expect(decisions.get('prj-1')).toBe('dropped');
    expect(decisions.get('prj-2')).toBe('dropped');
    expect(decisions.get('żółw')).toBe('dropped');
    expect(decisions.get('prj-3')).toBeUndefined();
    expect(() => decisions.set('prj-4', 'later' as 'dropped')).toThrow(RangeError);
  });

  it('answers as a Map does, whatever ids come and however many (it regrows)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.oneof(fc.string({ maxLength: 12 }), fc.nat(5_000).map(String)),
            fc.constantFrom('a', 'b'),
          ),
          { maxLength: 3_000 },
        ),
        (entries) => {
          const table = new IdTable<'a' | 'b'>(['a', 'b']);
          const map = new Map<string, 'a' | 'b'>();
          for (const [id, value] of entries) {
            table.set(id, value);
            map.set(id, value);
          }
          expect(table.size).toBe(map.size);
          for (const [id, value] of map) expect(table.get(id)).toBe(value);
          for (const [id] of entries) expect(table.has(`${id}\u0000`)).toBe(map.has(`${id}\u0000`));
        },
      ),
      { numRuns: 50 },
    );
  });
});
