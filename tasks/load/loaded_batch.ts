/**
 * What a load decides when its ds's CSV is not on this machine: on workers that share no disk
 * (Airflow's CeleryExecutor), the extract that wrote the file, and streamed it into the warehouse,
 * may have run on another one. The warehouse then says whether that happened: the ds's newest
 * batch in `meta.load_batches` is a vouched file that loaded (nothing to do), or the load fails
 * as terminal saying what is missing and where — a retry on this worker cannot bring the file.
 *
 * It holds because the extract leaves a batch row of every streamed load it tries, failed ones
 * included, or does not succeed (see `streamed_load.ts`): the newest row of a ds is its newest
 * extract's.
 *
 * @example
 * ```ts
 * const summary = await loadedBatch(sql, files); // throws a TerminalError when it is not loaded
 * ```
 *
 * @module
 */
import { hostname } from "node:os";
import { TerminalError } from "../shared/errors.ts";
import type { LandingFiles } from "../landing/landing_zone.ts";
import type { Sql } from "../warehouse/sql_client.ts";
import type { LoadSummary } from "./load_transaction.ts";

interface BatchRow {
  batch_id: string;
  status: "succeeded" | "failed";
  vouched: boolean;
  file: string;
  host: string | null;
  error: string | null;
  rows: number | null;
  bytes: number | null;
  sha256: string | null;
  inserted: number | null;
  updated: number | null;
  deleted: number | null;
  unchanged: number | null;
  duplicates: number | null;
}

/**
 * The summary of the ds's newest batch when it loaded a vouched file (`alreadyLoaded` set: this
 * load did nothing); else a {@linkcode TerminalError} naming the missing CSV, this host, and
 * what the warehouse holds of the ds.
 */
export async function loadedBatch(
  sql: Sql,
  files: LandingFiles,
): Promise<Omit<LoadSummary, "seconds">> {
  const { ds } = files;
  const [batch] = await sql<BatchRow[]>`
    select batch_id, status, vouched, file, host, error, rows_in_file::int as rows,
           bytes::float8 as bytes, sha256, inserted::int, updated::int, deleted::int,
           unchanged::int, duplicates::int
    from meta.load_batches where ds = ${ds}::date
    order by finished_at desc, batch_id desc limit 1`;
  if (batch?.status === "succeeded" && batch.vouched) {
    return {
      batchId: batch.batch_id,
      ds,
      file: batch.file,
      rows: batch.rows ?? 0,
      bytes: batch.bytes ?? 0,
      sha256: batch.sha256 ?? "",
      inserted: batch.inserted ?? 0,
      updated: batch.updated ?? 0,
      deleted: batch.deleted ?? 0,
      unchanged: batch.unchanged ?? 0,
      duplicates: batch.duplicates ?? 0,
      vouched: true,
      alreadyLoaded: batch.batch_id,
    };
  }
  const where = (row: BatchRow) => `${row.file} on ${row.host ?? "an unrecorded host"}`;
  const held = !batch
    ? `meta.load_batches has no batch of ds ${ds}`
    : batch.status === "failed"
    ? `its newest batch, ${batch.batch_id} (${where(batch)}), failed: ${
      batch.error ?? "no error recorded"
    }`
    : `its newest batch, ${batch.batch_id} (${
      where(batch)
    }), loaded a file no manifest vouched for (--unvouched)`;
  throw new TerminalError(
    `the CSV of ds ${ds} is not on this worker (${files.csv} on ${hostname()} does not exist) ` +
      `and the warehouse holds no loaded batch of it: ${held}. raw.users is unchanged. Run ` +
      `extract_load again for ds ${ds} (its extract loads the file it writes, on any worker), ` +
      "or give the workers one shared DATA_DIR",
  );
}
