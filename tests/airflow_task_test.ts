import assert from "node:assert/strict";
import {
  assertExit,
  createPipelineFixture,
  type PipelineFixture,
} from "./helpers/pipeline_fixture.ts";

// What the generated Airflow DAGs run for each try, without Airflow: the ledger side of it.
const FAST = { USERS_PER_RUN: "300" };
const RUN_ID = "scheduled__2026-01-02T00:00:00+00:00";

function airflowTask(
  fixture: PipelineFixture,
  pipeline: string,
  task: string,
  options: { try: number; retries?: number; env?: Record<string, string> },
) {
  return fixture.cli([
    "airflow-task",
    pipeline,
    task,
    "--ds",
    "2026-01-02",
    "--run-id",
    RUN_ID,
    "--try",
    String(options.try),
    "--retries",
    String(options.retries ?? 3),
  ], { ...FAST, ...options.env });
}

async function ledger(fixture: PipelineFixture) {
  const runs = await fixture.db.sql<
    { run_id: string; pipeline: string; trigger: string; state: string; error: string | null }[]
  >`
    select run_id, pipeline, trigger, state, error from meta.pipeline_runs
    where external_run_id = ${RUN_ID} order by started_at`;
  const tries = await fixture.db.sql<{ attempt: string }[]>`
    select t.task || '#' || t.try_number || ':' || t.state || ':' || t.exit_code as attempt
    from meta.task_tries as t join meta.pipeline_runs as r using (run_id)
    where r.external_run_id = ${RUN_ID} order by t.started_at`;
  return { runs: [...runs], tries: tries.map((t) => t.attempt) };
}

Deno.test("airflow-task records every try of an Airflow run in one ledger run and exits with the task's code", async () => {
  await using fixture = await createPipelineFixture();
  assertExit(await airflowTask(fixture, "extract_load", "migrate", { try: 1 }), 0);
  let recorded = await ledger(fixture);
  assert.deepEqual(
    recorded.runs.map((r) => [r.pipeline, r.trigger, r.state]),
    [["extract_load", "airflow", "running"]],
  );

  // Two 500s exhaust the extract's own HTTP retries (API_RETRIES=1): exit 1, Airflow retries.
  fixture.api.faults.add({ page: 1, times: 2, fault: { kind: "status", status: 500 } });
  const failed = await airflowTask(fixture, "extract_load", "extract", {
    try: 1,
    env: { API_RETRIES: "1" },
  });
  assertExit(failed, 1);
  assert.match(failed.stderr, /^error: page 1: the API answered 500 Internal Server Error/m);
  recorded = await ledger(fixture);
  assert.equal(recorded.runs[0]?.state, "running", "Airflow will try again: the run goes on");

  assertExit(await airflowTask(fixture, "extract_load", "extract", { try: 2 }), 0);
  assertExit(await airflowTask(fixture, "extract_load", "load", { try: 1 }), 0);
  recorded = await ledger(fixture);
  assert.deepEqual(recorded.runs.map((r) => [r.state, r.error]), [["succeeded", null]]);
  assert.deepEqual(recorded.tries, [
    "migrate#1:succeeded:0",
    "extract#1:failed:1",
    "extract#2:succeeded:0",
    "load#1:succeeded:0",
  ]);
  const [users] = await fixture.db.sql`select count(*)::int as n from raw.users`;
  assert.equal(users?.n, 300);

  // The ledger's own runner sees the Airflow run: transform may run for that ds.
  assertExit(await fixture.cli(["run", "transform", "--ds", "2026-01-02"], FAST), 0);
});

Deno.test("the last try Airflow makes fails the ledger run; a try after a clear in Airflow reopens it", async () => {
  await using fixture = await createPipelineFixture();
  fixture.api.faults.add({ page: 1, times: 4, fault: { kind: "status", status: 503 } });
  const env = { API_RETRIES: "1" };
  assertExit(await airflowTask(fixture, "extract_load", "extract", { try: 1, retries: 1, env }), 1);
  assert.equal((await ledger(fixture)).runs[0]?.state, "running");
  assertExit(await airflowTask(fixture, "extract_load", "extract", { try: 2, retries: 1, env }), 1);
  let recorded = await ledger(fixture);
  assert.equal(recorded.runs[0]?.state, "failed");
  assert.match(
    recorded.runs[0]?.error ?? "",
    /^extract failed after 2 tries: page 1: the API answered 503/,
  );

  assertExit(await airflowTask(fixture, "extract_load", "extract", { try: 3, retries: 1 }), 0);
  recorded = await ledger(fixture);
  assert.deepEqual(recorded.runs.map((r) => [r.state, r.error]), [["running", null]]);
  assert.deepEqual(recorded.tries, [
    "extract#1:failed:1",
    "extract#2:failed:1",
    "extract#3:succeeded:0",
  ]);
});

Deno.test("a terminal failure (exit 3) fails the ledger run at its first try, though Airflow has retries left", async () => {
  await using fixture = await createPipelineFixture();
  assertExit(await airflowTask(fixture, "extract_load", "migrate", { try: 1 }), 0);
  assertExit(await airflowTask(fixture, "extract_load", "extract", { try: 1 }), 0);
  // The table is ahead of the extract: the CSV header misses a column. A retry cannot help.
  await fixture.db.sql`alter table raw.users add column nickname text`;
  const load = await airflowTask(fixture, "extract_load", "load", { try: 1, retries: 3 });
  assertExit(load, 3);
  assert.match(load.stderr, /^error: the CSV header of .* does not match raw\.users/m);
  const recorded = await ledger(fixture);
  assert.deepEqual(recorded.runs.map((r) => r.state), ["failed"]);
  assert.match(recorded.runs[0]?.error ?? "", /^load failed after 1 try: the CSV header/);
  assert.deepEqual(recorded.tries.at(-1), "load#1:failed:3");
  const [failure] = await fixture.db.sql`
    select failure from meta.pipeline_runs where external_run_id = ${RUN_ID}`;
  assert.equal(failure?.failure, "terminal");
});

Deno.test("airflow-task refuses a task or pipeline it does not have, with exit 2 before it touches the warehouse", async () => {
  await using fixture = await createPipelineFixture();
  const cases: Array<[string, string, RegExp]> = [
    [
      "extract_load",
      "dbt_build",
      /^error: pipeline extract_load has no task dbt_build; its tasks: migrate, extract, load$/m,
    ],
    [
      "all",
      "extract",
      /^error: command-argument value 'all' is invalid for argument 'pipeline'\. expected extract_load or transform\./m,
    ],
  ];
  for (const [pipeline, task, message] of cases) {
    const result = await airflowTask(fixture, pipeline, task, { try: 1 });
    assertExit(result, 2);
    assert.match(result.stderr, message);
  }
  const missing = await fixture.cli(["airflow-task", "extract_load", "load", "--ds", "2026-01-02"]);
  assertExit(missing, 2);
  assert.match(missing.stderr, /^error: required option '--run-id <id>' not specified/m);
  // Refused before the warehouse is touched: not even the ledger's tables were created.
  const [table] = await fixture.db.sql`select to_regclass('meta.pipeline_runs')::text as name`;
  assert.equal(table?.name, null);
});
