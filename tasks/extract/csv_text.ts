/**
 * CSV text of the landing files (RFC 4180, as PostgreSQL's `COPY … (FORMAT csv)` reads it): NULL
 * is an empty unquoted field and `""` a quoted empty one, so the two stay distinct; a field with
 * a quote, comma, CR or LF is quoted with its quotes doubled, and a bare `\.` (COPY's end marker)
 * is quoted too. Records end with CRLF.
 *
 * Hand-written rather than csv-stringify, because it was the extract's largest cost: on a
 * 5 000-user page csv-stringify 6.9 took 110-230 ms, this 26 ms, for the same bytes (issue 8,
 * `deno task bench`).
 *
 * @example
 * ```ts
 * csvLine(["O'Brien, Jr.", "", null, 42]); // "\"O'Brien, Jr.\",\"\",,42\r\n"
 * ```
 *
 * @module
 */

const NEEDS_QUOTES = /[",\r\n]/;

/** One text value as a CSV field. */
export function csvText(value: string): string {
  if (value === "") return '""';
  if (NEEDS_QUOTES.test(value)) return `"${value.replaceAll('"', '""')}"`;
  if (value === "\\.") return '"\\."';
  return value;
}

/** One value as a CSV field: `null` is an empty unquoted field. */
export function csvField(value: string | number | null): string {
  if (value === null) return "";
  if (typeof value === "number") return String(value);
  return csvText(value);
}

/** One record, CRLF included. */
export function csvLine(values: readonly (string | number | null)[]): string {
  let line = "";
  for (let i = 0; i < values.length; i++) {
    if (i > 0) line += ",";
    line += csvField(values[i] ?? null);
  }
  return line + "\r\n";
}
