/**
 * A fresh PostgreSQL database per test, on real PostgreSQL: the server at `TEST_DATABASE_URL`
 * (which `deno task test` sets, starting an embedded server when the variable was not given),
 * or, when a test file runs alone, the embedded server in `data/test-warehouse`.
 *
 * @example
 * ```ts
 * await using db = await createTestDatabase();
 * await db.sql`select 1`;
 * ```
 *
 * @module
 */
import { resolve } from "node:path";
import { connect, ensureEmbeddedWarehouse, type Sql } from "../../tasks/warehouse.ts";

/** A database created for one test and dropped by `Symbol.asyncDispose`. */
export interface TestDatabase extends AsyncDisposable {
  /** Connection URL of this database (password included). */
  readonly url: string;
  readonly name: string;
  readonly sql: Sql;
}

let serverUrl: Promise<string> | undefined;

/** The URL of the test server's maintenance database. */
export function testServerUrl(): Promise<string> {
  serverUrl ??= (async () => {
    const given = Deno.env.get("TEST_DATABASE_URL");
    if (given) return given;
    const server = await ensureEmbeddedWarehouse(resolve("data/test-warehouse"));
    return server.url;
  })();
  return serverUrl;
}

/** Creates an empty database with a unique name on the test server. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `relt_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  return await createScratchDatabase(await testServerUrl(), { name, max: 4 });
}

/**
 * Creates the empty database `name` on the server of `serverUrl` (a user that may
 * `CREATE DATABASE`), with a pool of `max` connections; disposing it drops the database.
 * Tests and benchmarks both use it.
 */
export async function createScratchDatabase(
  serverUrl: string,
  options: { name: string; max: number },
): Promise<TestDatabase> {
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
