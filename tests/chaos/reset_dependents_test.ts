/**
 * `deno task reset --yes` with objects outside the pipeline's schemas that depend on them (issue
 * 23): a view in `public` over `raw.users` and a foreign key of a `public` table to it. Without
 * `--cascade` it refuses (exit 2), listing them and naming `--cascade`, and drops nothing; with
 * it, it drops them with the schemas and says which it dropped.
 */
import assert from "node:assert/strict";
import { assertExit, errorLine } from "../helpers/pipeline_fixture.ts";
import { warehouseState } from "../helpers/warehouse_state.ts";
import { recordChaos } from "./chaos_report.ts";
import { createChaosFixture, secondsSince } from "./chaos_fixture.ts";

const USERS = 100;

Deno.test("reset refuses while objects outside its schemas depend on them, and --cascade drops them saying so", async () => {
  const started = performance.now();
  await using fixture = await createChaosFixture();
  const { sql } = fixture.db;
  assertExit(
    await fixture.cli(["run", "extract_load", "--ds", "2026-09-30"], {
      USERS_PER_RUN: String(USERS),
    }),
    0,
  );
  await sql`create view public.user_names as select id, name_first from raw.users`;
  await sql`create view public.user_count as select count(*) from public.user_names`;
  await sql`create table public.notes (user_id uuid references raw.users (id), note text)`;
  await sql`create table public.unrelated (n int)`;
  const before = await warehouseState(sql);

  const refused = await fixture.run("reset", ["--yes"]);
  assertExit(refused, 2);
  assert.equal(
    errorLine(refused.stderr),
    "error: reset refused: 3 object(s) outside raw, meta, staging, analytics depend on them and " +
      "would be dropped too: table constraint notes_user_id_fkey on public.notes, " +
      "view public.user_count, view public.user_names; drop or change them first, or run `deno task reset --yes --cascade` to " +
      "drop them with the schemas (nothing was dropped)",
  );
  assert.deepEqual(await warehouseState(sql), before, "reset changed the warehouse");
  const [views] = await sql<{ n: number }[]>`
    select count(*)::int as n from pg_views where schemaname = 'public'`;
  assert.equal(views?.n, 2);

  const cascaded = await fixture.run("reset", ["--yes", "--cascade"]);
  assertExit(cascaded, 0);
  assert.match(
    cascaded.stdout,
    /^reset dropped=raw,meta,staging,analytics also_dropped="table constraint notes_user_id_fkey on public.notes, view public.user_count, view public.user_names" /m,
  );
  const left = await sql<{ name: string }[]>`
    select nspname as name from pg_namespace
    where nspname in ('raw', 'meta', 'staging', 'analytics')`;
  assert.deepEqual([...left], []);
  const tables = await sql<{ name: string }[]>`
    select tablename as name from pg_tables where schemaname = 'public' order by 1`;
  assert.deepEqual(tables.map((row) => row.name), ["notes", "unrelated"]);
  const [fks] = await sql<{ n: number }[]>`
    select count(*)::int as n from pg_constraint where conrelid = 'public.notes'::regclass
      and contype = 'f'`;
  assert.equal(fks?.n, 0);
  await recordChaos("warehouse", {
    scenario: "reset with a view and a foreign key outside its schemas: refused, then --cascade",
    faultsInjected: 1,
    rowsExpected: USERS,
    rowsFound: before.rawUsers.rows,
    seconds: secondsSince(started),
  });
});
