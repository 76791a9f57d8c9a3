import assert from "node:assert/strict";
import { assertExit, createPipelineFixture } from "./helpers/pipeline_fixture.ts";
import { createTestDatabase } from "./helpers/test_warehouse.ts";
import { destructiveStatement, migrate, readMigrations } from "../tasks/warehouse/migrations.ts";
import { TerminalError } from "../tasks/shared/errors.ts";
import { USER_COLUMNS } from "../tasks/extract/user_fields.ts";
import { connect } from "../tasks/warehouse/sql_client.ts";

/** A temporary migrations folder holding `files`, removed when it goes out of scope. */
async function migrationsDir(
  files: Record<string, string>,
): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "relt-migrations-" });
  for (const [name, sql] of Object.entries(files)) await Deno.writeTextFile(`${path}/${name}`, sql);
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

Deno.test("migrate applies each migration once and records it in the ledger", async () => {
  await using fixture = await createPipelineFixture();
  const first = await fixture.run("migrate");
  assertExit(first, 0);
  const count = (await readMigrations()).length;
  assert.match(first.stdout, new RegExp(`^migrate applied=${count} version=${count} `, "m"));
  const second = await fixture.run("migrate");
  assertExit(second, 0);
  assert.match(second.stdout, new RegExp(`^migrate applied=0 version=${count} `, "m"));
  const ledger = await fixture.db.sql`select version, name from meta.schema_migrations order by 1`;
  assert.equal(ledger.length, count);
});

Deno.test("raw.users has every CSV column, typed, with id as the primary key", async () => {
  await using db = await createTestDatabase();
  await migrate(db.sql);
  const columns = await db.sql<{ column_name: string; data_type: string }[]>`
    select column_name, data_type from information_schema.columns
    where table_schema = 'raw' and table_name = 'users' order by ordinal_position`;
  const types = Object.fromEntries(columns.map((c) => [c.column_name, c.data_type]));
  for (const name of USER_COLUMNS) assert.ok(name in types, `raw.users lacks ${name}`);
  assert.deepEqual(
    [
      types.id,
      types.login_uuid,
      types.dob_date,
      types.dob_age,
      types.location_coordinates_latitude,
    ],
    ["uuid", "uuid", "timestamp with time zone", "integer", "numeric"],
  );
  assert.deepEqual([types._ds, types._batch_id, types._loaded_at], [
    "date",
    "text",
    "timestamp with time zone",
  ]);
  const [pk] = await db.sql`
    select a.attname from pg_index i
    join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
    where i.indrelid = 'raw.users'::regclass and i.indisprimary`;
  assert.equal(pk?.attname, "id");
});

Deno.test("concurrent migrations apply each file exactly once", async () => {
  await using fixture = await createPipelineFixture();
  const results = await Promise.all([1, 2, 3].map(() => fixture.run("migrate")));
  results.forEach((result) => assertExit(result, 0));
  const applied = results.map((r) => Number(/applied=(\d+)/.exec(r.stdout)?.[1]));
  const count = (await readMigrations()).length;
  assert.deepEqual(applied.sort(), [0, 0, count]);
});

Deno.test("a migration edited after it was applied is refused", async () => {
  await using db = await createTestDatabase();
  await using dir = await migrationsDir({ "0001_t.sql": "create table public.t (a int);" });
  await migrate(db.sql, { dir: dir.path });
  await Deno.writeTextFile(`${dir.path}/0001_t.sql`, "create table public.t (a bigint);");
  await assert.rejects(migrate(db.sql, { dir: dir.path }), (error: Error) => {
    assert.ok(error instanceof TerminalError);
    assert.match(error.message, /migration 0001_t\.sql was changed after it was applied/);
    return true;
  });
});

Deno.test("a migration that drops data is refused before anything runs", async () => {
  await using db = await createTestDatabase();
  await using dir = await migrationsDir({
    "0001_t.sql": "create table public.t (a int);",
    "0002_oops.sql": "-- tidy up\nDROP TABLE public.t;",
  });
  await assert.rejects(
    migrate(db.sql, { dir: dir.path }),
    /0002_oops\.sql contains "DROP TABLE": migrations never drop data/,
  );
  const [exists] = await db.sql`select to_regclass('public.t') is not null as exists`;
  assert.equal(exists?.exists, false);
});

Deno.test("the destructive-statement guard knows data from structure", () => {
  const refused = [
    "drop table raw.users;",
    "DROP SCHEMA raw CASCADE;",
    "alter table raw.users drop column login_password;",
    "alter table raw.users drop login_password;",
    "drop owned by analyst;",
    "drop materialized view m;",
    "truncate raw.users;",
    "delete from raw.users where true;",
  ];
  for (const sql of refused) assert.ok(destructiveStatement(sql), `not refused: ${sql}`);
  const allowed = [
    "drop index if exists users_ds_idx;",
    "alter table raw.users drop constraint c, alter column x drop default;",
    "alter table raw.users alter column nat drop not null;",
    "create view v as select 1; drop view v;",
    "comment on table raw.users is 'never drop table or truncate this';",
    "-- we never drop table raw.users\ncreate table t (a int);",
    "create function f() returns void language sql as $$ delete from t $$;",
  ];
  for (const sql of allowed) assert.equal(destructiveStatement(sql), undefined, sql);
});

Deno.test("a failing migration rolls back the whole run", async () => {
  await using db = await createTestDatabase();
  await using dir = await migrationsDir({
    "0001_t.sql": "create table public.t (a int);",
    "0002_bad.sql": "alter table public.t add column b nosuchtype;",
  });
  await assert.rejects(migrate(db.sql, { dir: dir.path }), /type "nosuchtype" does not exist/);
  const [row] = await db.sql`
    select to_regclass('public.t') is not null as t,
           to_regclass('meta.schema_migrations') is not null as ledger`;
  assert.deepEqual(row, { t: false, ledger: false });
});

Deno.test("reset refuses without --yes and keeps the data", async () => {
  await using fixture = await createPipelineFixture();
  assertExit(await fixture.run("migrate"), 0);
  assertExit(await fixture.run("extract", ["--ds", "2026-01-01", "--users", "50"]), 0);
  assertExit(await fixture.run("load", ["--ds", "2026-01-01"]), 0);
  const refused = await fixture.run("reset");
  assertExit(refused, 2);
  assert.match(
    refused.stderr,
    /^error: reset drops the schemas raw, meta, staging, analytics and all their data; run `deno task reset --yes` to confirm/,
  );
  const [before] = await fixture.db.sql`select count(*)::int as n from raw.users`;
  assert.equal(before?.n, 50);
  assertExit(await fixture.run("reset", ["--yes"]), 0);
  const [after] = await fixture.db.sql`select to_regclass('raw.users') is null as gone`;
  assert.equal(after?.gone, true);
  assertExit(await fixture.run("migrate"), 0);
});

Deno.test("reset --yes leaves no schema of the project behind, dbt's included", async () => {
  await using fixture = await createPipelineFixture();
  // Schemas that are PostgreSQL's own (pg_catalog, pg_toast, pg_temp_N …) are not the project's.
  const schemas = async () =>
    (await fixture.db.sql<{ name: string }[]>`
      select schema_name as name from information_schema.schemata
      where schema_name !~ '^pg_' and schema_name <> 'information_schema'
      order by 1`).map((row) => row.name);
  const before = await schemas();
  assertExit(await fixture.run("migrate"), 0);
  assertExit(await fixture.run("extract", ["--ds", "2026-01-01", "--users", "200"]), 0);
  assertExit(await fixture.run("load", ["--ds", "2026-01-01"]), 0);
  assertExit(await fixture.run("dbt_build", ["--ds", "2026-01-01"]), 0);
  const created = (await schemas()).filter((name) => !before.includes(name));
  assert.deepEqual(created, ["analytics", "meta", "raw", "staging"], "the pipeline made them all");
  const reset = await fixture.run("reset", ["--yes"]);
  assertExit(reset, 0);
  assert.deepEqual(await schemas(), before);
  assert.match(reset.stdout, /^reset dropped=raw,meta,staging,analytics /m);
});

Deno.test("the analyst role reads the marts and is refused everything else", async () => {
  await using fixture = await createPipelineFixture();
  const env = { ANALYST_PASSWORD: "analyst-secret-1" };
  assertExit(await fixture.run("migrate", [], env), 0);
  assertExit(await fixture.run("extract", ["--ds", "2026-01-01", "--users", "50"]), 0);
  assertExit(await fixture.run("load", ["--ds", "2026-01-01"]), 0);
  // A mart as dbt would create it, after the grants were given.
  await fixture.db.sql`create table analytics.fct_example as select 1 as x`;
  const url = new URL(fixture.db.url);
  url.username = "analyst";
  url.password = "analyst-secret-1";
  const analyst = connect(url.href, { max: 1 });
  try {
    const [row] = await analyst`select x from analytics.fct_example`;
    assert.equal(row?.x, 1);
    for (
      const statement of [
        analyst`select count(*) from raw.users`,
        analyst`select count(*) from meta.load_batches`,
        analyst`insert into analytics.fct_example values (2)`,
        analyst`create table analytics.mine (x int)`,
        analyst`delete from analytics.fct_example`,
        analyst`create temporary table scratch (x int)`,
      ]
    ) {
      await assert.rejects(statement, /permission denied/);
    }
  } finally {
    await analyst.end();
  }
});
