/**
 * Logical dates (`ds`): UTC calendar days written `YYYY-MM-DD`, the name of every run.
 *
 * @example
 * ```ts
 * dateRange(addDays(todayUtc(), -6), todayUtc()); // the last 7 logical dates
 * ```
 *
 * @module
 */

const DAY_MS = 86_400_000;

/** Today's date in UTC, `YYYY-MM-DD`: the default logical date. */
export function todayUtc(now: Date = new Date()): string {
  return now.toISOString().slice(0, 10);
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

/** Every date from `from` to `to`, inclusive, in order. */
export function dateRange(from: string, to: string): string[] {
  const dates: string[] = [];
  for (let ds = from; ds <= to; ds = addDays(ds, 1)) dates.push(ds);
  return dates;
}
