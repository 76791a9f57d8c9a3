/**
 * How a load writes `raw.users`, inside the load's transaction: straight by COPY when a ds loads
 * for the first time (as fast as `psql \copy`), or through a temporary staging table merged by id
 * — rows that changed are updated, unchanged ones are not rewritten, and rows of the ds that a
 * vouched file no longer has are deleted — with the batch recorded in `meta.load_batches`.
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
import { hostname } from "node:os";
import type postgres from "postgres";
import { isConnectionLoss, TerminalError } from "../shared/errors.ts";
import { RAW_USERS_GATE } from "../warehouse/advisory_lock.ts";
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

/** What the merge of a staged file changed. */
export interface MergeCounts {
  readonly rows: number;
  readonly inserted: number;
  readonly updated: number;
  readonly deleted: number;
  readonly unchanged: number;
  /** Rows whose id came earlier in the file (the first is kept). */
  readonly duplicates: number;
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

/** Whether `error` is the unique violation a direct COPY meets when an id already exists. */
export function isExistingRow(error: unknown): boolean {
  return (error as { code?: unknown }).code === "23505";
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

/**
 * Merges the staging table into `raw.users`: upsert by id (only changed rows are written), and —
 * for a vouched file — delete the ds's rows the file no longer has. A file that repeats an id
 * keeps each id's first row, on a first load as on a reload; the later ones are counted as
 * duplicates.
 */
export async function mergeStage(
  tx: TransactionSql,
  options: { ds: string; batchId: string; columns: readonly string[]; deleteMissing: boolean },
): Promise<MergeCounts> {
  // Counting the distinct ids costs a sort of the staged ids in memory (~70 ms at 200 000 rows);
  // the extract never repeats one, so the repeated rows are looked for only when there are some.
  const [staged] = await tx<{ rows: number; repeated: boolean }[]>`
    select count(*)::int as rows, count(login_uuid) > count(distinct login_uuid) as repeated
    from users_stage`;
  const rows = staged?.rows ?? 0;
  // Before the upsert, not when it fails: it would fail only when both rows reach the insert, and
  // a changed later row would overwrite an unchanged first one that the upsert leaves out.
  const duplicates = staged?.repeated ? await dropRepeatedIds(tx) : 0;
  const merged = await upsert(tx, options);
  const deleted = options.deleteMissing
    ? (await tx`
      delete from raw.users as target
      where target._ds = ${options.ds}::date
        and not exists (select 1 from users_stage as s where s.login_uuid = target.id)`).count
    : 0;
  return {
    rows,
    inserted: merged.inserted,
    updated: merged.updated,
    deleted,
    unchanged: rows - duplicates - merged.inserted - merged.updated,
    duplicates,
  };
}

/** Deletes every staged row whose id came earlier in the file; returns how many. */
async function dropRepeatedIds(tx: TransactionSql): Promise<number> {
  const removed = await tx`
    delete from users_stage as s
    using (
      select _row, row_number() over (partition by login_uuid order by _row) as n
      from users_stage
      where login_uuid is not null
    ) as ranked
    where s._row = ranked._row and ranked.n > 1`;
  return removed.count;
}

async function upsert(
  tx: TransactionSql,
  options: { ds: string; batchId: string; columns: readonly string[] },
): Promise<{ inserted: number; updated: number }> {
  const { columns } = options;
  const ds = tx`${options.ds}::date`;
  const stored = commaList(tx, { columns, render: (name) => tx`t.${tx(name)}` });
  const staged = commaList(tx, { columns, render: (name) => tx`s.${tx(name)}` });
  const [counts] = await tx<{ inserted: number; updated: number }[]>`
    with upserted as (
      insert into raw.users as target (${tx(columns)}, _ds, _batch_id, _loaded_at)
      select ${tx(columns)}, ${ds}, ${options.batchId}, now() from users_stage as s
      -- Unchanged rows are left out before the insert: ON CONFLICT would lock each one (a write
      -- to every page of the ds) only for its WHERE to skip it (1.18 -> 0.49 s at 200 000 rows).
      where not exists (
        select from raw.users as t
        where t.id = s.login_uuid and (${stored}, t._ds) is not distinct from (${staged}, ${ds}))
      on conflict (id) do update set
        ${commaList(tx, { columns, render: (name) => tx`${tx(name)} = excluded.${tx(name)}` })},
        _ds = excluded._ds, _batch_id = excluded._batch_id, _loaded_at = excluded._loaded_at
      where (${commaList(tx, { columns, render: (name) => tx`target.${tx(name)}` })}, target._ds)
        is distinct from
        (${commaList(tx, { columns, render: (name) => tx`excluded.${tx(name)}` })}, excluded._ds)
      returning (xmax = 0) as inserted
    )
    select count(*) filter (where inserted)::int as inserted,
           count(*) filter (where not inserted)::int as updated
    from upserted`;
  return { inserted: counts?.inserted ?? 0, updated: counts?.updated ?? 0 };
}

/** The fragments `render(name)` for each column, separated by commas. */
function commaList(
  sql: TransactionSql,
  { columns, render }: {
    columns: readonly string[];
    render: (name: string) => postgres.PendingQuery<postgres.Row[]>;
  },
) {
  return columns.map((name, i) => sql`${i ? sql`, ` : sql``}${render(name)}`);
}

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
