/**
 * Loads one landing-zone CSV into `raw.users` in a single transaction: the file must be vouched
 * for by its manifest (rows, bytes, SHA-256, columns, ds) and its header must match the table.
 * A ds's first load streams it with `COPY … FROM STDIN` straight into `raw.users`; a reload goes
 * through a temporary staging table merged by id (rows of the ds that a vouched file no longer
 * has are removed) — see `users_merge.ts`. The batch is recorded in `meta.load_batches`. Any
 * failure leaves `raw.users` as it was. A hand-made file loads only when asked (`unvouched`),
 * and then never deletes a row.
 *
 * @example
 * ```ts
 * const summary = await loadUsers(warehouse.sql, { ds: "2026-01-01", files });
 * console.log(summary.inserted, summary.updated, summary.deleted);
 * ```
 *
 * @module
 */
import { ulid } from "ulid";
import {
  errorMessage,
  isConnectionLoss,
  isTransientPostgresError,
  TerminalError,
  TransientError,
} from "../shared/errors.ts";
import type { LogFields, Logger } from "../shared/logger.ts";
import {
  describeMismatch,
  type LandingManifest,
  type ObservedFile,
  readManifest,
} from "../landing/landing_manifest.ts";
import { checkLandingKinds, type LandingFiles } from "../landing/landing_zone.ts";
import postgres from "postgres";
import type { Sql, TransactionSql } from "../warehouse/sql_client.ts";
import { type CopiedBytes, CopyWriter } from "./copy_writer.ts";
import { loadedBatch } from "./loaded_batch.ts";
import { checkHeader, readHeader } from "./csv_header.ts";
import {
  fallBackToStage,
  isExistingRow,
  type LoadTarget,
  type LoadTargetOptions,
  type MergeCounts,
  mergeStage,
  openLoadTarget,
  recordBatch,
  recordFailedBatch,
  tableColumns,
} from "./users_merge.ts";

/** Options for {@linkcode loadUsers}. */
export interface LoadOptions {
  /** Logical date the file belongs to. */
  ds: string;
  /** The ds's landing files: the CSV to load and its manifest. */
  files: LandingFiles;
  /**
   * Load a CSV that no manifest vouches for (made or edited by hand): its rows are inserted and
   * updated, but no row of the ds is deleted. Default false: such a file is refused.
   */
  unvouched?: boolean;
  /**
   * Do nothing when this very file (its manifest's SHA-256) is the last thing loaded: a streamed
   * `deno task extract --load` got it there. With no CSV here (the extract ran on another worker),
   * do nothing when the ds's newest batch loaded a vouched file, and fail as terminal when it did
   * not (`loaded_batch.ts`). Default false: load it again.
   */
  skipIfLoaded?: boolean;
  logger?: Logger;
}

/** What one load changed. */
export interface LoadSummary {
  readonly batchId: string;
  readonly ds: string;
  readonly file: string;
  /** Data rows in the file. */
  readonly rows: number;
  readonly bytes: number;
  readonly sha256: string;
  readonly inserted: number;
  readonly updated: number;
  /** Rows of this ds that the file no longer contains. */
  readonly deleted: number;
  readonly unchanged: number;
  /** Rows whose id appeared earlier in the file (the first one is kept). */
  readonly duplicates: number;
  /** Whether the file's manifest vouched for it (only then may the load delete rows). */
  readonly vouched: boolean;
  /** Set when `skipIfLoaded` found the file loaded by this batch: nothing was done. */
  readonly alreadyLoaded?: string;
  readonly seconds: number;
}

/** The counts of a first load, apart from its rows: it only inserts. */
const NOTHING_MERGED = { updated: 0, deleted: 0, unchanged: 0, duplicates: 0 } as const;

/** Whether the server's COPY checks a CSV header's names itself (`header match`, PostgreSQL 15+). */
export async function copyMatchesHeader(sql: Sql): Promise<boolean> {
  return Number((await sql`show server_version_num`)[0]?.server_version_num) >= 150000;
}

/**
 * Sends the CSV into the load's COPY with `send`; when a direct COPY meets an id already in
 * `raw.users` (another ds has the user), goes back to the savepoint and stages `file` instead, to
 * merge. Returns the target the rows went to and what was copied.
 */
export async function copyOrStage(
  tx: TransactionSql,
  load: LoadTarget,
  options: {
    target: LoadTargetOptions;
    file: string;
    send: (copy: CopyWriter) => Promise<CopiedBytes>;
  },
): Promise<{ load: LoadTarget; copied: CopiedBytes }> {
  try {
    return { load, copied: await options.send(load.copy) };
  } catch (error) {
    if (load.kind !== "raw" || !isExistingRow(error)) throw error;
    const staged = await fallBackToStage(tx, options.target);
    return { load: staged, copied: await copyFileInto(staged.copy, options.file) };
  }
}

/**
 * The counts of a load whose rows went to `load`: a direct COPY inserted the manifest's rows (its
 * bytes are the extract's, byte for byte); a staged one is merged, and counted by the merge.
 */
export async function loadedCounts(
  tx: TransactionSql,
  load: LoadTarget,
  options: { manifestRows: number | undefined; target: LoadTargetOptions; deleteMissing: boolean },
): Promise<MergeCounts> {
  if (load.kind === "raw") {
    return { ...NOTHING_MERGED, rows: options.manifestRows!, inserted: options.manifestRows! };
  }
  const { ds, batchId, columns } = options.target;
  return await mergeStage(tx, { ds, batchId, columns, deleteMissing: options.deleteMissing });
}

/**
 * Loads the CSV of `ds` into `raw.users`. Loading the same file twice leaves the same rows.
 * Throws a {@linkcode TerminalError} for a missing file, a file its manifest does not vouch for,
 * or a header that does not match the table, and the PostgreSQL error (with the CSV line) when
 * COPY rejects a row.
 */
export async function loadUsers(sql: Sql, options: LoadOptions): Promise<LoadSummary> {
  const started = performance.now();
  const startedAt = new Date();
  const batchId = ulid();
  const { ds, files } = options;
  const file = files.csv;
  const vouched = !options.unvouched;
  let copied: { bytes: number; sha256: string } | undefined;
  if (options.skipIfLoaded && await isMissing(file)) {
    // Written on another worker (no shared DATA_DIR): the warehouse says whether it was loaded.
    const loaded = await loadedBatch(sql, files);
    options.logger?.info("the CSV is not on this worker; the warehouse holds its loaded batch", {
      ds,
      batch: loaded.batchId,
      file: loaded.file,
    });
    return { ...loaded, seconds: (performance.now() - started) / 1000 };
  }
  try {
    await checkLandingKinds(files);
    const header = await readHeader(file);
    const columns = await tableColumns(sql);
    checkHeader(header, { columns, file });
    const manifest = vouched ? await readManifest(files.manifest) : undefined;
    const vouch = (observed: ObservedFile) => {
      if (vouched) refuseUnvouched({ manifest, observed, files });
    };
    vouch({ ds, columns: header, bytes: (await Deno.stat(file)).size });
    if (options.skipIfLoaded && manifest) {
      const loaded = await latestBatchOf(sql, { ds, sha256: manifest.sha256 });
      if (loaded) {
        return { ...loaded, file, vouched, seconds: (performance.now() - started) / 1000 };
      }
    }
    const target: LoadTargetOptions = {
      ds,
      batchId,
      header,
      columns,
      // A hand-made file goes through the staging merge, which counts what it holds.
      direct: vouched,
      // PostgreSQL 15+ also checks the header names against the column list itself.
      headerMatch: await copyMatchesHeader(sql),
    };
    const result = await sql.begin(async (tx) => {
      const opened = await openLoadTarget(tx, target);
      const send = (copy: CopyWriter) => copyFileInto(copy, file);
      const { load, copied: sent } = await copyOrStage(tx, opened, { target, file, send });
      copied = sent;
      // What was copied is what the manifest vouches for, or nothing is kept (the file may have
      // changed since it was measured above).
      vouch({ bytes: copied.bytes, sha256: copied.sha256 });
      const counts = await loadedCounts(tx, load, {
        manifestRows: manifest?.rows,
        target,
        deleteMissing: vouched,
      });
      vouch({ rows: counts.rows });
      await recordBatch(tx, {
        ...counts,
        batchId,
        ds,
        file,
        bytes: copied.bytes,
        sha256: copied.sha256,
        vouched,
        startedAt,
      });
      return counts;
    });
    if (result.duplicates > 0) {
      options.logger?.warn("the CSV repeats some ids; the first row of each was kept", {
        ds,
        duplicates: result.duplicates,
      });
    }
    return {
      batchId,
      ds,
      file,
      bytes: copied?.bytes ?? 0,
      sha256: copied?.sha256 ?? "",
      ...result,
      vouched,
      seconds: (performance.now() - started) / 1000,
    };
  } catch (error) {
    const failure = describeLoadError(error, file);
    await recordFailedBatch(sql, {
      batchId,
      ds,
      file,
      error: failure.message,
      vouched,
      startedAt,
    })
      .catch((recordError) =>
        options.logger?.warn("could not record the failed batch", {
          error: errorMessage(recordError),
        })
      );
    throw failure;
  }
}

/** Whether `path` does not exist (a parent that is not a directory is for the kind checks). */
async function isMissing(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => false, (error) => {
    if (error instanceof Deno.errors.NotFound) return true;
    if (error instanceof Deno.errors.NotADirectory) return false;
    throw error;
  });
}

/** The fields of a load's summary line (`load ds=… rows=… inserted=… …`). */
export function loadSummaryFields(summary: LoadSummary): LogFields {
  return {
    ds: summary.ds,
    rows: summary.rows,
    inserted: summary.inserted,
    updated: summary.updated,
    deleted: summary.deleted,
    unchanged: summary.unchanged,
    duplicates: summary.duplicates,
    vouched: summary.vouched,
    already_loaded: summary.alreadyLoaded === undefined ? undefined : true,
    mb: (summary.bytes / 1e6).toFixed(1),
    seconds: summary.seconds.toFixed(2),
    batch: summary.batchId,
  };
}

/**
 * The last succeeded batch of all, when it loaded `sha256` as `ds` (so loading the file again
 * would change nothing): its counts, as the skipped load's summary.
 */
async function latestBatchOf(
  sql: Sql,
  file: { ds: string; sha256: string },
): Promise<Omit<LoadSummary, "file" | "vouched" | "seconds"> | undefined> {
  const [batch] = await sql<
    {
      batch_id: string;
      ds: string;
      sha256: string | null;
      vouched: boolean;
      rows: number;
      bytes: number;
      inserted: number;
      updated: number;
      deleted: number;
      unchanged: number;
      duplicates: number;
    }[]
  >`
    select batch_id, ds::text, sha256, vouched, rows_in_file::int as rows, bytes::bigint::float8 as bytes,
           inserted::int, updated::int, deleted::int, unchanged::int, duplicates::int
    from meta.load_batches where status = 'succeeded'
    order by finished_at desc, batch_id desc limit 1`;
  if (!batch || batch.ds !== file.ds || batch.sha256 !== file.sha256 || !batch.vouched) {
    return undefined;
  }
  return {
    batchId: batch.batch_id,
    ds: file.ds,
    rows: batch.rows,
    bytes: batch.bytes,
    sha256: file.sha256,
    inserted: batch.inserted,
    updated: batch.updated,
    deleted: batch.deleted,
    unchanged: batch.unchanged,
    duplicates: batch.duplicates,
    alreadyLoaded: batch.batch_id,
  };
}

/**
 * Throws a {@linkcode TerminalError} that says how `observed` differs from what the manifest
 * vouches for (or that there is no manifest), and what to do; returns when the file is vouched.
 */
export function refuseUnvouched(
  { manifest, observed, files }: {
    manifest: LandingManifest | undefined;
    observed: ObservedFile;
    files: LandingFiles;
  },
): void {
  const problem = manifest
    ? describeMismatch(manifest, observed)
    : `no manifest vouches for it (${files.manifest} is missing): the extract did not finish, ` +
      "or the file was made by hand";
  if (problem === undefined) return;
  throw new TerminalError(
    `refusing to load ${files.csv}: ${problem}. raw.users is unchanged. Re-run ` +
      `\`deno task extract --ds ${files.ds}\` to write the file again; to load a file made or ` +
      `edited by hand, pass --unvouched (it then inserts and updates, and deletes nothing)`,
  );
}

const COPY_CHUNK_BYTES = 1 << 20;

/** Streams `file` into `copy` in 1 MB chunks and ends it. */
export async function copyFileInto(copy: CopyWriter, file: string): Promise<CopiedBytes> {
  using handle = await Deno.open(file, { read: true });
  // The next chunk is read while the last one is on its way to the server.
  let next = readChunk(handle);
  try {
    for (;;) {
      const chunk = await next;
      if (chunk === undefined) break;
      next = readChunk(handle);
      await copy.write(chunk);
    }
  } catch (error) {
    // The read ahead ends with the file, closed on the way out: its failure is not news.
    next.catch(() => {});
    copy.abort(error instanceof Error ? error : new Error(String(error)));
    throw error;
  }
  return await copy.end();
}

/** Up to 1 MB of `file` (one read syscall per MB, not per 64 KB); `undefined` at its end. */
async function readChunk(file: Deno.FsFile): Promise<Uint8Array | undefined> {
  const chunk = new Uint8Array(COPY_CHUNK_BYTES);
  let filled = 0;
  while (filled < chunk.length) {
    const read = await file.read(chunk.subarray(filled));
    if (read === null) break;
    filled += read;
  }
  return filled === 0 ? undefined : chunk.subarray(0, filled);
}

/** Turns a load failure into a message that names the file, says that nothing changed and what to do. */
export function describeLoadError(error: unknown, file: string): Error {
  if (error instanceof TerminalError || error instanceof TransientError) return error;
  if (isConnectionLoss(error)) {
    // Which words arrive depends on a race (the server's FATAL, the socket's EPIPE, postgres.js's
    // CONNECTION_CLOSED): one message for all of them.
    return new TransientError(
      `loading ${file} into raw.users failed: the warehouse connection broke ` +
        `(${errorMessage(error)}); raw.users is unchanged. Retrying may succeed.`,
      { cause: error },
    );
  }
  const pg = error instanceof postgres.PostgresError ? error : undefined;
  const message = `loading ${file} into raw.users failed: ${errorMessage(error)}` +
    `${pg?.where ? ` (${pg.where})` : ""}; raw.users is unchanged`;
  if (pg && !isTransientPostgresError(pg)) {
    // Data (22), integrity (23), schema (42) … errors: the file or the table is wrong.
    return new TerminalError(
      `${message}. Re-run \`deno task extract\` for this ds to rewrite the file, or ` +
        "`deno task migrate` if the table is behind.",
      { cause: error },
    );
  }
  return new TransientError(`${message}. Retrying may succeed.`, { cause: error });
}
