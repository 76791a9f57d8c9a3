/**
 * The pipelines on a real Apache Airflow (the pinned 3.3.2, in `.venv-airflow`): the committed
 * DAGs import cleanly and carry the pipeline definitions; `airflow dags test` runs both for a ds
 * against the stand-in API and a test database, and our ledger agrees with what Airflow ran;
 * Airflow retries a transient failure and fails a terminal one at once, which alerts once.
 * `deno task test:airflow`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { resolve } from "node:path";
import { airflowDagId, renderAirflowDags, writeAirflowDags } from "../../pipelines/airflow_dags.ts";
import { definePipelines, type PipelineName } from "../../pipelines/definitions.ts";
import { loadConfig } from "../../tasks/shared/config.ts";
import { type AirflowDags, type AirflowRun, createAirflowHome } from "../helpers/airflow.ts";
import { martChecksums } from "../helpers/mart_checksums.ts";
import { startWebhookReceiver } from "../helpers/webhook_receiver.ts";
import { urlPasswords } from "../../tasks/shared/config.ts";
import {
  assertExit,
  createPipelineFixture,
  type PipelineFixture,
} from "../helpers/pipeline_fixture.ts";

const ROOT = resolve(new URL("../../", import.meta.url).pathname);
const COMMITTED_DAGS = resolve(ROOT, "pipelines", "airflow");
const USERS = 300;

/** What the tasks Airflow starts need: the fixture's warehouse, API and landing zone. */
function taskEnv(fixture: PipelineFixture): Record<string, string> {
  return {
    ...fixture.env,
    USERS_PER_RUN: String(USERS),
    // The tasks' working directory is the test's workspace: no developer `.env` is read.
    AIRFLOW_VAR_RANDOMUSER_ELT_WORKDIR: fixture.workspace.dir,
    AIRFLOW_VAR_RANDOMUSER_ELT_DENO: Deno.execPath(),
  };
}

interface LedgerRun {
  run_id: string;
  pipeline: string;
  ds: string;
  trigger: string;
  state: string;
  error: string | null;
  failure: string | null;
  external_run_id: string | null;
  tries: { task: string; try_number: number; state: string; exit_code: number | null }[];
}

/** The ledger as `deno task status --json` shows it, oldest run first. */
async function ledger(fixture: PipelineFixture): Promise<LedgerRun[]> {
  const status = await fixture.cli(["status", "--json", "--limit", "100"]);
  assertExit(status, 0);
  return (JSON.parse(status.stdout) as LedgerRun[]).reverse();
}

/** Airflow's runs and our ledger runs of `pipeline`, side by side, in the same terms. */
function agreement(pipeline: PipelineName, airflow: AirflowRun[], runs: LedgerRun[]) {
  const state = (s: string) =>
    s === "success" ? "succeeded" : s === "running" ? "running" : "failed";
  const ours = new Set(definePipelines(defaults.retryPolicy)[pipeline].tasks.map((t) => t.name));
  return {
    airflow: airflow.map((run) => ({
      id: run.run_id,
      state: state(run.state),
      tries: run.tries.filter((t) => ours.has(t.task_id)).map((t) =>
        `${t.task_id}#${t.try_number}:${state(t.state)}`
      ),
    })),
    ledger: runs.filter((run) => run.pipeline === pipeline).map((run) => ({
      id: run.external_run_id,
      state: run.state,
      tries: run.tries.map((t) => `${t.task}#${t.try_number}:${t.state}`),
    })),
  };
}

async function usersChecksum(fixture: PipelineFixture): Promise<{ rows: number; sum: string }> {
  const [row] = await fixture.db.sql<{ rows: number; sum: string }[]>`
    select count(*)::int as rows, md5(coalesce(string_agg(u::text, '|' order by id), '')) as sum
    from raw.users as u`;
  return row ?? { rows: 0, sum: "" };
}

const defaults = await loadConfig({ env: {}, envFile: null });

Deno.test("the committed DAGs import in Airflow with our tasks, order, retries, timeouts and daily UTC schedule", async () => {
  await using fixture = await createPipelineFixture();
  await using airflow = await createAirflowHome({
    dagsFolder: COMMITTED_DAGS,
    env: taskEnv(fixture),
  });
  const errors = await airflow.cli(["dags", "list-import-errors", "--local", "-o", "json"]);
  assertExit(errors, 0);
  assert.equal(errors.stdout.trim().split("\n").at(-1), "[]");

  // The folder as Airflow parses it, with each environment below, in one Python process (each
  // start of Airflow costs seconds): the defaults, then Variables and settings that change the
  // DAGs, then bad values.
  const { version, parsed: [parsed, tuned, caughtUp, badCatchup, badVariables, badRuns] } =
    await airflow.dags([
      {},
      {
        AIRFLOW_VAR_RANDOMUSER_ELT_MAX_ACTIVE_RUNS: "8",
        AIRFLOW_VAR_RANDOMUSER_ELT_QUEUES: '{"extract": "api", "dbt_build": "dbt"}',
        API_CONCURRENCY: "3",
      },
      { CATCHUP: "true", PIPELINE_START_DATE: "2026-01-01" },
      { CATCHUP: "maybe" },
      { AIRFLOW_VAR_RANDOMUSER_ELT_QUEUES: '{"extrakt": "api"}' },
      { AIRFLOW_VAR_RANDOMUSER_ELT_MAX_ACTIVE_RUNS: "0" },
    ]);
  assert.equal(version, "3.3.2");
  assert.deepEqual(parsed!.import_errors, {});
  assert.deepEqual(Object.keys(parsed!.dags), ["extract_load_pipeline", "transform_pipeline"]);
  const pipelines = definePipelines(defaults.retryPolicy);
  for (const pipeline of Object.values(pipelines)) {
    const dag = parsed!.dags[airflowDagId(pipeline.name)]!;
    assert.equal(dag.timetable, "CronTriggerTimetable");
    // Daily, UTC, at the definitions' time; each run's logical date is the midnight of its ds.
    const at = pipeline.schedule === "5 0 * * *" ? "00:05" : "00:35";
    assert.deepEqual(dag.first_runs, [
      { run_after: `2026-01-01T${at}:00+00:00`, logical_date: "2026-01-01T00:00:00+00:00" },
      { run_after: `2026-01-02T${at}:00+00:00`, logical_date: "2026-01-02T00:00:00+00:00" },
    ]);
    assert.equal(dag.catchup, false);
    assert.equal(dag.start_date, null);
    assert.equal(dag.max_active_runs, 1);
    const bash = dag.tasks.filter((task) => task.bash_operator);
    assert.deepEqual(bash.map((task) => task.task_id), pipeline.tasks.map((task) => task.name));
    for (const [i, task] of bash.entries()) {
      const definition = pipeline.tasks[i]!;
      assert.equal(task.operator, "PipelineTaskOperator");
      assert.equal(task.retries, 3);
      assert.equal(task.retry_delay_s, 180);
      assert.equal(task.execution_timeout_s, definition.timeoutMs / 1000);
      assert.ok(
        task.bash_command?.includes(
          `pipelines/cli.ts" airflow-task ${pipeline.name} ${definition.name} --ds {{ ds }} `,
        ),
        task.bash_command ?? "",
      );
      if (i > 0) assert.deepEqual(task.upstream, [pipeline.tasks[i - 1]!.name]);
    }
  }
  // transform waits for the same ds's extract_load with an Airflow sensor, then runs dbt_build,
  // then checks the source's freshness.
  const transform = parsed!.dags.transform_pipeline!;
  assert.deepEqual(
    transform.tasks.map((task) => [task.task_id, task.operator, task.upstream]),
    [
      ["wait_for_extract_load", "ExternalTaskSensor", []],
      ["dbt_build", "PipelineTaskOperator", ["wait_for_extract_load"]],
      ["source_freshness", "PipelineTaskOperator", ["dbt_build"]],
    ],
  );
  assert.equal(transform.tasks[0]?.external_dag_id, "extract_load_pipeline");
  assert.equal(parsed!.dags.extract_load_pipeline!.tasks[0]?.upstream.length, 0);

  // The API pool: extract holds API_CONCURRENCY (4) slots and runs with as many requests at once;
  // every task on the default queue.
  const slots = (dags: AirflowDags | undefined) =>
    Object.values(dags!.dags).flatMap((dag) =>
      dag.tasks.map((t) =>
        `${t.task_id}:${t.pool}/${t.pool_slots}@${t.queue}:${t.env?.API_CONCURRENCY ?? "-"}`
      )
    );
  assert.deepEqual(slots(parsed), [
    "migrate:default_pool/1@default:-",
    "extract:randomuser_elt_api/4@default:4",
    "load:default_pool/1@default:-",
    "wait_for_extract_load:default_pool/1@default:-",
    "dbt_build:default_pool/1@default:-",
    "source_freshness:default_pool/1@default:-",
  ]);
  // Airflow Variables set max_active_runs and the queues; API_CONCURRENCY is read where parsed.
  assert.deepEqual(Object.values(tuned!.dags).map((dag) => dag.max_active_runs), [8, 8]);
  assert.deepEqual(slots(tuned), [
    "migrate:default_pool/1@default:-",
    "extract:randomuser_elt_api/3@api:3",
    "load:default_pool/1@default:-",
    "wait_for_extract_load:default_pool/1@default:-",
    "dbt_build:default_pool/1@dbt:-",
    "source_freshness:default_pool/1@default:-",
  ]);

  // Catch-up follows CATCHUP and PIPELINE_START_DATE, read where the files are parsed.
  for (const dag of Object.values(caughtUp!.dags)) {
    assert.equal(dag.catchup, true);
    assert.equal(dag.start_date, "2026-01-01T00:00:00+00:00");
  }
  // A bad value is an import error that names the variable.
  const reported = Object.entries(badCatchup!.import_errors);
  assert.deepEqual(reported.map(([file]) => file.split("/").at(-1)).sort(), [
    "extract_load_pipeline.py",
    "transform_pipeline.py",
  ]);
  for (const [, error] of reported) {
    assert.match(error, /invalid configuration: CATCHUP must be true or false \(got 'maybe'\)/);
  }
  // So is a Variable that names no task, or a max_active_runs that is not a count.
  assert.equal(Object.keys(badVariables!.import_errors).length, 2);
  for (const error of Object.values(badVariables!.import_errors)) {
    assert.match(
      error,
      /invalid Airflow Variable randomuser_elt_queues: no task extrakt; the tasks: migrate, extract, load, wait_for_extract_load, dbt_build/,
    );
  }
  assert.equal(Object.keys(badRuns!.import_errors).length, 2);
  for (const error of Object.values(badRuns!.import_errors)) {
    assert.match(
      error,
      /the Airflow Variable randomuser_elt_max_active_runs must be a whole number from 1 to 1000 \(got '0'\)/,
    );
  }
});

Deno.test("airflow dags test loads and transforms a ds, the ledger agrees with Airflow, and a second run changes no row", async () => {
  await using fixture = await createPipelineFixture();
  await using airflow = await createAirflowHome({
    dagsFolder: COMMITTED_DAGS,
    env: taskEnv(fixture),
  });
  const ds = "2026-01-02";
  const both = async () => {
    assertExit(await airflow.cli(["dags", "test", "extract_load_pipeline", ds]), 0);
    assertExit(await airflow.cli(["dags", "test", "transform_pipeline", ds]), 0);
  };

  await both();
  const loaded = await usersChecksum(fixture);
  assert.equal(loaded.rows, USERS);
  const [facts] = await fixture.db.sql`
    select count(*)::int as n, min(load_date)::text as ds from analytics.dim_user`;
  assert.deepEqual(facts, { n: USERS, ds });
  const marts = await martChecksums(fixture.db.sql);
  assert.ok(Object.keys(marts).length >= 5, `marts: ${Object.keys(marts)}`);

  const firstRuns = await ledger(fixture);
  assert.deepEqual(
    firstRuns.map((run) => [run.pipeline, run.ds, run.trigger, run.state]),
    [["extract_load", ds, "airflow", "succeeded"], ["transform", ds, "airflow", "succeeded"]],
  );
  for (const pipeline of ["extract_load", "transform"] as const) {
    const { airflow: theirs, ledger: ours } = agreement(
      pipeline,
      await airflow.runs(airflowDagId(pipeline)),
      firstRuns,
    );
    assert.equal(theirs.length, 1);
    assert.deepEqual(ours, theirs);
  }
  assert.deepEqual(firstRuns[0]?.tries.map((t) => `${t.task}#${t.try_number}:${t.exit_code}`), [
    "migrate#1:0",
    "extract#1:0",
    "load#1:0",
  ]);
  const table = await fixture.cli(["status"]);
  assertExit(table, 0);
  assert.match(
    table.stdout,
    new RegExp(`^\\S+\\s+extract_load\\s+${ds}\\s+airflow\\s+succeeded`, "m"),
  );
  assert.match(table.stdout, /^ {2}load #1\s+succeeded \(exit 0\)\s+\S+ \S+\s+\d+\.\ds\s+300\s*$/m);

  await both();
  assert.deepEqual(await usersChecksum(fixture), loaded);
  // Every mart is as it was but the load batches' fact, which records the second run's load too.
  const { fct_load_batches: _before, ...unchanged } = marts;
  const { fct_load_batches: _after, ...again } = await martChecksums(fixture.db.sql);
  assert.deepEqual(again, unchanged);
  const allRuns = await ledger(fixture);
  assert.equal(allRuns.length, 4);
  assert.ok(allRuns.every((run) => run.state === "succeeded" && run.trigger === "airflow"));
  for (const pipeline of ["extract_load", "transform"] as const) {
    const { airflow: theirs, ledger: ours } = agreement(
      pipeline,
      await airflow.runs(airflowDagId(pipeline)),
      allRuns,
    );
    // `dags test` replaces the DAG run of a logical date; the ledger keeps both.
    assert.equal(theirs.length, 1);
    assert.deepEqual(ours.at(-1), theirs[0]);
  }
});

Deno.test("Airflow retries a transient failure, fails terminal ones (exit 2, exit 3) without retries and alerts the one it ran once, and transform waits for extract_load", async () => {
  await using fixture = await createPipelineFixture();
  await using receiver = await startWebhookReceiver();
  // The same DAGs with a 1 s retry delay and a short wait for extract_load.
  await using dags = await tempDir();
  const config = await loadConfig({ env: { TASK_RETRY_DELAY: "1s" }, envFile: null });
  await writeAirflowDags(
    dags.path,
    renderAirflowDags(definePipelines(config.retryPolicy), {
      upstreamTimeoutMs: 3_000,
      upstreamPokeMs: 1_000,
    }),
  );
  await using airflow = await createAirflowHome({
    dagsFolder: dags.path,
    // Copied out of the checkout, the DAGs are told where it is.
    env: {
      ...taskEnv(fixture),
      AIRFLOW_VAR_RANDOMUSER_ELT_DIR: ROOT,
      ALERT_WEBHOOK_URL: receiver.url,
      ANALYST_PASSWORD: "Analyst-secret-77",
    },
  });

  // Transient: page 1 fails twice, more than the extract's own HTTP retries (API_RETRIES=1).
  fixture.api.faults.add({ page: 1, times: 2, fault: { kind: "status", status: 500 } });
  const retried = await airflow.cli(["dags", "test", "extract_load_pipeline", "2026-01-02"], {
    API_RETRIES: "1",
  });
  assertExit(retried, 0);
  const [run] = await airflow.runs("extract_load_pipeline");
  assert.deepEqual(
    run?.tries.filter((t) => t.task_id === "extract").map((t) => [t.try_number, t.state]),
    [[1, "failed"], [2, "success"]],
  );
  const [recorded] = await ledger(fixture);
  assert.equal(recorded?.state, "succeeded");
  assert.equal(recorded?.external_run_id, run?.run_id);
  assert.deepEqual(
    recorded?.tries.filter((t) => t.task === "extract").map((t) => [t.try_number, t.exit_code]),
    [[1, 1], [2, 0]],
  );
  assert.equal((await usersChecksum(fixture)).rows, USERS);
  assert.equal(receiver.posts.length, 0, "a retry that heals alerts nothing");

  // Usage: a configuration error (exit 2) fails the first task once; nothing after it runs.
  const before = await usersChecksum(fixture);
  const refused = await airflow.cli(["dags", "test", "extract_load_pipeline", "2026-01-03"], {
    USERS_PER_RUN: "0",
  });
  assert.notEqual(refused.code, 0);
  const output = refused.stdout + refused.stderr;
  assert.match(
    output,
    /error: invalid configuration: USERS_PER_RUN must be at least 1 \(got "0"\)/,
  );
  assert.match(output, /migrate exited with 2 \(usage or configuration error\); not retried/);
  const failed = (await airflow.runs("extract_load_pipeline")).find((r) =>
    r.logical_date.startsWith("2026-01-03")
  );
  assert.equal(failed?.state, "failed");
  assert.deepEqual(failed?.tries.map((t) => `${t.task_id}#${t.try_number}:${t.state}`), [
    "migrate#1:failed",
    "extract#0:upstream_failed",
    "load#0:upstream_failed",
  ]);
  // The ledger could not be opened with that configuration either: no run for that ds.
  assert.deepEqual((await ledger(fixture)).filter((r) => r.ds === "2026-01-03"), []);
  assert.deepEqual(await usersChecksum(fixture), before);

  // transform for that ds waits for its extract_load, which failed: it times out, dbt never runs.
  const waited = await airflow.cli(["dags", "test", "transform_pipeline", "2026-01-03"]);
  assert.notEqual(waited.code, 0);
  const [transform] = await airflow.runs("transform_pipeline");
  assert.equal(transform?.state, "failed");
  const states = Object.fromEntries(transform?.tries.map((t) => [t.task_id, t.state]) ?? []);
  assert.deepEqual(states, {
    wait_for_extract_load: "failed",
    dbt_build: "upstream_failed",
    source_freshness: "upstream_failed",
  });
  assert.deepEqual((await ledger(fixture)).filter((r) => r.pipeline === "transform"), []);

  // Terminal: the table is ahead of the extract, so the CSV header misses a column (exit 3).
  await fixture.db.sql`alter table raw.users add column nickname text`;
  const mismatch = await airflow.cli(["dags", "test", "extract_load_pipeline", "2026-01-04"]);
  assert.notEqual(mismatch.code, 0);
  assert.match(
    mismatch.stdout + mismatch.stderr,
    /load exited with 3 \(terminal failure\); not retried/,
  );
  const terminal = (await airflow.runs("extract_load_pipeline")).find((r) =>
    r.logical_date.startsWith("2026-01-04")
  );
  assert.deepEqual(terminal?.tries.map((t) => `${t.task_id}#${t.try_number}:${t.state}`), [
    "migrate#1:success",
    "extract#1:success",
    "load#1:failed",
  ]);
  const [recordedTerminal] = (await ledger(fixture)).filter((r) => r.ds === "2026-01-04");
  assert.equal(recordedTerminal?.external_run_id, terminal?.run_id);
  assert.equal(recordedTerminal?.state, "failed");
  assert.equal(recordedTerminal?.failure, "terminal");
  assert.match(recordedTerminal?.error ?? "", /^load failed after 1 try: the CSV header of /);
  assert.deepEqual(recordedTerminal?.tries.at(-1)?.exit_code, 3);

  // One alert in all: the terminal failure's. The configuration error stopped before the ledger
  // (and the alerts) could be opened: Airflow's own failure shows it.
  assert.equal(receiver.posts.length, 1);
  const alert = receiver.posts[0]!;
  assert.deepEqual(
    ["kind", "pipeline", "ds", "trigger", "task", "tries", "failure", "run_id"].map((key) =>
      alert.json?.[key]
    ),
    [
      "failure",
      "extract_load",
      "2026-01-04",
      "airflow",
      "load",
      1,
      "terminal",
      recordedTerminal?.run_id,
    ],
  );
  assert.match(String(alert.json?.error), /^the CSV header of .* does not match raw\.users/);
  for (const secret of [receiver.secret, "Analyst-secret-77", ...urlPasswords(fixture.db.url)]) {
    assert.ok(!alert.raw.includes(secret), `the alert shows ${secret}`);
  }
});

async function tempDir(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "relt-airflow-dags-" });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true });
    },
  };
}
