import fc from 'fast-check';
import { BoundedMemo } from '../../functions/core/memo';
import { calendarDay, startOfDay } from '../../functions/core/rules/time';

/** The calendar date as the zone database says it, one formatToParts a call: what calendarDay must equal. */
const zoneDay = (timestamp: string, timeZone: string) => {
  const parts: Record<string, string> = {};
  const f = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
  for (const p of f.formatToParts(new Date(Date.parse(timestamp)))) parts[p.type] = p.value;
  return `${parts.year}-${parts.month}-${parts.day}`;
};

const ZONES = [
  'Europe/Brussels',
  'Europe/Dublin',
  'Europe/Helsinki',
  'Atlantic/Azores',
  'Asia/Kathmandu',
  'UTC',
];

describe('calendarDay (a timestamp read as a date in the policy zone)', () => {
  test('equals the zone database for any instant, also around the changes of summer time', () => {
    const instants = fc.oneof(
      fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2040, 0, 1) }),
      // Within a few hours of the last Sundays of March and October, when Europe's clocks change.
      fc
        .record({
          year: fc.integer({ min: 2000, max: 2030 }),
          month: fc.constantFrom(2, 9),
          minutes: fc.integer({ min: -600, max: 600 }),
        })
        .map(({ year, month, minutes }) => {
          const last = new Date(Date.UTC(year, month + 1, 0));
          const sunday = last.getUTCDate() - last.getUTCDay();
          return Date.UTC(year, month, sunday, 1) + minutes * 60_000;
        }),
    );
    fc.assert(
      fc.property(instants, fc.constantFrom(...ZONES), fc.nat(5), (instant, zone, form) => {
        // As exports write timestamps: in UTC with or without fractions, or with an offset of their own.
        const iso = new Date(instant).toISOString();
        const timestamp = [
          iso,
          iso.replace(/\.\d+Z$/, 'Z'),
          iso.replace(/\.(\d+)Z$/, '.$1456Z'),
          iso.replace(/(\.\d)\d+Z$/, '$1Z'),
          new Date(instant + 7_200_000).toISOString().replace('Z', '+02:00'),
          new Date(instant - 5_400_000).toISOString().replace(/\.\d+Z$/, '-01:30'),
        ][form] as string;
        expect(calendarDay(timestamp, zone)).toBe(zoneDay(timestamp, zone));
      }),
      { numRuns: 5_000 },
    );
  });

  test('the last second of a day and the first of the next, in a zone an hour ahead', () => {
    const midnight = startOfDay('2022-03-27', 'Europe/Brussels');
    expect(calendarDay(new Date(midnight - 1000).toISOString(), 'Europe/Brussels')).toBe('2022-03-26');
    expect(calendarDay(new Date(midnight).toISOString(), 'Europe/Brussels')).toBe('2022-03-27');
    expect(calendarDay('2022-10-30T22:59:59Z', 'Europe/Brussels')).toBe('2022-10-30');
    expect(calendarDay('2022-10-30T23:00:00Z', 'Europe/Brussels')).toBe('2022-10-31');
  });

  test('no timestamp, no date; years the database writes otherwise stay as it writes them', () => {
    expect(calendarDay('not a date', 'UTC')).toBeUndefined();
    expect(calendarDay('+010000-01-01T12:00:00Z', 'UTC')).toBe(zoneDay('+010000-01-01T12:00:00Z', 'UTC'));
  });
});

describe('BoundedMemo', () => {
  test('computes a key once, and keeps no more than its limit', () => {
    const memo = new BoundedMemo<number>(3);
    let computed = 0;
    const square = (n: number) =>
      memo.get(String(n), () => {
        computed++;
        return n * n;
      });
    expect([square(2), square(2), square(3)]).toEqual([4, 4, 9]);
    expect(computed).toBe(2);
    for (const n of [4, 5, 6]) square(n);
    expect(computed).toBe(5);
    // The memo started again when full: 2 is computed again, 6 is still there.
    square(6);
    expect(computed).toBe(5);
    square(2);
    expect(computed).toBe(6);
  });
});
