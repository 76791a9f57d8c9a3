/**
 * Opening the warehouse: PostgreSQL at `DATABASE_URL`, or, when it is unset, the embedded
 * PostgreSQL (started on first use); the first query says whether it answers, and a failure is
 * classified — a refused login or a missing database will not heal, a refused connection may.
 *
 * @example
 * ```ts
 * await using warehouse = await openWarehouse(config.warehouse);
 * const [{ now }] = await warehouse.sql`select now()`;
 * ```
 *
 * @module
 */
import postgres from "postgres";
import { errorMessage, TerminalError, TransientError } from "../shared/errors.ts";
import type { Logger } from "../shared/logger.ts";
import { redactUrl } from "../shared/redact_url.ts";
import { ensureEmbeddedWarehouse } from "./embedded_postgres.ts";
import { connect, type Sql } from "./sql_client.ts";

/** An open warehouse connection pool. */
export interface Warehouse extends AsyncDisposable {
  readonly sql: Sql;
  /** The connection URL, password included: never log it (use `displayUrl`). */
  readonly url: string;
  /** The URL with its password hidden. */
  readonly displayUrl: string;
  /** True when this is the embedded PostgreSQL in `<DATA_DIR>/warehouse`. */
  readonly embedded: boolean;
  /** True when opening it started the embedded server (it keeps running after `close`). */
  readonly startedServer: boolean;
  close(): Promise<void>;
}

/** Which warehouse: the server at `url`, or — when it is `undefined` — the embedded one. */
export interface WarehouseTarget {
  /** `DATABASE_URL`; `undefined` means the embedded PostgreSQL in `embeddedDir`. */
  readonly url: string | undefined;
  readonly embeddedDir: string;
}

/** Options for {@linkcode openWarehouse}. */
export interface OpenWarehouseOptions {
  logger?: Logger;
  /** Connections in the pool; default 4. */
  max?: number;
}

/**
 * Connects to the warehouse and checks that it answers. Throws a {@linkcode TransientError}
 * naming the (password-free) URL when it cannot be reached.
 */
export async function openWarehouse(
  target: WarehouseTarget,
  options: OpenWarehouseOptions = {},
): Promise<Warehouse> {
  let url = target.url;
  const embedded = url === undefined;
  let startedServer = false;
  if (url === undefined) {
    const server = await ensureEmbeddedWarehouse(target.embeddedDir, options);
    url = server.url;
    startedServer = server.started;
  }
  const sql = connect(url, { max: options.max ?? 4 });
  const displayUrl = redactUrl(url);
  try {
    await sql`select 1`;
  } catch (error) {
    await sql.end({ timeout: 1 });
    throw connectionError(error, {
      displayUrl,
      hint: embedded
        ? `see ${target.embeddedDir}/postgres.log`
        : "is PostgreSQL running, and is DATABASE_URL right?",
    });
  }
  const close = () => sql.end({ timeout: 5 });
  return { sql, url, displayUrl, embedded, startedServer, close, [Symbol.asyncDispose]: close };
}

/**
 * Classifies a failed first query: wrong credentials or a missing database will not heal
 * ({@linkcode TerminalError}); a refused or dropped connection may ({@linkcode TransientError}).
 */
function connectionError(error: unknown, context: { displayUrl: string; hint: string }): Error {
  const code = error instanceof postgres.PostgresError ? error.code : undefined;
  const detail = errorMessage(error);
  if (code === "28P01" || code === "28000") {
    return new TerminalError(
      `the warehouse at ${context.displayUrl} refused the login: ${detail}. ` +
        "Check the user and password in DATABASE_URL.",
      { cause: error },
    );
  }
  if (code === "3D000") {
    return new TerminalError(
      `the warehouse at ${context.displayUrl} has no such database: ${detail}. ` +
        "Create it, or fix the database name in DATABASE_URL.",
      { cause: error },
    );
  }
  return new TransientError(
    `cannot reach the warehouse at ${context.displayUrl}: ${detail}; ${context.hint}`,
    { cause: error },
  );
}
