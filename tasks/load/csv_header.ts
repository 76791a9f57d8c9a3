/**
 * The header line of a landing CSV: read from the file (a byte order mark is named as such, not
 * shown invisibly in a list of columns) and checked against the columns of `raw.users`.
 *
 * @module
 */
import { parse as parseCsv } from "csv-parse/sync";
import { TerminalError } from "../shared/errors.ts";

const HEADER_PROBE_BYTES = 64 * 1024;
const UTF8_BOM = [0xef, 0xbb, 0xbf];

/** The names in the first line of `file`: a {@linkcode TerminalError} for no file, a BOM, no line. */
export async function readHeader(file: string): Promise<string[]> {
  let handle: Deno.FsFile;
  try {
    handle = await Deno.open(file, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new TerminalError(
        `no CSV at ${file}; run \`deno task extract\` for this ds first`,
      );
    }
    throw error;
  }
  try {
    const buffer = new Uint8Array(HEADER_PROBE_BYTES);
    const read = (await handle.read(buffer)) ?? 0;
    if (read >= UTF8_BOM.length && UTF8_BOM.every((byte, i) => buffer[i] === byte)) {
      throw new TerminalError(
        `${file} starts with a UTF-8 byte order mark (bytes EF BB BF), which the CSV contract ` +
          "does not have (an editor may have added it); save the file without one, or re-run " +
          "`deno task extract` for this ds",
      );
    }
    const text = new TextDecoder().decode(buffer.subarray(0, read));
    const end = text.search(/\r?\n/);
    if (read === 0 || end < 0) {
      throw new TerminalError(`${file} has no header line; it is empty or not a CSV`);
    }
    const [names] = parseCsv(text.slice(0, end)) as string[][];
    return names ?? [];
  } finally {
    handle.close();
  }
}

/** Throws a {@linkcode TerminalError} naming how `header` differs from the table's columns. */
export function checkHeader(
  header: readonly string[],
  { columns, file }: { columns: readonly string[]; file: string },
): void {
  const expected = new Set(columns);
  const seen = new Set<string>();
  const repeated = header.filter((name) => seen.has(name) || !seen.add(name));
  const missing = columns.filter((name) => !seen.has(name));
  const unexpected = header.filter((name) => !expected.has(name));
  if (missing.length + unexpected.length + repeated.length === 0) return;
  const problems = [
    missing.length ? `missing ${missing.join(", ")}` : "",
    unexpected.length ? `unexpected ${unexpected.join(", ")}` : "",
    repeated.length ? `repeated ${repeated.join(", ")}` : "",
  ].filter(Boolean).join("; ");
  throw new TerminalError(
    `the CSV header of ${file} does not match raw.users (${problems}). ` +
      "Was it written by another version? Re-run `deno task extract` for this ds, or " +
      "`deno task migrate` if the table is behind.",
  );
}
