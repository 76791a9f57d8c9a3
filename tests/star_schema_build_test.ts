/**
 * dbt builds under parallel runs: a load's rows never appear halfway through a build (the build
 * holds the gate its commit needs), and builds asked for at once (the transforms of a parallel
 * backfill) share one: a build that began after this one was asked for, and succeeded, built this
 * ds too.
 */
import assert from "node:assert/strict";
import { assertExit, createPipelineFixture } from "./helpers/pipeline_fixture.ts";
import { RAW_USERS_GATE } from "../tasks/warehouse/advisory_lock.ts";

Deno.test("a transform whose ds a later-started build already covered does not run dbt again", async () => {
  await using fixture = await createPipelineFixture();
  assertExit(await fixture.run("migrate"), 0);
  // Another worker's build began after this transform was asked for, and passed.
  const [inserted] = await fixture.db.sql<{ run_id: string }[]>`
    insert into meta.dbt_runs (run_id, ds, runner, command, status, exit_code, models, seeds,
                               tests, unit_tests, started_at, finished_at)
    values ('01J0000000000000000000000A', '2026-07-02', 'local', 'dbt build', 'succeeded', 0,
            8, 2, 77, 4, now() + interval '1 hour', now() + interval '2 hours')
    returning run_id`;
  // DBT_RUNNER=docker without an image would fail if dbt ran at all.
  const transform = await fixture.run("dbt_build", ["--ds", "2026-07-03"], {
    DBT_RUNNER: "docker",
    DBT_IMAGE: "relt-no-such-image:0",
  });
  assertExit(transform, 0);
  assert.match(
    transform.stdout,
    new RegExp(
      `^transform ds=2026-07-03 runner=local exit_code=0 models=8 .* covered_by=${inserted?.run_id} `,
      "m",
    ),
  );
  const [counted] = await fixture.db.sql<
    { n: number }[]
  >`select count(*)::int as n from meta.dbt_runs`;
  assert.equal(counted?.n, 1);
});

Deno.test("no dbt model reads the ds: a build covers every ds loaded before it began", async () => {
  const models = new URL("../dbt_project/models/", import.meta.url).pathname;
  for await (const entry of Deno.readDir(models)) {
    if (!entry.isDirectory) continue;
    for await (const file of Deno.readDir(`${models}${entry.name}`)) {
      const text = await Deno.readTextFile(`${models}${entry.name}/${file.name}`);
      assert.doesNotMatch(
        text,
        /var\(\s*['"]ds['"]/,
        `${entry.name}/${file.name} reads var('ds'): a build then no longer covers other dates ` +
          "(tasks/transform/star_schema.ts)",
      );
    }
  }
});

Deno.test("a load does not commit while a dbt build holds the gate, and commits once it is released", async () => {
  await using fixture = await createPipelineFixture();
  assertExit(await fixture.run("migrate"), 0);
  assertExit(await fixture.run("extract", ["--ds", "2026-07-04", "--users", "200"]), 0);
  // A build runs: it holds the gate alone on a connection of its own.
  const build = await fixture.db.sql.reserve();
  await build`select pg_advisory_lock(hashtext(${RAW_USERS_GATE}))`;
  const load = fixture.run("load", ["--ds", "2026-07-04"]);
  try {
    // The load's commit waits for the gate: it has copied its rows, none visible yet.
    for (let i = 0;; i++) {
      const [waiting] = await fixture.db.sql<{ n: number }[]>`
        select count(*)::int as n from pg_stat_activity
        where datname = current_database() and wait_event_type = 'Lock'
          and wait_event = 'advisory'`;
      if (waiting?.n === 1) break;
      assert.ok(i < 600, "the load never waited for the gate");
      await new Promise((done) => setTimeout(done, 100));
    }
    const [visible] = await fixture.db.sql<{ n: number }[]>`
      select count(*)::int as n from raw.users`;
    assert.equal(visible?.n, 0);
  } finally {
    await build`select pg_advisory_unlock(hashtext(${RAW_USERS_GATE}))`;
    build.release();
  }
  assertExit(await load, 0);
  const [loaded] = await fixture.db.sql<{ n: number }[]>`select count(*)::int as n from raw.users`;
  assert.equal(loaded?.n, 200);
});
