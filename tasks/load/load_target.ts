/**
 * Where a load's COPY goes, inside the load's transaction: straight into `raw.users` when a ds
 * loads for the first time (as fast as `psql \copy`), else into a temporary staging table that
 * `users_merge.ts` merges — and what it needs to know of the server and the table to open it.
 *
 * @example
 * ```ts
 * await sql.begin(async (tx) => {
 *   const target = await openLoadTarget(tx, { ds, batchId, header, columns, direct: true });
 *   … write the CSV into target.copy …
 * });
 * ```
 *
 * @module
 */
import { TerminalError } from "../shared/errors.ts";
import type { Sql, TransactionSql } from "../warehouse/sql_client.ts";
import { CopyWriter } from "./copy_writer.ts";

/** Load-metadata columns of `raw.users`, written by the loader rather than read from the CSV. */
const METADATA_COLUMNS = new Set(["id", "_ds", "_batch_id", "_loaded_at"]);

/** Where one load's COPY goes, and the columns it carries. */
export interface LoadTarget {
  /** `raw`: straight into raw.users (a first load); `stage`: into the staging table. */
  readonly kind: "raw" | "stage";
  readonly copy: CopyWriter;
}

/** Options for {@linkcode openLoadTarget}. */
export interface LoadTargetOptions {
  ds: string;
  batchId: string;
  /** The CSV header, as the file has it. */
  header: readonly string[];
  /** The data columns of raw.users. */
  columns: readonly string[];
  /** Try COPY straight into raw.users when no row of the ds is there yet. */
  direct: boolean;
  /** `match` on PostgreSQL 15+, where COPY checks the header names itself; else `true`. */
  headerMatch: boolean;
}

// The staging merge sorts and hashes the staged ids; 64 MB keeps that in memory well past a
// million rows instead of spilling to disk (issue 18: 4.2 s → see README › Performance).
const MERGE_WORK_MEM = "64MB";

/**
 * Takes the ds's load lock and opens the COPY of this load: straight into `raw.users` (under a
 * savepoint, with the load metadata from `SET LOCAL` settings that the table's defaults read) when
 * `direct` and the ds has no row yet, else into a fresh staging table.
 */
export async function openLoadTarget(
  tx: TransactionSql,
  options: LoadTargetOptions,
): Promise<LoadTarget> {
  await tx`select pg_advisory_xact_lock(hashtext('randomuser-elt:load'), hashtext(${options.ds}))`;
  const header = options.headerMatch ? tx`match` : tx`true`;
  if (options.direct) {
    const [existing] = await tx`
      select 1 from raw.users where _ds = ${options.ds}::date limit 1`;
    if (!existing) {
      await tx`select set_config('randomuser_elt.load_ds', ${options.ds}, true),
                      set_config('randomuser_elt.batch_id', ${options.batchId}, true)`;
      await tx`savepoint direct_copy`;
      const copy = await CopyWriter.open(
        tx`copy raw.users (${tx(options.header)}) from stdin with (format csv, header ${header})`,
      );
      return { kind: "raw", copy };
    }
  }
  return { kind: "stage", copy: await openStage(tx, options) };
}

/**
 * After a direct COPY failed on an id that is already in `raw.users` (another ds has the user):
 * back to the savepoint, and a staging COPY to merge instead.
 */
export async function fallBackToStage(
  tx: TransactionSql,
  options: LoadTargetOptions,
): Promise<LoadTarget> {
  await tx`rollback to savepoint direct_copy`;
  return { kind: "stage", copy: await openStage(tx, options) };
}

async function openStage(tx: TransactionSql, options: LoadTargetOptions): Promise<CopyWriter> {
  const header = options.headerMatch ? tx`match` : tx`true`;
  await tx`select set_config('work_mem', ${MERGE_WORK_MEM}, true)`;
  await tx`
    create temp table users_stage on commit drop as
    select ${tx(options.columns)} from raw.users with no data`;
  await tx`alter table users_stage add column _row bigint generated always as identity`;
  return await CopyWriter.open(
    tx`copy users_stage (${tx(options.header)}) from stdin with (format csv, header ${header})`,
  );
}

/** The data columns of `raw.users` (those a CSV carries), in table order. */
export async function tableColumns(sql: Sql): Promise<string[]> {
  const rows = await sql<{ column_name: string }[]>`
    select column_name from information_schema.columns
    where table_schema = 'raw' and table_name = 'users'
    order by ordinal_position`;
  if (rows.length === 0) {
    throw new TerminalError("the table raw.users does not exist; run `deno task migrate` first");
  }
  return rows.map((row) => row.column_name).filter((name) => !METADATA_COLUMNS.has(name));
}

/** Whether the server's COPY checks a CSV header's names itself (`header match`, PostgreSQL 15+). */
export async function copyMatchesHeader(sql: Sql): Promise<boolean> {
  return Number((await sql`show server_version_num`)[0]?.server_version_num) >= 150000;
}
