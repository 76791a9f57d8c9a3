/**
 * A checksum per table of the marts (schema `analytics`), for tests that check a re-run changes
 * no mart row.
 *
 * @module
 */
import type { Sql } from "../../tasks/warehouse/sql_client.ts";

/** `{ table: md5 of its rows }` for every table and view in `analytics`. */
export async function martChecksums(sql: Sql): Promise<Record<string, string>> {
  const tables = await sql<{ name: string }[]>`
    select table_name as name from information_schema.tables
    where table_schema = 'analytics' order by 1`;
  const sums: Record<string, string> = {};
  for (const { name } of tables) {
    const [row] = await sql<{ sum: string }[]>`
      select md5(coalesce(string_agg(t::text, '|' order by t::text), '')) as sum
      from ${sql("analytics")}.${sql(name)} as t`;
    sums[name] = row?.sum ?? "";
  }
  return sums;
}
