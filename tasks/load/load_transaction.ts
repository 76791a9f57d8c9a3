/**
 * Loads one landing-zone CSV into `raw.users` in a single transaction: the file must be vouched
 * for by its manifest (rows, bytes, SHA-256, columns, ds) and its header must match the table.
 * A ds's first load streams it with `COPY … FROM STDIN` straight into `raw.users`; a reload goes
 * through a temporary staging table merged by id (rows of the ds that a vouched file no longer
 * has are removed) — see `load_target.ts` and `users_merge.ts`. The batch is recorded in
 * `meta.load_batches` (`batch_ledger.ts`). Any
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
import { errorMessage, TerminalError } from "../shared/errors.ts";
import type { LogFields, Logger } from "../shared/logger.ts";
import {
  describeMismatch,
  type LandingManifest,
  type ObservedFile,
  readManifest,
} from "../landing/landing_manifest.ts";
import { checkLandingKinds, type LandingFiles } from "../landing/landing_zone.ts";
import type { Sql, TransactionSql } from "../warehouse/sql_client.ts";
import { latestBatchOf, recordBatch, recordFailedBatch } from "./batch_ledger.ts";
import type { CopiedBytes, CopyWriter } from "./copy_writer.ts";
import { checkHeader, readHeader } from "./csv_header.ts";
import { copyFileInto, isMissing } from "./landing_file_source.ts";
import { describeLoadError, isExistingRow } from "./load_errors.ts";
import { loadedBatch } from "./loaded_batch.ts";
import {
  copyMatchesHeader,
  fallBackToStage,
  type LoadTarget,
  type LoadTargetOptions,
  openLoadTarget,
  tableColumns,
} from "./load_target.ts";
import { type MergeCounts, mergeStage } from "./users_merge.ts";

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
