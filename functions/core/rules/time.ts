import { BoundedMemo } from '../memo';

/** Calendar dates in a named time zone, turned into instants (rules' "Conventions"). */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The zone's offset from UTC at an instant, in milliseconds (e.g. +7,200,000 for CEST). */
function offsetAt(instant: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(instant))) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  const asUtc = Date.UTC(
    parts.year ?? 0,
    (parts.month ?? 1) - 1,
    parts.day ?? 1,
    parts.hour ?? 0,
    parts.minute ?? 0,
    parts.second ?? 0,
  );
  return asUtc - Math.floor(instant / 1000) * 1000;
}

export const CALENDAR_DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;

/** The instant at which a calendar date (`YYYY-MM-DD`) begins in a time zone. */
export function startOfDay(date: string, timeZone: string): number {
  if (!CALENDAR_DATE.test(date)) throw new RangeError(`not a calendar date: ${date}`);
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const midnightUtc = Date.UTC(y, m - 1, d);
  if (new Date(midnightUtc).getUTCDate() !== d) throw new RangeError(`no such day: ${date}`);
  // Two rounds settle the offset also on days when it changes (midnight is never inside a DST gap in Europe).
  let instant = midnightUtc - offsetAt(midnightUtc, timeZone);
  instant = midnightUtc - offsetAt(instant, timeZone);
  return instant;
}

/** The calendar date of an instant in a time zone, through the zone's database (slow: tens of µs). */
function zoneDay(instant: number, timeZone: string): string {
  const parts: Record<string, string> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(instant))) parts[p.type] = p.value;
  return `${parts.year}-${parts.month}-${parts.day}`;
}

const DAY = 86_400_000;
/** UTC days kept a zone: thirty years of them. */
const DAYS_KEPT = 11_000;
/**
 * The zone's offset through each whole UTC day, when it is one offset from its first millisecond to its
 * last (NaN on the two days a year it changes), by zone and day: records' timestamps fall on few days,
 * and asking the zone's database for each cost most of a receipt's dates.
 */
const dayOffsets = new Map<string, BoundedMemo<number, number>>();

/** A timestamp in UTC as exports write it: its day, and its time of day to the millisecond. */
const UTC_TIMESTAMP = /^(\d{4}-\d\d-\d\d)T([01]\d|2[0-3]):([0-5]\d):([0-5]\d)(?:\.(\d{1,9}))?Z$/;

/** The zone's offset through a UTC day (`YYYY-MM-DD`), NaN when it changes that day or it is no day. */
const offsetsByDate = new Map<string, BoundedMemo<number>>();

function offsetThrough(date: string, timeZone: string): number {
  let offsets = offsetsByDate.get(timeZone);
  if (!offsets) {
    offsets = new BoundedMemo<number>(DAYS_KEPT);
    offsetsByDate.set(timeZone, offsets);
  }
  return offsets.get(date, () => {
    const start = Date.parse(`${date}T00:00:00Z`);
    if (!Number.isFinite(start) || new Date(start).toISOString().slice(0, 10) !== date) return Number.NaN;
    const first = offsetAt(start, timeZone);
    return first === offsetAt(start + DAY - 1, timeZone) ? first : Number.NaN;
  });
}

/**
 * The calendar date of a UTC timestamp (`…Z`) from its text: its UTC day, or the day before or after when
 * the zone's offset carries its time of day past midnight. Undefined when the text is of another form or
 * the offset changes that day (the general path decides).
 */
function utcTimestampDay(timestamp: string, timeZone: string): string | undefined {
  const m = UTC_TIMESTAMP.exec(timestamp);
  if (!m) return undefined;
  const date = m[1] as string;
  if (date < '1000') return undefined;
  const offset = offsetThrough(date, timeZone);
  if (Number.isNaN(offset)) return undefined;
  const ms = Number(`${m[5] ?? ''}00`.slice(0, 3));
  const local = Number(m[2]) * 3_600_000 + Number(m[3]) * 60_000 + Number(m[4]) * 1000 + ms + offset;
  if (local >= 0 && local < DAY) return date;
  const day = new Date(Date.parse(`${date}T00:00:00Z`) + (local < 0 ? -DAY : DAY));
  const year = day.getUTCFullYear();
  return year < 1000 || year > 9999 ? undefined : day.toISOString().slice(0, 10);
}

/** The calendar date (`YYYY-MM-DD`) of a timestamp in a time zone; undefined when it is no timestamp. */
export function calendarDay(timestamp: string, timeZone: string): string | undefined {
  const fast = utcTimestampDay(timestamp, timeZone);
  if (fast !== undefined) return fast;
  const instant = Date.parse(timestamp);
  if (!Number.isFinite(instant)) return undefined;
  const day = Math.floor(instant / DAY);
  let offsets = dayOffsets.get(timeZone);
  if (!offsets) {
    offsets = new BoundedMemo<number, number>(DAYS_KEPT);
    dayOffsets.set(timeZone, offsets);
  }
  const offset = offsets.get(day, () => {
    const first = offsetAt(day * DAY, timeZone);
    return first === offsetAt(day * DAY + DAY - 1, timeZone) ? first : Number.NaN;
  });
  const local = new Date(instant + offset);
  const year = local.getUTCFullYear();
  // Days whose offset changes, and years the zone database writes otherwise (before 1000, after 9999).
  if (Number.isNaN(offset) || year < 1000 || year > 9999) return zoneDay(instant, timeZone);
  return local.toISOString().slice(0, 10);
}

/** Whether a zone name is known to this runtime's time-zone database. */
export function isTimeZone(name: string): boolean {
  try {
    formatter(name);
    return true;
  } catch {
    return false;
  }
}
