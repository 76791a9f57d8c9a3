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

  await t.step("one fact row per loaded user, tests and unit tests green", async () => {
    const result = await fixture.run("dbt_build", ["--ds", "2026-01-01"]);
    assertExit(result, 0);
    assert.match(
      result.stdout,
      /transform ds=2026-01-01 runner=local exit_code=0 models=8 seeds=2 tests=\d+ unit_tests=4 failures=0/,
    );
    const [fact] = await fixture.db.sql`
      select count(*)::int as rows, count(distinct user_key)::int as users,
             count(*) filter (where load_date = '2026-01-01')::int as for_ds
      from analytics.fct_users`;
    assert.deepEqual(fact, { rows: 10_000, users: 10_000, for_ds: 10_000 });
    const [run] = await fixture.db.sql`
      select status, models, unit_tests, failures, tests > 50 as many_tests from meta.dbt_runs`;
    assert.deepEqual(run, {
      status: "succeeded",
      models: 8,
      unit_tests: 4,
      failures: 0,
      many_tests: true,
    });
  });

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
      select load_date::text as ds, count(*)::int as n from analytics.fct_users group by 1 order by 1`;
    assert.deepEqual([...counts], [{ ds: "2026-01-01", n: 10_000 }, {
      ds: "2026-01-02",
      n: 2_000,
    }]);
    const before = await martChecksums(fixture.db.sql);
    assertExit(await fixture.run("dbt_build", ["--ds", "2026-01-02"]), 0);
    assert.deepEqual(await martChecksums(fixture.db.sql), before);
  });
});

Deno.test("a failing data test fails the transform as terminal (exit 3) and records what failed", async () => {
  await using fixture = await createPipelineFixture();
  assertExit(await fixture.run("migrate"), 0);
  await extractLoad(fixture, "2026-01-01", 200);
  await fixture.db.sql`
    update raw.users set dob_age = 200
    where id = (select id from raw.users order by id limit 1)`;
  const result = await fixture.run("dbt_build", ["--ds", "2026-01-01"]);
  assertExit(result, 3);
  assert.match(result.stdout, /exit_code=1 .*failures=1 /);
  assert.match(
    result.stderr,
    /level=error task=transform msg="dbt node failed" node=test\.randomuser_elt\.accepted_range_stg_randomuser__users_age/,
  );
  const [run] = await fixture.db.sql<{ status: string; failed: string[] }[]>`
    select status, array(select jsonb_array_elements(failed_nodes)->>'node') as failed
    from meta.dbt_runs`;
  assert.equal(run?.status, "failed");
  assert.equal(run?.failed.length, 1);
  assert.match(run?.failed[0] ?? "", /accepted_range_stg_randomuser__users_age/);
});
