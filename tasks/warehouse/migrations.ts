/**
 * Versioned warehouse migrations: the files `sql/migrations/NNNN_name.sql`, each applied once,
 * in order, under a ledger table (`meta.schema_migrations`) and an advisory lock, so concurrent
 * runs are safe. Migrations never drop data; {@linkcode resetWarehouse} is the explicit path.
 *
 * @example
 * ```ts
 * const { applied } = await migrate(warehouse.sql);
 * ```
 *
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { TerminalError } from "../shared/errors.ts";
import { MIGRATIONS_DIR } from "../shared/paths.ts";
import type { Sql, TransactionSql } from "./sql_client.ts";

/** One migration file. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly file: string;
  readonly sql: string;
  readonly checksum: string;
}

const FILE_NAME = /^(\d{4})_([a-z0-9_]+)\.sql$/;
// Statements that destroy data. Migrations may create and alter, never these. `drop` is allowed
// only for objects that hold no data of their own (an index, a constraint, a default, …).
const DESTRUCTIVE = /\bdrop\s+(\w+(?:\s+null\b)?)|\btruncate\b|\bdelete\s+from\b/gi;
const HARMLESS_DROP =
  /^(index|constraint|default|not\s+null|trigger|function|procedure|view|policy|expression|identity)\b/i;

/** Reads and checks the migration files of `dir`, sorted by version. */
export async function readMigrations(dir: string = MIGRATIONS_DIR): Promise<Migration[]> {
  const migrations: Migration[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile || !entry.name.endsWith(".sql")) continue;
    const match = FILE_NAME.exec(entry.name);
    if (!match) {
      throw new TerminalError(
        `migration file name ${entry.name} is not NNNN_lowercase_name.sql (e.g. 0003_add_roles.sql)`,
      );
    }
    const sql = await Deno.readTextFile(join(dir, entry.name));
    const destructive = destructiveStatement(sql);
    if (destructive) {
      throw new TerminalError(
        `migration ${entry.name} contains "${destructive}": migrations never drop data. ` +
          "Write an additive migration; dropping the raw schema is `deno task reset --yes`.",
      );
    }
    migrations.push({
      version: Number(match[1]),
      name: match[2] ?? "",
      file: entry.name,
      sql,
      checksum: createHash("sha256").update(sql).digest("hex"),
    });
  }
  migrations.sort((a, b) => a.version - b.version);
  for (let i = 1; i < migrations.length; i++) {
    if (migrations[i]?.version === migrations[i - 1]?.version) {
      throw new TerminalError(`two migrations have version ${migrations[i]?.version}`);
    }
  }
  return migrations;
}

/** The outcome of {@linkcode migrate}. */
export interface MigrateResult {
  /** Migrations applied by this call, in order. */
  readonly applied: readonly Migration[];
  /** The version the warehouse is at now. */
  readonly version: number;
}

/**
 * Applies pending migrations in one transaction, holding an advisory lock so a concurrent
 * `migrate` waits and then finds nothing to do. A migration edited after it was applied is an
 * error: add a new one instead.
 */
export async function migrate(sql: Sql, options: { dir?: string } = {}): Promise<MigrateResult> {
  const migrations = await readMigrations(options.dir);
  return await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtext('randomuser-elt:migrate'))`;
    await tx`create schema if not exists meta`;
    await tx`
      create table if not exists meta.schema_migrations (
        version integer primary key,
        name text not null,
        checksum text not null,
        applied_at timestamptz not null default now()
      )`;
    const rows = await tx<{ version: number; checksum: string; name: string }[]>`
      select version, checksum, name from meta.schema_migrations order by version`;
    const applied = new Map(rows.map((row) => [row.version, row]));
    for (const migration of migrations) {
      const done = applied.get(migration.version);
      if (done && done.checksum !== migration.checksum) {
        throw new TerminalError(
          `migration ${migration.file} was changed after it was applied; ` +
            "restore it and put the change in a new migration file",
        );
      }
    }
    const pending = migrations.filter((migration) => !applied.has(migration.version));
    for (const migration of pending) {
      await tx.unsafe(migration.sql).simple();
      await tx`
        insert into meta.schema_migrations (version, name, checksum)
        values (${migration.version}, ${migration.name}, ${migration.checksum})`;
    }
    const version = Math.max(0, ...migrations.map((m) => m.version), ...applied.keys());
    return { applied: pending, version };
  });
}

/**
 * Lets the read-only `analyst` role (created by the migrations) log in with `password`. The
 * password travels as a bound parameter, never inside SQL text.
 */
export async function setAnalystPassword(sql: Sql, password: string): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`select set_config('randomuser_elt.analyst_password', ${password}, true)`;
    await tx`
      do $$
      begin
        execute format('alter role analyst with login password %L',
                       current_setting('randomuser_elt.analyst_password'));
      end
      $$`;
  });
}

/**
 * Every schema the project creates, which {@linkcode resetWarehouse} drops: `raw` and `meta` from
 * the migrations, `staging` and `analytics` from dbt (dbt_project.yml's `+schema`, used verbatim
 * by the project's `generate_schema_name`; `analytics` is also the profile's target schema).
 */
export const PIPELINE_SCHEMAS = ["raw", "meta", "staging", "analytics"] as const;

/** What {@linkcode resetWarehouse} did. */
export interface ResetOutcome {
  /** False when objects outside the schemas depend on them and `cascade` was not given. */
  readonly dropped: boolean;
  /** Those objects, as PostgreSQL names them (`view public.v`), dropped too when `dropped`. */
  readonly outside: readonly string[];
}

/**
 * Drops every schema the pipeline owns, with all their data: the explicit, confirmed path
 * behind `deno task reset --yes`. Never called by another task. When objects outside those
 * schemas depend on them (a view in `public` over `raw.users`, a foreign key to it), nothing is
 * dropped unless `cascade`: `drop schema … cascade` would take them silently.
 */
export async function resetWarehouse(
  sql: Sql,
  options: { cascade: boolean },
): Promise<ResetOutcome> {
  return await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtext('randomuser-elt:migrate'))`;
    const outside = await dependentsOutside(tx, PIPELINE_SCHEMAS);
    if (outside.length > 0 && !options.cascade) return { dropped: false, outside };
    for (const schema of PIPELINE_SCHEMAS) await tx`drop schema if exists ${tx(schema)} cascade`;
    return { dropped: true, outside };
  });
}

/**
 * The objects outside `schemas` that depend, directly or through others, on objects in them —
 * what `drop schema … cascade` would drop besides the schemas' own. A view's rule stands for its
 * view; an object without a schema of its own (a default, a trigger, a policy) belongs to its
 * table's; one with none at all (a cast) counts as outside.
 */
async function dependentsOutside(
  sql: TransactionSql,
  schemas: readonly string[],
): Promise<string[]> {
  const rows = await sql<{ object: string }[]>`
    with recursive found (classid, objid, part) as (
      select 'pg_namespace'::regclass::oid, oid, false from pg_namespace
      where nspname = any(${schemas})
      union
      select
        case when d.classid = 'pg_rewrite'::regclass then 'pg_class'::regclass::oid
          else d.classid end,
        case when d.classid = 'pg_rewrite'::regclass
          then (select ev_class from pg_rewrite where oid = d.objid) else d.objid end,
        d.deptype = 'i'
      from pg_depend as d join found as f on d.refclassid = f.classid and d.refobjid = f.objid
      where d.deptype in ('n', 'a', 'i')
    ),
    placed as (
      select classid, objid, case classid
        when 'pg_class'::regclass then (select relnamespace from pg_class where oid = objid)
        when 'pg_type'::regclass then (select typnamespace from pg_type where oid = objid)
        when 'pg_proc'::regclass then (select pronamespace from pg_proc where oid = objid)
        when 'pg_constraint'::regclass then
          (select connamespace from pg_constraint where oid = objid)
        when 'pg_attrdef'::regclass then (select c.relnamespace from pg_attrdef as a
          join pg_class as c on c.oid = a.adrelid where a.oid = objid)
        when 'pg_trigger'::regclass then (select c.relnamespace from pg_trigger as t
          join pg_class as c on c.oid = t.tgrelid where t.oid = objid)
        when 'pg_policy'::regclass then (select c.relnamespace from pg_policy as p
          join pg_class as c on c.oid = p.polrelid where p.oid = objid)
        when 'pg_statistic_ext'::regclass then
          (select stxnamespace from pg_statistic_ext where oid = objid)
        when 'pg_default_acl'::regclass then
          (select defaclnamespace from pg_default_acl where oid = objid)
        when 'pg_namespace'::regclass then objid
        end as namespace
      from found
      -- A part of another object (a toast table, a view's row type, a foreign key's triggers)
      -- goes with it: only what it belongs to is listed.
      where not part
    )
    select distinct (pg_identify_object(p.classid, p.objid, 0)).type || ' ' ||
      (pg_identify_object(p.classid, p.objid, 0)).identity as object
    from placed as p left join pg_namespace as n on n.oid = p.namespace
    -- Toast tables and their indexes go with the table they serve, listed or ours.
    where n.nspname is null or not (n.nspname = any(${schemas}) or n.nspname = 'pg_toast')
    order by 1`;
  return rows.map((row) => row.object);
}

/** The first statement of `sql` that would destroy data, ignoring comments and literals. */
export function destructiveStatement(sql: string): string | undefined {
  const code = sql
    .replace(/\$(\w*)\$[\s\S]*?\$\1\$/g, "''") // dollar-quoted bodies
    .replace(/'(?:[^']|'')*'/g, "''") // string literals
    .replace(/--[^\n]*/g, "")
    .replace(/\/\*[\s\S]*?\*\//g, "");
  for (const match of code.matchAll(DESTRUCTIVE)) {
    const target = match[1];
    if (target !== undefined && HARMLESS_DROP.test(target)) continue;
    return match[0];
  }
  return undefined;
}
