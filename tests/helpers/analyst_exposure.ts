/**
 * What the analyst role could read of credentials and personal data, found in the catalog and in
 * the values: for tests that hold the marts (and every other schema) to "nothing personal where
 * the analyst reads", whatever schema dbt's target names.
 *
 * @module
 */
import type { Sql } from "../../tasks/warehouse/sql_client.ts";

/** Column names that hold a credential or personal data. */
export const PERSONAL_COLUMN =
  /(password|salt|md5|sha1|sha256|hash|first_name|last_name|full_name|email|username|phone|(^|_)cell(_|$)|national_id|picture)/i;

/**
 * `schema.relation.column` of every column the analyst can read whose name is personal or that
 * holds a value of `raw.users`' credentials or personal data (a password, a hash, an email, a
 * username, a phone or cell number, a national id, a picture URL, a full name).
 */
export async function personalDataAnalystReads(sql: Sql): Promise<string[]> {
  const columns = await sql<{ schema: string; relation: string; column: string }[]>`
    select n.nspname as schema, c.relname as relation, a.attname as column
    from pg_attribute as a
    join pg_class as c on c.oid = a.attrelid
    join pg_namespace as n on n.oid = c.relnamespace
    where c.relkind in ('r', 'v', 'm', 'p', 'f') and a.attnum > 0 and not a.attisdropped
      and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_'
      and has_column_privilege('analyst', c.oid, a.attnum, 'select')
    order by 1, 2, 3`;
  // Every personal value once, indexed, in a temporary table of this transaction; values shorter
  // than 8 characters (an empty id, a two-digit number) prove nothing.
  return await sql.begin(async (tx) => {
    await tx`
      create temporary table personal (value text primary key) on commit drop`;
    await tx`
      insert into personal
      select distinct value from raw.users as u
      cross join lateral unnest(array[
        u.login_password, u.login_salt, u.login_md5, u.login_sha1, u.login_sha256, u.email,
        u.login_username, u.phone, u.cell, u.id_value, u.picture_large, u.picture_medium,
        u.picture_thumbnail, u.name_first || ' ' || u.name_last
      ]) as value
      where length(value) >= 8`;
    const found: string[] = [];
    for (const { schema, relation, column } of columns) {
      const name = `${schema}.${relation}.${column}`;
      if (PERSONAL_COLUMN.test(column)) {
        found.push(name);
        continue;
      }
      const [held] = await tx<{ n: number }[]>`
        select count(*)::int as n from (
          select from ${tx(schema)}.${tx(relation)} as t
          where exists (select from personal where personal.value = t.${tx(column)}::text)
          limit 1
        ) as hit`;
      if ((held?.n ?? 0) > 0) found.push(name);
    }
    return found;
  });
}
