/**
 * Loads one landing-zone CSV into `raw.users` in a single transaction: the file must be vouched
 * for by its manifest (rows, bytes, SHA-256, columns, ds), its header must match the table, it is
 * streamed with `COPY … FROM STDIN` into a temporary staging table, then merged (upsert by id,
 * and rows of the same ds that a vouched file no longer has are removed), and the batch is
 * recorded in `meta.load_batches`. Any failure leaves `raw.users` as it was. A hand-made file
 * loads only when asked (`unvouched`), and then never deletes a row.
 *
 * @example
 * ```ts
 * const summary = await loadUsers(warehouse.sql, { ds: "2026-01-01", files });
 * console.log(summary.inserted, summary.updated, summary.deleted);
 * ```
 *
 * @module
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { parse as parseCsv } from "csv-parse/sync";
import { ulid } from "ulid";
import {
  errorMessage,
  isTransientPostgresError,
  TerminalError,
  TransientError,
} from "../shared/errors.ts";
import type { Logger } from "../shared/logger.ts";
import {
  describeMismatch,
  type LandingManifest,
  type ObservedFile,
  readManifest,
} from "../landing/landing_manifest.ts";
import { checkLandingKinds, type LandingFiles } from "../landing/landing_zone.ts";
import postgres from "postgres";
import type { Sql, TransactionSql } from "../warehouse/sql_client.ts";
import { type CopyQuery, serverErrorOf } from "./postgres_workarounds.ts";

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
  readonly seconds: number;
}

/** Load-metadata columns of `raw.users`, written by the loader rather than read from the CSV. */
const METADATA_COLUMNS = new Set(["id", "_ds", "_batch_id", "_loaded_at"]);
const HEADER_PROBE_BYTES = 64 * 1024;
const UTF8_BOM = [0xef, 0xbb, 0xbf];

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
    const version = Number((await sql`show server_version_num`)[0]?.server_version_num);
    // PostgreSQL 15+ also checks the header names against the column list itself.
    const headerOption = version >= 150000 ? sql`match` : sql`true`;
    const result = await sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(hashtext('randomuser-elt:load'), hashtext(${ds}))`;
      await tx`
        create temp table users_stage on commit drop as
        select ${tx(columns)} from raw.users with no data`;
      await tx`alter table users_stage add column _row bigint generated always as identity`;
      copied = await copyFile(
        tx`copy users_stage (${tx(header)}) from stdin with (format csv, header ${headerOption})`,
        file,
      );
      const [counts] = await tx<{ rows: number; distinct: number }[]>`
        select count(*)::int as rows, count(distinct login_uuid)::int as distinct from users_stage`;
      const rows = counts?.rows ?? 0;
      const distinct = counts?.distinct ?? 0;
      // What was copied is what the manifest vouches for, or nothing is merged (the file may
      // have changed since it was measured above).
      vouch({ rows, bytes: copied.bytes, sha256: copied.sha256 });
      const [merged] = await tx<{ inserted: number; updated: number }[]>`
        with source as (
          select distinct on (login_uuid) ${tx(columns)}
          from users_stage
          order by login_uuid, _row
        ), upserted as (
          insert into raw.users as target (${tx(columns)}, _ds, _batch_id, _loaded_at)
          select ${tx(columns)}, ${ds}::date, ${batchId}, now() from source
          on conflict (id) do update set
            ${commaList(tx, { columns, render: (name) => tx`${tx(name)} = excluded.${tx(name)}` })},
            _ds = excluded._ds, _batch_id = excluded._batch_id, _loaded_at = excluded._loaded_at
          where (${
        commaList(tx, { columns, render: (name) => tx`target.${tx(name)}` })
      }, target._ds)
            is distinct from (${
        commaList(tx, { columns, render: (name) => tx`excluded.${tx(name)}` })
      },
                              excluded._ds)
          returning (xmax = 0) as inserted
        )
        select count(*) filter (where inserted)::int as inserted,
               count(*) filter (where not inserted)::int as updated
        from upserted`;
      // Only a file its manifest vouches for says which users the ds no longer has.
      const deleted = vouched
        ? await tx`
          delete from raw.users as target
          where target._ds = ${ds}::date
            and not exists (select 1 from users_stage as s where s.login_uuid = target.id)`
        : { count: 0 };
      const inserted = merged?.inserted ?? 0;
      const updated = merged?.updated ?? 0;
      const summary = {
        rows,
        inserted,
        updated,
        deleted: deleted.count,
        unchanged: distinct - inserted - updated,
        duplicates: rows - distinct,
      };
      await tx`
        insert into meta.load_batches (
          batch_id, ds, file, status, rows_in_file, bytes, sha256, inserted, updated, deleted,
          unchanged, duplicates, vouched, started_at, finished_at
        ) values (
          ${batchId}, ${ds}::date, ${file}, 'succeeded', ${rows}, ${copied.bytes}, ${copied.sha256},
          ${inserted}, ${updated}, ${summary.deleted}, ${summary.unchanged}, ${summary.duplicates},
          ${vouched}, ${startedAt}, now()
        )`;
      return summary;
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

/**
 * Throws a {@linkcode TerminalError} that says how `observed` differs from what the manifest
 * vouches for (or that there is no manifest), and what to do; returns when the file is vouched.
 */
function refuseUnvouched(
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

async function readHeader(file: string): Promise<string[]> {
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

async function tableColumns(sql: Sql): Promise<string[]> {
  const rows = await sql<{ column_name: string }[]>`
    select column_name from information_schema.columns
    where table_schema = 'raw' and table_name = 'users'
    order by ordinal_position`;
  if (rows.length === 0) {
    throw new TerminalError("the table raw.users does not exist; run `deno task migrate` first");
  }
  return rows.map((row) => row.column_name).filter((name) => !METADATA_COLUMNS.has(name));
}

function checkHeader(
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

/**
 * Streams `file` into a `COPY … FROM STDIN` and returns its size and SHA-256. A COPY the server
 * refuses fails at once (see `serverErrorOf`, porsager/postgres#1173).
 */
async function copyFile(
  query: CopyQuery,
  file: string,
): Promise<{ bytes: number; sha256: string }> {
  const serverError = serverErrorOf(query);
  const hash = createHash("sha256");
  let bytes = 0;
  const measure = new Transform({
    transform(chunk: Uint8Array, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      callback(null, chunk);
    },
  });
  const writable = await Promise.race([query.writable(), serverError]);
  // When the server rejects the data, stop reading the file at once.
  const stop = new AbortController();
  serverError.catch((error) => stop.abort(error));
  const copying = pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), measure, writable, {
    signal: stop.signal,
  });
  copying.catch(() => {}); // raced below; the server's error is the one reported
  await Promise.race([copying, serverError]);
  return { bytes, sha256: hash.digest("hex") };
}

/** Turns a load failure into a message that names the file, says that nothing changed and what to do. */
function describeLoadError(error: unknown, file: string): Error {
  if (error instanceof TerminalError || error instanceof TransientError) return error;
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

async function recordFailedBatch(
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
  await sql`
    insert into meta.load_batches (
      batch_id, ds, file, status, error, vouched, started_at, finished_at
    ) values (
      ${batch.batchId}, ${batch.ds}::date, ${batch.file}, 'failed', ${batch.error},
      ${batch.vouched}, ${batch.startedAt}, now()
    )`;
}
