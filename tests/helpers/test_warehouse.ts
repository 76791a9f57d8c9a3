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
import { ensureEmbeddedWarehouse } from "../../tasks/warehouse/embedded_postgres.ts";
import {
  createScratchDatabase,
  type ScratchDatabase,
} from "../../tasks/warehouse/scratch_database.ts";

/** A database created for one test and dropped by `Symbol.asyncDispose`. */
export type TestDatabase = ScratchDatabase;

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
