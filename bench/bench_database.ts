/**
 * The PostgreSQL server a benchmark runs on, and the scratch databases it creates there and
 * drops afterwards. The benchmark truncates and reloads `raw.users` many times, so it never
 * writes into a named database, not even the one `DATABASE_URL` names.
 *
 * The server is the first of: `BENCH_DATABASE_URL`; the server of `DATABASE_URL`; the local
 * `postgres://postgres@127.0.0.1:5432/postgres` when it answers; the embedded warehouse in
 * `DATA_DIR/warehouse` (started when needed).
 *
 * @example
 * ```ts
 * const server = await chooseBenchServer({ benchUrl: undefined, config });
 * await using db = await createBenchDatabase(server, "load");
 * await db.sql`select 1`;
 * ```
 *
 * @module
 */
import postgres from "postgres";
import { errorMessage } from "../tasks/shared/errors.ts";
import { redactUrl } from "../tasks/shared/redact_url.ts";
import { ensureEmbeddedWarehouse } from "../tasks/warehouse/embedded_postgres.ts";
import { createScratchDatabase } from "../tasks/warehouse/scratch_database.ts";
import { connect, type Sql } from "../tasks/warehouse/sql_client.ts";
import type { WarehouseTarget } from "../tasks/warehouse/warehouse.ts";

/** The local server tried when neither variable names one. */
export const LOCAL_SERVER_URL = "postgres://postgres@127.0.0.1:5432/postgres";

/** Where the scratch databases live. */
export interface BenchServer {
  /** A URL of the server (any database on it); never print it, use `displayUrl`. */
  readonly url: string;
  readonly displayUrl: string;
  /** How it was chosen, for the report. */
  readonly source: "BENCH_DATABASE_URL" | "DATABASE_URL" | "local server" | "embedded warehouse";
  /** `server_version`, e.g. `15.20 (Debian 15.20-0+deb12u1)`. */
  readonly version: string;
  /** Why an earlier choice was passed over, if one was. */
  readonly note?: string;
}

/** Options for {@linkcode chooseBenchServer}. */
export interface ChooseServerOptions {
  /** `BENCH_DATABASE_URL`, when set. */
  benchUrl: string | undefined;
  /** The pipeline's own warehouse setting (`DATABASE_URL`, else the embedded one). */
  warehouse: WarehouseTarget;
}

/** Picks the server (see the module documentation) and checks that it answers. */
export async function chooseBenchServer(options: ChooseServerOptions): Promise<BenchServer> {
  if (options.benchUrl) return await describe(options.benchUrl, "BENCH_DATABASE_URL");
  if (options.warehouse.url) return await describe(options.warehouse.url, "DATABASE_URL");
  let note: string;
  try {
    return await describe(LOCAL_SERVER_URL, "local server");
  } catch (error) {
    note = errorMessage(error);
  }
  const server = await ensureEmbeddedWarehouse(options.warehouse.embeddedDir);
  return { ...await describe(server.url, "embedded warehouse"), note };
}

/** A scratch database, dropped by `Symbol.asyncDispose`. */
export interface BenchDatabase extends AsyncDisposable {
  readonly name: string;
  /** Its URL (password included: pass it to subprocesses, never print it). */
  readonly url: string;
  readonly sql: Sql;
}

/** Creates an empty database `bench_<random>_<label>` on `server`. */
export async function createBenchDatabase(
  server: BenchServer,
  label: string,
): Promise<BenchDatabase> {
  const name = `bench_${crypto.randomUUID().slice(0, 8)}_${label}`;
  try {
    return await createScratchDatabase(server.url, { name, max: 2 });
  } catch (error) {
    throw new Error(
      `cannot create a scratch database on ${server.displayUrl} (${server.source}): ` +
        `${errorMessage(error)}. Set BENCH_DATABASE_URL to a server where this user may ` +
        "CREATE DATABASE.",
      { cause: error },
    );
  }
}

async function describe(url: string, source: BenchServer["source"]): Promise<BenchServer> {
  const sql = connect(url, { max: 1 });
  try {
    const [row] = await sql<{ server_version: string }[]>`show server_version`;
    return { url, displayUrl: redactUrl(url), source, version: row?.server_version ?? "?" };
  } catch (error) {
    const detail = error instanceof postgres.PostgresError ? error.message : errorMessage(error);
    throw new Error(`the ${source} server at ${redactUrl(url)} does not answer: ${detail}`, {
      cause: error,
    });
  } finally {
    await sql.end({ timeout: 1 });
  }
}
