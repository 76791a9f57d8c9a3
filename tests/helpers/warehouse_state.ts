/**
 * What a failed or refused command must leave as it was: a checksum of `raw.users` (every column
 * of every row) and one of each table of the `meta` schema, so a test can say "unchanged" of the
 * whole warehouse, or of all of it but the one ledger row the command was meant to add.
 *
 * @example
 * ```ts
 * const before = await warehouseState(sql);
 * assertExit(await fixture.run("load", ["--ds", ds]), 3);
 * assert.deepEqual(await warehouseState(sql), before);
 * ```
 *
 * @module
 */
import type { Sql } from "../../tasks/warehouse/sql_client.ts";
import { type RawUsersState, rawUsersState } from "./raw_users.ts";

/** `raw.users` and the `meta` tables, summed up. */
export interface WarehouseState {
  readonly rawUsers: RawUsersState;
  /** Per `meta` table: its row count and an md5 over its rows (in no particular order). */
  readonly meta: Readonly<Record<string, string>>;
}

/** The state of `raw.users` and of every `meta` table in the database `sql` is connected to. */
export async function warehouseState(sql: Sql): Promise<WarehouseState> {
  const tables = await sql<{ name: string }[]>`
    select table_name as name from information_schema.tables
    where table_schema = 'meta' and table_type = 'BASE TABLE' order by table_name`;
  const meta: Record<string, string> = {};
  for (const { name } of tables) {
    const [row] = await sql<{ rows: number; checksum: string | null }[]>`
      select count(*)::int as rows, md5(string_agg(md5(t::text), '' order by md5(t::text)))
        as checksum
      from ${sql("meta")}.${sql(name)} as t`;
    meta[name] = `${row?.rows ?? 0} rows, md5 ${row?.checksum ?? "-"}`;
  }
  return { rawUsers: await rawUsersState(sql), meta };
}
