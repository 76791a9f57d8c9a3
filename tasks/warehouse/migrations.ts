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
import type { Sql } from "./sql_client.ts";

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

/**
 * Drops every schema the pipeline owns, with all their data: the explicit, confirmed path
 * behind `deno task reset --yes`. Never called by another task.
 */
export async function resetWarehouse(sql: Sql): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtext('randomuser-elt:migrate'))`;
    for (const schema of PIPELINE_SCHEMAS) await tx`drop schema if exists ${tx(schema)} cascade`;
  });
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
