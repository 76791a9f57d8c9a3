/**
 * `raw.users` summed up for tests that must show a table unchanged: its row and id counts and a
 * checksum of every column of every row (a change to any value changes it), not only a count;
 * and the sessions a failed load must not leave open in a transaction.
 *
 * @example
 * ```ts
 * const before = await rawUsersState(fixture.db.sql);
 * assertExit(await fixture.run("load", ["--ds", ds]), 3);
 * assert.deepEqual(await rawUsersState(fixture.db.sql), before);
 * ```
 *
 * @module
 */
import type { Sql } from "../../tasks/warehouse/sql_client.ts";

/** Counts and a checksum of `raw.users`. */
export interface RawUsersState {
  readonly rows: number;
  readonly ids: number;
  /** md5 over the md5 of each whole row in id order; `null` for an empty table. */
  readonly checksum: string | null;
}

/** The state of `raw.users` in the database `sql` is connected to. */
export async function rawUsersState(sql: Sql): Promise<RawUsersState> {
  const [row] = await sql<RawUsersState[]>`
    select count(*)::int as rows, count(distinct id)::int as ids,
           md5(string_agg(md5(u::text), '' order by id)) as checksum
    from raw.users as u`;
  return row ?? { rows: 0, ids: 0, checksum: null };
}

/** Sessions of this database left open in a transaction (a failed load must leave none). */
export async function idleInTransaction(sql: Sql): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from pg_stat_activity
    where datname = current_database() and state like 'idle in transaction%'`;
  return row?.n ?? 0;
}
