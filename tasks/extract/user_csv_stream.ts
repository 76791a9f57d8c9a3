/**
 * Users as CSV bytes: {@linkcode UserCsvStream} turns batches of rows into RFC 4180 text.
 *
 * NULL and the empty string stay distinct: NULL is written as an empty unquoted field and `""`
 * as a quoted empty field, which is exactly how PostgreSQL's `COPY … (FORMAT csv)` reads them.
 *
 * @example
 * ```ts
 * const file = await AtomicFile.create("data/raw/ds=2026-01-01/random_user.csv");
 * await rows.pipeThrough(new UserCsvStream({ columns: USER_COLUMNS })).pipeTo(file.writable);
 * await file.commit();
 * ```
 *
 * @module
 */
import type { UserRow } from "./user_schema.ts";

/** Options for {@linkcode UserCsvStream}. */
export interface UserCsvStreamOptions {
  /** The header row, written first (also when no rows follow). */
  columns: readonly string[];
}

// Hand-written rather than csv-stringify, because it was the extract's largest cost: on a
// 5 000-user page csv-stringify 6.9 took 110-230 ms, this 26 ms, for the same bytes (issue 8,
// `deno task bench`). RFC 4180: CRLF after every record; a field with a quote, comma, CR or LF
// is quoted, quotes doubled. NULL is an empty unquoted field and "" a quoted empty one, as
// COPY … (FORMAT csv) reads them; a bare `\.` (COPY's end marker) is quoted too.
const NEEDS_QUOTES = /[",\r\n]/;

function csvField(value: string | number | null): string {
  if (value === null) return "";
  if (typeof value === "number") return String(value);
  if (value === "") return '""';
  if (NEEDS_QUOTES.test(value)) return `"${value.replaceAll('"', '""')}"`;
  if (value === "\\.") return '"\\."';
  return value;
}

function csvRecords(rows: readonly (readonly (string | number | null)[])[]): string {
  let text = "";
  for (const row of rows) {
    for (let i = 0; i < row.length; i++) {
      if (i > 0) text += ",";
      text += csvField(row[i] ?? null);
    }
    text += "\r\n";
  }
  return text;
}

/** Emits the CSV encoding (UTF-8 bytes) of each batch of user rows, after one header row. */
export class UserCsvStream extends TransformStream<UserRow[], Uint8Array> {
  constructor(options: UserCsvStreamOptions) {
    const encoder = new TextEncoder();
    const columns = [...options.columns];
    super({
      start(controller) {
        controller.enqueue(encoder.encode(csvRecords([columns])));
      },
      transform(rows, controller) {
        for (const row of rows) {
          if (row.length !== columns.length) {
            throw new RangeError(
              `a CSV row has ${row.length} values but the header has ${columns.length} columns`,
            );
          }
        }
        if (rows.length > 0) controller.enqueue(encoder.encode(csvRecords(rows)));
      },
    });
  }
}
