/**
 * A database that must exist on the warehouse's server beside the warehouse — Metabase's
 * application database in the stack — created when it is missing, so it exists on every start
 * and not only when an init script ran on an empty data directory.
 *
 * @example
 * ```ts
 * const created = await ensureDatabase(warehouse.sql, "metabase");
 * ```
 *
 * @module
 */
import { TerminalError } from "../shared/errors.ts";
import type { Sql } from "./sql_client.ts";
import { isDuplicateDatabase, isInsufficientPrivilege } from "./warehouse_errors.ts";

/**
 * Creates database `name` on the server `sql` is connected to unless it exists; returns whether
 * it created it. Two runs at once are fine (the loser sees the winner's database).
 */
export async function ensureDatabase(sql: Sql, name: string): Promise<boolean> {
  const [existing] = await sql`select 1 from pg_database where datname = ${name}`;
  if (existing) return false;
  try {
    await sql`create database ${sql(name)}`;
    return true;
  } catch (error) {
    if (isDuplicateDatabase(error)) return false; // created by a concurrent run
    if (isInsufficientPrivilege(error)) {
      throw new TerminalError(
        `the DATABASE_URL role lacks the CREATEDB privilege, so database ${name} cannot be ` +
          `made: a superuser can give the role CREATEDB, or make ${name} once`,
        { cause: error },
      );
    }
    throw error;
  }
}
