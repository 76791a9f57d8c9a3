/**
 * Logical dates (`ds`): UTC calendar days written `YYYY-MM-DD`, the name of every run, and the
 * bounds a logical date from a person must keep.
 *
 * @example
 * ```ts
 * dateRange(addDays(todayUtc(), -6), todayUtc()); // the last 7 logical dates
 * isWithin("1999-12-31", logicalDateBounds()); // false: before 2000-01-01
 * ```
 *
 * @module
 */

const DAY_MS = 86_400_000;

/** An inclusive range of logical dates. */
export interface DateBounds {
  readonly first: string;
  readonly last: string;
}

/**
 * The first logical date a command accepts unless told otherwise (`--allow-any-date`), and the
 * earliest `PIPELINE_START_DATE`: older dates are typos (`0000-01-01`), and one loaded before
 * 1900 fails the build's tests against the fixed `dim_date` calendar.
 */
export const FIRST_LOGICAL_DATE = "2000-01-01";

/**
 * The dates PostgreSQL's `date` holds in the `YYYY-MM-DD` form: it has no year 0 (1 BC comes
 * right before 0001-01-01, and `'0000-01-01'::date` is an error), and four digits end at 9999.
 */
export const WAREHOUSE_DATE_BOUNDS: DateBounds = Object.freeze({
  first: "0001-01-01",
  last: "9999-12-31",
});

/** Today's date in UTC, `YYYY-MM-DD`: the default logical date. */
export function todayUtc(now: Date = new Date()): string {
  return now.toISOString().slice(0, 10);
}

/**
 * The logical dates a command accepts unless told otherwise: {@linkcode FIRST_LOGICAL_DATE} to
 * tomorrow (UTC), a day of slack for a person whose day has begun before UTC's. A later date
 * has no users yet.
 */
export function logicalDateBounds(now: Date = new Date()): DateBounds {
  return { first: FIRST_LOGICAL_DATE, last: addDays(todayUtc(now), 1) };
}

/** True when the logical date `ds` lies within `bounds`, both ends included. */
export function isWithin(ds: string, bounds: DateBounds): boolean {
  return bounds.first <= ds && ds <= bounds.last;
}

/** True when `text` is `YYYY-MM-DD` and names a real day (no 2026-02-30). */
export function isCalendarDate(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const date = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === text;
}

/** The logical date `days` after `ds` (before it when negative). */
export function addDays(ds: string, days: number): string {
  return new Date(Date.parse(`${ds}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/** How many dates there are from `from` to `to`, inclusive (0 when `to` comes first). */
export function dayCount(from: string, to: string): number {
  return Math.max(
    0,
    (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS + 1,
  );
}

/** Every date from `from` to `to`, inclusive, in order. */
export function dateRange(from: string, to: string): string[] {
  const dates: string[] = [];
  // By the clock, not by the text: the day after 9999-12-31 is written +010000-01-01, which
  // sorts before it.
  const last = Date.parse(`${to}T00:00:00Z`);
  for (let day = Date.parse(`${from}T00:00:00Z`); day <= last; day += DAY_MS) {
    dates.push(new Date(day).toISOString().slice(0, 10));
  }
  return dates;
}
