/**
 * Throwaway databases: an empty database on a server, dropped (with its connections) when it is
 * disposed. Tests and benchmarks create one each, so they never touch a real warehouse.
 *
 * @example
 * ```ts
 * await using db = await createScratchDatabase(serverUrl, { name: "bench_x", max: 2 });
 * await db.sql`select 1`;
 * ```
 *
 * @module
 */
import { connect, type Sql } from "./sql_client.ts";

/** A database created on demand and dropped by `Symbol.asyncDispose`. */
export interface ScratchDatabase extends AsyncDisposable {
  /** Connection URL of this database (password included). */
  readonly url: string;
  readonly name: string;
  readonly sql: Sql;
}

/**
 * Creates the empty database `name` on the server of `serverUrl` (a user that may
 * `CREATE DATABASE`), with a pool of `max` connections; disposing it drops the database.
 */
export async function createScratchDatabase(
  serverUrl: string,
  options: { name: string; max: number },
): Promise<ScratchDatabase> {
  const { name } = options;
  const admin = connect(serverUrl, { max: 1 });
  try {
    await admin`create database ${admin(name)}`;
  } finally {
    await admin.end({ timeout: 1 });
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const sql = connect(url.href, { max: options.max });
  return {
    url: url.href,
    name,
    sql,
    async [Symbol.asyncDispose]() {
      await sql.end({ timeout: 1 });
      const cleanup = connect(serverUrl, { max: 1 });
      try {
        await cleanup`drop database if exists ${cleanup(name)} with (force)`;
      } finally {
        await cleanup.end({ timeout: 1 });
      }
    },
  };
}
