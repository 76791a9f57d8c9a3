/**
 * The batch ledger: each load's row in `meta.load_batches` — a succeeded batch recorded in the
 * load's transaction, a failed one after it rolled back — and the last batch, to tell a file
 * that is loaded already.
 *
 * @example
 * ```ts
 * await recordBatch(tx, { ...counts, batchId, ds, file, bytes, sha256, vouched, startedAt });
 * ```
 *
 * @module
 */
import { hostname } from "node:os";
import { isConnectionLoss } from "../shared/errors.ts";
import { RAW_USERS_GATE } from "../warehouse/advisory_lock.ts";
import type { Sql, TransactionSql } from "../warehouse/sql_client.ts";
import type { LoadSummary } from "./load_transaction.ts";
import type { MergeCounts } from "./users_merge.ts";

/** The batch row of a load that succeeded. */
export interface BatchRecord extends MergeCounts {
  readonly batchId: string;
  readonly ds: string;
  readonly file: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly vouched: boolean;
  readonly startedAt: Date;
}

/**
 * Records a succeeded batch in `meta.load_batches`, in the load's transaction, right before it
 * commits: it waits there while a dbt build runs ({@linkcode RAW_USERS_GATE}).
 */
export async function recordBatch(tx: TransactionSql, batch: BatchRecord): Promise<void> {
  await tx`select pg_advisory_xact_lock_shared(hashtext(${RAW_USERS_GATE}))`;
  await tx`
    insert into meta.load_batches (
      batch_id, ds, file, host, status, rows_in_file, bytes, sha256, inserted, updated, deleted,
      unchanged, duplicates, vouched, started_at, finished_at
    ) values (
      ${batch.batchId}, ${batch.ds}::date, ${batch.file}, ${hostname()}, 'succeeded',
      ${batch.rows}, ${batch.bytes}, ${batch.sha256}, ${batch.inserted}, ${batch.updated},
      ${batch.deleted}, ${batch.unchanged}, ${batch.duplicates}, ${batch.vouched},
      ${batch.startedAt}, now()
    )`;
}

/** Records a failed batch in `meta.load_batches` (after the load's transaction rolled back). */
export async function recordFailedBatch(
  sql: Sql,
  batch: {
    batchId: string;
    ds: string;
    file: string;
    error: string;
    vouched: boolean;
    startedAt: Date;
  },
): Promise<void> {
  // Once more on a new connection when the first try met the dying one the load failed on.
  for (let attempt = 1;; attempt++) {
    try {
      await sql`
        insert into meta.load_batches (
          batch_id, ds, file, host, status, error, vouched, started_at, finished_at
        ) values (
          ${batch.batchId}, ${batch.ds}::date, ${batch.file}, ${hostname()}, 'failed',
          ${batch.error}, ${batch.vouched}, ${batch.startedAt}, now()
        )`;
      return;
    } catch (error) {
      if (attempt > 1 || !isConnectionLoss(error)) throw error;
    }
  }
}

/**
 * The last succeeded batch of all, when it loaded `sha256` as `ds` (so loading the file again
 * would change nothing): its counts, as the skipped load's summary.
 */
export async function latestBatchOf(
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
