/**
 * Users as CSV bytes: {@linkcode UserCsvStream} turns batches of rows into RFC 4180 text, and
 * {@linkcode AtomicFile} writes a file under a temporary name and renames it only when complete,
 * so a reader never sees half a file.
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
import { basename, dirname, join } from "node:path";
import { ignoreNotFound } from "./errors.ts";
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

/** How old a leftover temporary file must be before {@linkcode AtomicFile.create} removes it. */
const STALE_TEMP_MS = 60 * 60 * 1000;

/**
 * A file written under a temporary name in its final directory and renamed into place by
 * {@linkcode AtomicFile.commit} after an fsync; {@linkcode AtomicFile.abort} removes it.
 */
export class AtomicFile {
  readonly path: string;
  readonly tempPath: string;
  readonly #file: Deno.FsFile;
  #bytes = 0;
  #settled = false;

  private constructor(path: string, tempPath: string, file: Deno.FsFile) {
    this.path = path;
    this.tempPath = tempPath;
    this.#file = file;
  }

  /** Creates the directory if needed, removes stale temporaries of `path`, opens a new one. */
  static async create(path: string): Promise<AtomicFile> {
    await Deno.mkdir(dirname(path), { recursive: true });
    await removeStaleTemporaries(path);
    const tempPath = `${path}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
    const file = await Deno.open(tempPath, { write: true, createNew: true });
    return new AtomicFile(path, tempPath, file);
  }

  /** Bytes written so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** A sink for the content; it does not close the file (call commit or abort). */
  get writable(): WritableStream<Uint8Array> {
    return new WritableStream({
      write: async (chunk) => {
        let offset = 0;
        while (offset < chunk.length) offset += await this.#file.write(chunk.subarray(offset));
        this.#bytes += chunk.length;
      },
    });
  }

  /** Flushes to disk and renames the file to its final name; on failure removes the temporary. */
  async commit(): Promise<void> {
    this.#settle();
    try {
      try {
        await this.#file.sync();
      } finally {
        this.#file.close();
      }
      await Deno.rename(this.tempPath, this.path);
    } catch (error) {
      await Deno.remove(this.tempPath).catch(ignoreNotFound);
      throw error;
    }
    await syncDirectory(dirname(this.path));
  }

  /** Closes and deletes the temporary file; the final name keeps whatever it had before. */
  async abort(): Promise<void> {
    if (this.#settled) return;
    this.#settle();
    this.#file.close();
    await Deno.remove(this.tempPath).catch(ignoreNotFound);
  }

  #settle(): void {
    if (this.#settled) throw new Error(`${this.path} was already committed or aborted`);
    this.#settled = true;
  }
}

/**
 * Removes temporaries of `path` left by a process that died (kill -9, power loss): on Linux when
 * the pid in the name is no longer running, elsewhere when untouched for an hour.
 */
async function removeStaleTemporaries(path: string): Promise<void> {
  const prefix = `${basename(path)}.tmp-`;
  for await (const entry of Deno.readDir(dirname(path))) {
    if (!entry.isFile || !entry.name.startsWith(prefix)) continue;
    const full = join(dirname(path), entry.name);
    const pid = Number(entry.name.slice(prefix.length).split("-")[0]);
    const ownerGone = Deno.build.os === "linux" && pid !== Deno.pid &&
      !(await exists(`/proc/${pid}`));
    const stat = await Deno.stat(full).catch((error) => {
      ignoreNotFound(error);
      return null;
    });
    const old = stat?.mtime ? Date.now() - stat.mtime.getTime() > STALE_TEMP_MS : false;
    if (ownerGone || old) await Deno.remove(full).catch(ignoreNotFound);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    ignoreNotFound(error);
    return false;
  }
}

/** Makes a rename durable. Windows cannot open a directory; there NTFS journals the rename. */
async function syncDirectory(path: string): Promise<void> {
  if (Deno.build.os === "windows") return;
  using dir = await Deno.open(path, { read: true });
  await dir.sync();
}
