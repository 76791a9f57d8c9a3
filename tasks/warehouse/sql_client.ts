/**
 * The postgres.js client every task uses: the `Sql` types, and {@linkcode connect}, a pool with
 * bounded connect and idle times, quiet about notices, that names its process in
 * `pg_stat_activity`.
 *
 * @example
 * ```ts
 * const sql = connect("postgres://app:pw@127.0.0.1:5432/warehouse", { max: 1 });
 * await sql`select 1`;
 * ```
 *
 * @module
 */
import postgres from "postgres";

/** A postgres.js client with the settings every task uses. */
export type Sql = postgres.Sql;
/** The client inside `sql.begin(…)`. */
export type TransactionSql = postgres.TransactionSql;

/**
 * Seconds a connection may take to open. postgres.js times each attempt with it (TCP connect to
 * ready for query) but starts afresh on every reconnect; `openWarehouse` holds the whole opening
 * — probe and first query — to it.
 */
export const CONNECT_TIMEOUT_SECONDS = 10;

/** Options for {@linkcode connect}. */
export interface ConnectOptions {
  max?: number;
}

/** A postgres.js pool for `url`, quiet about notices, with bounded connect and idle times. */
export function connect(url: string, options: ConnectOptions = {}): Sql {
  return postgres(url, {
    max: options.max ?? 4,
    connect_timeout: CONNECT_TIMEOUT_SECONDS,
    idle_timeout: 30,
    onnotice: () => {},
    // Which process holds a connection shows in pg_stat_activity: randomuser-elt:load:12345.
    connection: { application_name: applicationName() },
  });
}

function applicationName(): string {
  const script = Deno.mainModule.split("/").at(-1)?.replace(/\.ts$/, "") ?? "deno";
  return `randomuser-elt:${script}:${Deno.pid}`.slice(0, 63);
}
