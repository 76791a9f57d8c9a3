import assert from "node:assert/strict";
import {
  assertExit,
  createPipelineFixture,
  type PipelineFixture,
} from "./helpers/pipeline_fixture.ts";
import { martChecksums } from "./helpers/mart_checksums.ts";
import { personalDataAnalystReads } from "./helpers/analyst_exposure.ts";

async function extractLoad(fixture: PipelineFixture, ds: string, users: number) {
  assertExit(await fixture.run("extract", ["--ds", ds, "--users", String(users)]), 0);
  assertExit(await fixture.run("load", ["--ds", ds]), 0);
}

Deno.test("transform builds the star schema, and every model and test passes", async (t) => {
  await using fixture = await createPipelineFixture();
  assertExit(await fixture.run("migrate"), 0);
  await extractLoad(fixture, "2026-01-01", 10_000);

  await t.step(
    "a warehouse the previous star schema built is rebuilt without a manual step",
    async () => {
      // What the previous version left: marts this one no longer builds, a dim_user with an email.
      await fixture.db.sql`create schema if not exists analytics`;
      await fixture.db.sql`create table analytics.fct_users (user_load_key text primary key)`;
      await fixture.db.sql`create table analytics.dim_location (location_key text, postcode text)`;
      await fixture.db.sql`create table analytics.dim_user (user_key text, email text)`;
      const result = await fixture.run("dbt_build", ["--ds", "2026-01-01"]);
      assertExit(result, 0);
      assert.match(
        result.stdout,
        /transform ds=2026-01-01 runner=local exit_code=0 models=17 seeds=2 tests=\d+ unit_tests=4 failures=0 warnings=0/,
      );
      const relations = await fixture.db.sql<{ name: string }[]>`
      select table_name as name from information_schema.tables
      where table_schema = 'analytics' and table_name in ('fct_users', 'dim_location')`;
      assert.deepEqual([...relations], []);
      const [email] = await fixture.db.sql`
      select count(*)::int as n from information_schema.columns
      where table_schema = 'analytics' and table_name = 'dim_user' and column_name = 'email'`;
      assert.equal(email?.n, 0);
    },
  );

  await t.step(
    "one registration per user, one batch per load, ages as of the latest load date",
    async () => {
      const [registrations] = await fixture.db.sql`
      select count(*)::int as rows, count(distinct user_id)::int as users,
             sum(registrations)::int as registrations
      from analytics.fct_registrations`;
      assert.deepEqual(registrations, { rows: 10_000, users: 10_000, registrations: 10_000 });
      const batches = await fixture.db.sql`
      select load_date::text as ds, status, is_latest_for_ds, rows_delivered::int, inserted::int
      from analytics.fct_load_batches`;
      assert.deepEqual([...batches], [{
        ds: "2026-01-01",
        status: "succeeded",
        is_latest_for_ds: true,
        rows_delivered: 10_000,
        inserted: 10_000,
      }]);
      const [ages] = await fixture.db.sql`
      select count(*)::int as users, min(as_of_date)::text as first, max(as_of_date)::text as last,
             count(*) filter (
               where a.age <> date_part('year', age(date '2026-01-01', u.birth_date))
             )::int as off
      from analytics.dim_user_age as a join analytics.dim_user as u using (user_id)`;
      assert.deepEqual(ages, { users: 10_000, first: "2026-01-01", last: "2026-01-01", off: 0 });
      const [calendar] = await fixture.db.sql`
      select count(*)::int as days, min(date_day)::text as first, max(date_day)::text as last
      from analytics.dim_date`;
      assert.deepEqual(calendar, { days: 73_414, first: "1900-01-01", last: "2100-12-31" });
      const [run] = await fixture.db.sql`
      select status, models, unit_tests, failures, tests > 40 as many_tests from meta.dbt_runs`;
      assert.deepEqual(run, {
        status: "succeeded",
        models: 17,
        unit_tests: 4,
        failures: 0,
        many_tests: true,
      });
    },
  );

  await t.step(
    "the analyst reads no credentials and no personal data, by name or value",
    async () => {
      assert.deepEqual(await personalDataAnalystReads(fixture.db.sql), []);
      // The check finds a leak by name, and one by value under an innocent name.
      await fixture.db.sql`
      create view analytics.leak as
      select email, phone as reach, name_first || ' ' || name_last as label from raw.users`;
      try {
        assert.deepEqual(await personalDataAnalystReads(fixture.db.sql), [
          "analytics.leak.email",
          "analytics.leak.label",
          "analytics.leak.reach",
        ]);
      } finally {
        await fixture.db.sql`drop view analytics.leak`;
      }
      const [staging] = await fixture.db.sql`
      select count(*)::int as n from information_schema.columns
      where table_schema = 'staging' and column_name ~* '(password|salt|md5|sha)'`;
      assert.equal(staging?.n, 0);
    },
  );

  await t.step("a second ds keeps every test green, and a re-run changes nothing", async () => {
    await extractLoad(fixture, "2026-01-02", 2_000);
    assertExit(await fixture.run("dbt_build", ["--ds", "2026-01-02"]), 0);
    const counts = await fixture.db.sql`
      select load_date::text as ds, rows_delivered::int as n from analytics.fct_load_batches
      where is_latest_for_ds order by 1`;
    assert.deepEqual([...counts], [{ ds: "2026-01-01", n: 10_000 }, {
      ds: "2026-01-02",
      n: 2_000,
    }]);
    const [asOf] = await fixture.db.sql`select as_of_date::text as day from analytics.as_of_date`;
    assert.equal(asOf?.day, "2026-01-02");
    const before = await martChecksums(fixture.db.sql);
    assertExit(await fixture.run("dbt_build", ["--ds", "2026-01-02"]), 0);
    assert.deepEqual(await martChecksums(fixture.db.sql), before);
  });
});

Deno.test("a failing data test fails the transform as terminal (exit 3) and records what failed", async () => {
  await using fixture = await createPipelineFixture();
  assertExit(await fixture.run("migrate"), 0);
  await extractLoad(fixture, "2026-01-01", 200);
  // An API age two years off the one computed from the birth date on the day it was extracted.
  await fixture.db.sql`
    update raw.users set dob_age = dob_age + 2
    where id = (select id from raw.users order by id limit 1)`;
  const result = await fixture.run("dbt_build", ["--ds", "2026-01-01"]);
  assertExit(result, 3);
  assert.match(result.stdout, /exit_code=1 .*failures=1 /);
  assert.match(
    result.stderr,
    /level=error task=transform msg="dbt node failed" node=test\.randomuser_elt\.assert_api_ages_within_one_year_of_computed_ages/,
  );
  const [run] = await fixture.db.sql<{ status: string; failed: string[] }[]>`
    select status, array(select jsonb_array_elements(failed_nodes)->>'node') as failed
    from meta.dbt_runs`;
  assert.equal(run?.status, "failed");
  assert.equal(run?.failed.length, 1);
  assert.match(run?.failed[0] ?? "", /assert_api_ages_within_one_year_of_computed_ages/);
});
