/**
 * What the columns of `raw.users` can hold, as predicates: the zod schema of a user and the
 * extract's fast path both decide with these, so "whatever the extract accepts, `raw.users`
 * accepts" has one definition (a property test checks it against PostgreSQL's own input
 * functions).
 *
 * @module
 */
/** PostgreSQL `integer` (int4). */
export const INT4_MIN = -2_147_483_648;
export const INT4_MAX = 2_147_483_647;
/**
 * PostgreSQL numeric: at most 131 072 digits before the decimal point (leading zeros aside) and
 * 16 383 after it; past either, its input fails with "value overflows numeric format".
 */
export const NUMERIC_MAX_WHOLE_DIGITS = 131_072;
export const NUMERIC_MAX_FRACTION_DIGITS = 16_383;
/**
 * PostgreSQL timestamptz: time zone displacements up to ±15:59, and microseconds (a seventh
 * fractional digit would be rounded away, so the instant would not arrive as the API sent it).
 */
export const TIMESTAMP_MAX_OFFSET_HOURS = 15;
export const TIMESTAMP_MAX_FRACTION_DIGITS = 6;

/** A decimal number as PostgreSQL's numeric input reads it (no exponent, no NaN). */
export const DECIMAL_TEXT = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;
// The two patterns below are zod 4.6.7's own (`z.regexes.datetime({ offset: true })` and
// `z.regexes.guid`), copied so that this module — and the extract's workers — need no zod; a test
// holds them equal to zod's.
/** ISO 8601 with seconds and `Z` or a `±HH:MM` offset: what `z.iso.datetime` accepts. */
export const ISO_TIMESTAMP =
  /^(?:(?:\d\d[2468][048]|\d\d[13579][26]|\d\d0[48]|[02468][048]00|[13579][26]00)-02-29|\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)|(?:02)-(?:0[1-9]|1\d|2[0-8])))T(?:(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?(?:Z|([+-](?:[01]\d|2[0-3]):[0-5]\d)))$/;
/** 8-4-4-4-12 hex digits: what `z.guid` accepts, and PostgreSQL's uuid input takes. */
export const UUID_TEXT =
  /^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$/;

const OFFSET = /([+-])(\d\d):(\d\d)$/;
const FRACTION = /\.(\d+)/;

/** PostgreSQL `text` cannot hold NUL, and an unpaired surrogate cannot be encoded as UTF-8. */
export function isStorableText(value: string): boolean {
  return !value.includes("\0") && value.isWellFormed();
}

/** A whole number within int4. */
export function isInt4(value: number): boolean {
  return Number.isInteger(value) && value >= INT4_MIN && value <= INT4_MAX;
}

/** Digits before the decimal point, leading zeros aside. */
export function wholeDigits(decimal: string): number {
  const whole = decimal.replace(/^[+-]/, "").split(".")[0] ?? "";
  return whole.replace(/^0+/, "").length;
}

/** Digits after the decimal point. */
export function fractionDigits(decimal: string): number {
  return decimal.split(".")[1]?.length ?? 0;
}

/** A decimal text that numeric takes as it is. */
export function isStorableDecimal(text: string): boolean {
  // The length bound first: digit counts only matter for texts longer than the smaller limit.
  return DECIMAL_TEXT.test(text) &&
    (text.length <= NUMERIC_MAX_FRACTION_DIGITS ||
      (wholeDigits(text) <= NUMERIC_MAX_WHOLE_DIGITS &&
        fractionDigits(text) <= NUMERIC_MAX_FRACTION_DIGITS));
}

/** The `±HH:MM` offset of an ISO timestamp, or `undefined` for `Z`. */
export function timestampOffset(text: string): string | undefined {
  return OFFSET.exec(text)?.[0];
}

/** Whether the hours of the timestamp's offset are within PostgreSQL's ±15:59. */
export function isStorableOffset(text: string): boolean {
  return Number(OFFSET.exec(text)?.[2] ?? 0) <= TIMESTAMP_MAX_OFFSET_HOURS;
}

/** Fractional digits of the seconds of an ISO timestamp. */
export function timestampFractionDigits(text: string): number {
  return FRACTION.exec(text)?.[1]?.length ?? 0;
}

/** An ISO timestamp that timestamptz takes as the same instant. */
export function isStorableTimestamp(text: string): boolean {
  return ISO_TIMESTAMP.test(text) && !text.startsWith("0000") && isStorableOffset(text) &&
    timestampFractionDigits(text) <= TIMESTAMP_MAX_FRACTION_DIGITS;
}
