/**
 * Load: a 30-day backfill at 10 000 users a day and one day of 1 000 000 users, through the
 * pipeline CLI. For every ds, `count(*)` and `count(distinct id)` in `raw.users` must equal
 * what the API served minus the records rejected. The wall time of each run is printed.
 */
import assert from "node:assert/strict";
import { assertExit } from "../helpers/pipeline_fixture.ts";
import { dateRange } from "../../tasks/shared/dates.ts";
import { recordChaos } from "./chaos_report.ts";
import { type ChaosFixture, createChaosFixture, secondsSince } from "./chaos_fixture.ts";

/** Users per page the API served with status 200 for each ds, every page counted once. */
function servedPerDs(fixture: ChaosFixture): Map<string, number> {
  const pages = new Map<string, number>();
  for (const request of fixture.api.requests) {
    if (request.status !== 200) continue;
    pages.set(`${request.seed}\u0000${request.page}`, request.results);
  }
  const served = new Map<string, number>();
  for (const [key, results] of pages) {
    const ds = key.split("\u0000")[0]?.replace(/^randomuser-elt-/, "") ?? "";
    served.set(ds, (served.get(ds) ?? 0) + results);
  }
  return served;
}

async function rejectCount(fixture: ChaosFixture, ds: string): Promise<number> {
  const text = await Deno.readTextFile(fixture.files(ds).rejects);
  return text.split("\n").filter((line) => line.trim() !== "").length;
}

/** `count(*)` and `count(distinct id)` of `raw.users` per `_ds`. */
async function loadedPerDs(fixture: ChaosFixture) {
  const rows = await fixture.db.sql<{ ds: string; rows: number; ids: number }[]>`
    select _ds::text as ds, count(*)::int as rows, count(distinct id)::int as ids
    from raw.users group by _ds order by _ds`;
  return new Map(rows.map((row) => [row.ds, { rows: row.rows, ids: row.ids }]));
}

/** Checks every ds of `days` against what the API served; returns the expected and found totals. */
async function assertCounts(fixture: ChaosFixture, days: readonly string[]) {
  const served = servedPerDs(fixture);
  const loaded = await loadedPerDs(fixture);
  assert.deepEqual([...loaded.keys()], [...days], "raw.users holds exactly these ds");
  let expected = 0;
  let found = 0;
  for (const ds of days) {
    const want = (served.get(ds) ?? 0) - await rejectCount(fixture, ds);
    const got = loaded.get(ds) ?? { rows: 0, ids: 0 };
    assert.deepEqual(got, { rows: want, ids: want }, `ds ${ds}`);
    expected += want;
    found += got.rows;
  }
  const [total] = await fixture.db.sql<{ rows: number; ids: number }[]>`
    select count(*)::int as rows, count(distinct id)::int as ids from raw.users`;
  assert.deepEqual(total, { rows: expected, ids: expected });
  return { expected, found };
}

Deno.test("a 30-day backfill at 10 000 users a day loads every served user exactly once", async () => {
  const started = performance.now();
  await using fixture = await createChaosFixture();
  const days = dateRange("2026-07-01", "2026-07-30");
  const backfill = fixture.launch("pipelines/cli.ts", {
    args: [
      "backfill",
      "--from",
      days[0] ?? "",
      "--to",
      days.at(-1) ?? "",
      "--pipeline",
      "extract_load",
    ],
    env: { USERS_PER_RUN: "10000", TASK_RETRY_DELAY: "1s" },
    timeoutMs: 20 * 60_000,
  });
  const result = await backfill.finished;
  assertExit(result, 0);
  const seconds = secondsSince(started);
  assert.deepEqual(
    result.stdout.trim().split("\n").map((line) => /ds=(\S+) state=(\w+)/.exec(line)?.[2]),
    days.map(() => "succeeded"),
  );
  const { expected, found } = await assertCounts(fixture, days);
  assert.equal(expected, 300_000);
  console.log(
    `backfill: ${days.length} days x 10 000 users in ${seconds.toFixed(1)} s ` +
      `(${(seconds / days.length).toFixed(1)} s a day, ${Math.round(found / seconds)} users/s)`,
  );
  await recordChaos("load", {
    scenario: "30-day backfill at 10 000 users a day",
    runsRecovered: 0,
    rowsExpected: expected,
    rowsFound: found,
    seconds,
  });
});

Deno.test("one day of 1 000 000 users loads every served user exactly once", async () => {
  const started = performance.now();
  await using fixture = await createChaosFixture();
  const ds = "2026-08-01";
  const users = 1_000_000;
  const run = fixture.launch("pipelines/cli.ts", {
    args: ["run", "extract_load", "--ds", ds],
    env: { USERS_PER_RUN: String(users), TASK_RETRY_DELAY: "1s" },
    timeoutMs: 30 * 60_000,
  });
  const result = await run.finished;
  assertExit(result, 0);
  const seconds = secondsSince(started);
  const { expected, found } = await assertCounts(fixture, [ds]);
  assert.equal(expected, users);
  const tries = await fixture.tries({ pipeline: "extract_load", ds });
  const timings = await fixture.db.sql<{ task: string; seconds: number }[]>`
    select task, round(duration_ms / 1000.0, 1)::float8 as seconds from meta.task_tries
    where state = 'succeeded' order by started_at`;
  assert.deepEqual(tries.map((x) => `${x.task}:${x.state}`), [
    "migrate:succeeded",
    "extract:succeeded",
    "load:succeeded",
  ]);
  console.log(
    `1M day: ${seconds.toFixed(1)} s (${
      timings.map((row) => `${row.task} ${row.seconds} s`).join(", ")
    }), ${Math.round(found / seconds)} users/s`,
  );
  await recordChaos("load", {
    scenario: "one day of 1 000 000 users",
    rowsExpected: expected,
    rowsFound: found,
    seconds,
  });
});
