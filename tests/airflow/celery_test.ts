/**
 * The pipelines on a distributed Airflow: the CeleryExecutor with two workers that share nothing
 * but the warehouse (different Airflow homes, hostnames, queues and DATA_DIRs), driven through
 * Airflow's REST API as a team would drive it. Each run's extract and load are routed to
 * different workers; transform runs on the one that never holds a landing file. Then stand-in
 * faults (a transient one Airflow retries, a terminal one it does not), a load whose file is on
 * the other worker and whose batch the warehouse lost, and a 30-date backfill with 8 runs at
 * once, checked row by row against the stand-in's users. `deno task test:airflow`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { resolve } from "node:path";
import { renderAirflowDags, writeAirflowDags } from "../../pipelines/airflow_dags.ts";
import { definePipelines } from "../../pipelines/definitions.ts";
import { seedFor } from "../../tasks/extract/randomuser_client.ts";
import { landingFiles } from "../../tasks/landing/landing_zone.ts";
import { loadConfig } from "../../tasks/shared/config.ts";
import { dateRange } from "../../tasks/shared/dates.ts";
import { generatePage } from "../../tasks/stand_in/user_generator.ts";
import { type AirflowApi, startAirflowCluster } from "../helpers/airflow_cluster.ts";
import { createPipelineFixture, type PipelineFixture } from "../helpers/pipeline_fixture.ts";
import { rawUsersState } from "../helpers/raw_users.ts";
import { createTestDatabase } from "../helpers/test_warehouse.ts";
import { createWorkspace } from "../helpers/task_process.ts";

const ROOT = resolve(new URL("../../", import.meta.url).pathname);
/** Users per ds, in two pages: rows per ds are checked against the stand-in's, user by user. */
const USERS = 100;
const PAGE_SIZE = 50;
/** API requests per extract (each extract holds as many slots of the API pool). */
const API_CONCURRENCY = 2;
/** The API pool: two extracts' worth, so two extracts may overlap, never a third. */
const API_POOL_SLOTS = 2 * API_CONCURRENCY;
const API_RETRIES = 2;
const NOW = new Date("2026-11-27T00:00:00Z");
const EL = "extract_load_pipeline";
const TRANSFORM = "transform_pipeline";
/** Runs at once in the backfill (RELT_BACKFILL_RUNS=1 measures the serial wall time). */
const BACKFILL_RUNS = Number(Deno.env.get("RELT_BACKFILL_RUNS") ?? "8");
/**
 * The waits are bounds against a hung cluster, not timings: generous, for a busy shared machine
 * (on the 2-core machine at a load average of 15, transform's 30-date backfill took 14 minutes).
 */
const MINUTE = 60_000;

Deno.test("on the CeleryExecutor, with two workers that share no disk, both pipelines run, fail and retry as they should, and a 30-date backfill with 8 runs at once loses and duplicates nothing", async (t) => {
  const started = performance.now();
  await using fixture = await createPipelineFixture();
  await using metadata = await createTestDatabase();
  await using workspace = await createWorkspace();
  await using dags = await createWorkspace();
  const workers = ["worker-a", "worker-b"] as const;
  const dataDir = (worker: string) => `${workspace.dir}/${worker}/data`;

  // The DAGs as `deno task airflow:dags` writes them, with a 2 s retry delay and a 5 s poke.
  const config = await loadConfig({ env: { TASK_RETRY_DELAY: "2s" }, envFile: null });
  await writeAirflowDags(
    dags.dir,
    renderAirflowDags(definePipelines(config.retryPolicy), { upstreamPokeMs: 5_000 }),
  );
  const taskEnv = {
    DATABASE_URL: fixture.db.url,
    RANDOMUSER_API_URL: fixture.api.url,
    USERS_PER_RUN: String(USERS),
    API_PAGE_SIZE: String(PAGE_SIZE),
    API_CONCURRENCY: String(API_CONCURRENCY),
    API_RETRIES: String(API_RETRIES),
    API_RETRY_DELAY: "10ms",
    DBT_RUNNER: "local",
    AIRFLOW_VAR_RANDOMUSER_ELT_DIR: ROOT,
    AIRFLOW_VAR_RANDOMUSER_ELT_DENO: Deno.execPath(),
    // The test triggers every run itself: no scheduled run of today once the DAGs are unpaused.
    AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE: "False",
  };
  const clusterStart = performance.now();
  await using cluster = await startAirflowCluster({
    dagsFolder: dags.dir,
    metadataUrl: metadata.url,
    env: taskEnv,
    workers: workers.map((name, i) => ({
      name,
      queues: [i === 0 ? "relt_a" : "relt_b"],
      concurrency: 8,
      env: {
        DATA_DIR: dataDir(name),
        // The tasks' working directory: no developer .env is read.
        AIRFLOW_VAR_RANDOMUSER_ELT_WORKDIR: `${workspace.dir}/${name}`,
      },
    })),
    pools: { randomuser_elt_api: API_POOL_SLOTS },
    variables: {
      randomuser_elt_max_active_runs: "3",
      // extract on worker-a; load and transform on worker-b, which never holds a landing file.
      randomuser_elt_queues: JSON.stringify({
        extract: "relt_a",
        load: "relt_b",
        dbt_build: "relt_b",
      }),
    },
  });
  for (const worker of workers) await Deno.mkdir(`${workspace.dir}/${worker}`, { recursive: true });
  const { api } = cluster;
  const clusterUp = performance.now();
  await waitForDags(api);
  console.log(
    `airflow celery test: cluster up in ${seconds(clusterUp - clusterStart)} s ` +
      `(.venv-airflow included), ` +
      `DAGs parsed ${seconds(performance.now() - clusterUp)} s later`,
  );
  const airflow = new AirflowRecords(metadata.sql);
  const diagnose = async () =>
    (await Promise.all(
      ["scheduler", ...workers].map(async (c) => `--- ${c}\n${await cluster.logTail(c, 30)}`),
    )).join("\n");
  const dag = await api.get<{ max_active_runs: number }>(`/api/v2/dags/${EL}`);
  assert.equal(dag.max_active_runs, 3, "max_active_runs comes from the Airflow Variable");
  for (const id of [EL, TRANSFORM]) await api.patch(`/api/v2/dags/${id}`, { is_paused: false });

  const first = ["2026-03-01", "2026-03-02", "2026-03-03"];
  const [transient, terminal] = ["2026-03-04", "2026-03-05"];
  /** The runs the test started (Airflow also schedules today's once the DAGs are unpaused). */
  const ours: string[] = [];
  await t.step(
    "three dates through both DAGs, a transient fault retried and a terminal one not",
    async () => {
      // Stand-in faults for two more dates' seeds: the first dates' requests go unharmed.
      fixture.api.faults.add({
        seed: seedFor(transient),
        page: 1,
        times: API_RETRIES + 1,
        fault: { kind: "status", status: 500 },
      });
      fixture.api.faults.add({
        seed: seedFor(terminal),
        times: Infinity,
        fault: { kind: "wrong_types", records: PAGE_SIZE },
      });
      const runs = await Promise.all([
        ...[...first, transient, terminal].map((ds) => trigger(api, EL, ds)),
        ...first.map((ds) => trigger(api, TRANSFORM, ds)),
      ]);
      ours.push(...runs.map((r) => r.run_id));
      const done = await waitForRuns(api, runs, { deadlineMs: 15 * MINUTE, diagnose });
      fixture.api.faults.clear();
      const tis = await airflow.taskInstances(runs.map((r) => r.run_id));
      const byDs = (ds: string, task: string) => {
        const run = done.find((r) => r.dag_id === EL && r.logical_date.startsWith(ds))!;
        return tis.filter((ti) => ti.run_id === run.run_id && ti.task_id === task)
          .map((ti) => `#${ti.try_number}:${ti.state}`);
      };
      // Every task of the three dates succeeded; each run's extract ran on worker-a, its load on
      // worker-b (which has no landing file) and the transform on worker-b as well.
      const plain = done.filter((r) => first.some((ds) => r.logical_date.startsWith(ds)));
      assert.deepEqual(plain.map((r) => r.state), Array(6).fill("success"));
      const plainTis = tis.filter((ti) => plain.some((r) => r.run_id === ti.run_id));
      assert.deepEqual(plainTis.filter((ti) => ti.state !== "success"), []);
      assert.deepEqual(new Set(hosts(plainTis, "extract")), new Set(["worker-a"]));
      assert.deepEqual(new Set(hosts(plainTis, "load")), new Set(["worker-b"]));
      assert.deepEqual(new Set(hosts(plainTis, "dbt_build")), new Set(["worker-b"]));
      for (const ds of first) {
        assert.ok(await exists(landingFiles(dataDir("worker-a"), ds).csv));
        assert.equal(await exists(landingFiles(dataDir("worker-b"), ds).csv), false);
      }
      await assertUsersOf(fixture, [...first, transient]);
      const [facts] = await fixture.db.sql<{ n: number }[]>`
      select count(distinct load_date)::int as n from analytics.dim_user
      where load_date in ${fixture.db.sql(first)}`;
      assert.equal(facts?.n, 3);
      // max_active_runs (the Variable: 3) held: never four extract_load runs at once.
      assert.ok(maxOverlap(done.filter((r) => r.dag_id === EL)) <= 3);
      // Transient: extract failed, Airflow retried it, the retry succeeded. Terminal: one try.
      assert.deepEqual(byDs(transient, "extract"), ["#1:failed", "#2:success"]);
      assert.deepEqual(byDs(terminal, "extract"), ["#1:failed"]);
      assert.deepEqual(byDs(terminal, "load"), ["#0:upstream_failed"]);
      const ledger = await ledgerRuns(fixture);
      const of = (ds: string) => ledger.find((r) => r.ds === ds && r.pipeline === "extract_load")!;
      assert.deepEqual(of(transient).tries.map((t) => `${t.task}#${t.try_number}:${t.exit_code}`), [
        "migrate#1:0",
        "extract#1:1",
        "extract#2:0",
        "load#1:0",
      ]);
      assert.equal(of(terminal).failure, "terminal");
      assert.match(
        of(terminal).error ?? "",
        /^extract failed after 1 try: \d+ of \d+ records .* failed validation/,
      );
      await assertLedgerAgrees(fixture, airflow, { dataDir, runIds: ours });
    },
  );

  const dates = dateRange("2026-04-01", "2026-04-30");
  await t.step(`a 30-date backfill of each DAG, ${BACKFILL_RUNS} runs at once`, async () => {
    // Every API request takes 200 ms: extracts of parallel runs would overlap without the pool.
    fixture.api.faults.add({ times: Infinity, fault: { kind: "delay", ms: 200 } });
    fixture.api.resetPeakInFlight();
    const runs: DagRun[] = [];
    // extract_load's backfill, then transform's (whose sensors then pass at their first look).
    for (const id of [EL, TRANSFORM]) {
      const startedAt = performance.now();
      await api.post("/api/v2/backfills", {
        dag_id: id,
        from_date: `${dates[0]}T00:00:00Z`,
        to_date: `${dates.at(-1)}T12:00:00Z`,
        max_active_runs: BACKFILL_RUNS,
        run_backwards: false,
        dag_run_conf: {},
        reprocess_behavior: "none",
      });
      // One run at a time (the serial figure of docs/airflow.md) takes far longer.
      const deadlineMs = (BACKFILL_RUNS < 8 ? 90 : 25) * MINUTE;
      runs.push(...await waitForBackfill(api, id, dates.length, { deadlineMs, diagnose }));
      console.log(
        `airflow backfill of 30 dates, ${BACKFILL_RUNS} runs at once, on 2 workers: ${id} ` +
          `${seconds(performance.now() - startedAt)} s`,
      );
    }
    fixture.api.faults.clear();
    ours.push(...runs.map((r) => r.run_id));
    const el = runs.filter((r) => r.dag_id === EL);
    console.log(
      `airflow backfill: at most ${maxOverlap(el)} extract_load runs and ` +
        `${fixture.api.peakInFlight} API requests at once`,
    );
    const failed = runs.filter((r) => r.state !== "success");
    if (failed.length > 0) {
      // Say why: the ledger holds each failed try's error line.
      const why = (await ledgerRuns(fixture)).filter((r) => r.state !== "succeeded");
      assert.fail(
        `${failed.length} backfill runs did not succeed: ${
          failed.map((r) => r.run_id).join(", ")
        }` +
          `\nthe ledger's runs that did not succeed:\n${JSON.stringify(why, null, 1)}\n` +
          await diagnose(),
      );
    }
    assert.ok(maxOverlap(el) <= BACKFILL_RUNS);
    // The pool: never more requests in flight than its slots, over all runs together.
    assert.ok(fixture.api.peakInFlight >= 1 && fixture.api.peakInFlight <= API_POOL_SLOTS);
    await assertUsersOf(fixture, dates);
    // No lock left behind, no run left running.
    const [locks] = await fixture.db.sql<{ n: number }[]>`
      select count(*)::int as n from pg_locks
      where locktype = 'advisory'
        and database = (select oid from pg_database where datname = current_database())`;
    assert.equal(locks?.n, 0);
    const ledger = await ledgerRuns(fixture);
    assert.deepEqual(ledger.filter((r) => r.state === "running"), []);
    for (const pipeline of ["extract_load", "transform"]) {
      const succeeded = ledger.filter((r) =>
        r.pipeline === pipeline && dates.includes(r.ds) && r.state === "succeeded"
      );
      assert.deepEqual(succeeded.map((r) => r.ds).sort(), dates);
    }
    await assertLedgerAgrees(fixture, airflow, { dataDir, runIds: ours });
  });

  await t.step(
    "a load without its file, whose batch the warehouse lost, fails terminal at once",
    async () => {
      // The warehouse loses a date's batch (say, restored from a backup); its load runs again on
      // worker-b, which never had the file.
      const lost = "2026-04-15";
      await fixture.db.sql`delete from raw.users where _ds = ${lost}::date`;
      await fixture.db.sql`delete from meta.load_batches where ds = ${lost}::date`;
      const before = await warehouseState(fixture);
      const [run] = await airflow.runsOf(EL, [lost]);
      await api.post(`/api/v2/dags/${EL}/clearTaskInstances`, {
        dry_run: false,
        dag_run_id: run!.run_id,
        task_ids: ["load"],
        only_failed: false,
        reset_dag_runs: true,
      });
      const [done] = await waitForRuns(api, [{ dag_id: EL, run_id: run!.run_id }], {
        deadlineMs: 5 * MINUTE,
        diagnose,
      });
      assert.equal(done?.state, "failed");
      const loads = (await airflow.taskInstances([run!.run_id])).filter((t) =>
        t.task_id === "load"
      );
      assert.deepEqual(loads.map((t) => `#${t.try_number}:${t.state}@${t.hostname}`), [
        "#1:success@worker-b",
        "#2:failed@worker-b",
      ]);
      const ledger = (await ledgerRuns(fixture)).find((r) =>
        r.ds === lost && r.pipeline === "extract_load"
      )!;
      assert.equal(ledger.failure, "terminal");
      assert.match(
        ledger.error ?? "",
        new RegExp(
          `^load failed after 2 tries: the CSV of ds ${lost} is not on this worker \\(` +
            `${
              escape(landingFiles(dataDir("worker-b"), lost).csv)
            } on \\S+ does not exist\\) and ` +
            `the warehouse holds no loaded batch of it: meta.load_batches has no batch of ds ${lost}\\.`,
        ),
      );
      // The failed load changed nothing: raw.users and the batches are as they were.
      assert.deepEqual(await warehouseState(fixture), before);
      await assertLedgerAgrees(fixture, airflow, { dataDir, runIds: ours });
    },
  );

  await cluster.stop();
  console.log(`airflow celery test: ${seconds(performance.now() - started)} s`);
});

/** A DAG run as the REST API returns it. */
interface DagRun {
  dag_id: string;
  run_id: string;
  logical_date: string;
  state: string;
  start_date: string | null;
  end_date: string | null;
}

async function waitForDags(api: AirflowApi): Promise<void> {
  const deadline = Date.now() + 3 * MINUTE;
  for (;;) {
    const { dags } = await api.get<{ dags: { dag_id: string }[] }>("/api/v2/dags");
    if ([EL, TRANSFORM].every((id) => dags.some((d) => d.dag_id === id))) return;
    if (Date.now() > deadline) throw new Error("the DAGs were not parsed within 3 minutes");
    await sleep(1_000);
  }
}

async function trigger(api: AirflowApi, dagId: string, ds: string) {
  const run = await api.post<{ dag_run_id: string }>(`/api/v2/dags/${dagId}/dagRuns`, {
    logical_date: `${ds}T00:00:00Z`,
  });
  return { dag_id: dagId, run_id: run.dag_run_id };
}

/** Waits until every run is done (success or failed), up to the deadline. */
async function waitForRuns(
  api: AirflowApi,
  runs: { dag_id: string; run_id: string }[],
  options: { deadlineMs: number; diagnose: () => Promise<string> },
): Promise<DagRun[]> {
  const deadline = Date.now() + options.deadlineMs;
  for (;;) {
    // One request per DAG, not one per run: the API server shares the test's two cores.
    const listed = new Map<string, DagRun>();
    for (const dagId of new Set(runs.map((r) => r.dag_id))) {
      for (const run of await dagRuns(api, dagId, "")) listed.set(`${dagId} ${run.run_id}`, run);
    }
    const states = await Promise.all(runs.map(async (r) =>
      listed.get(`${r.dag_id} ${r.run_id}`) ??
        await api.get<DagRun & { dag_run_id: string }>(
          `/api/v2/dags/${r.dag_id}/dagRuns/${encodeURIComponent(r.run_id)}`,
        ).then((run) => ({ ...run, run_id: run.dag_run_id }))
    ));
    if (states.every((run) => run.state === "success" || run.state === "failed")) return states;
    if (Date.now() > deadline) {
      throw new Error(
        `runs not done within ${options.deadlineMs / 1000} s: ` +
          `${JSON.stringify(states.map((r) => [r.dag_id, r.run_id, r.state]))}\n` +
          (await options.diagnose()),
      );
    }
    await sleep(1_000);
  }
}

/** The runs of `dagId` (the first 100; `query` e.g. `run_type=backfill&`). */
async function dagRuns(api: AirflowApi, dagId: string, query: string): Promise<DagRun[]> {
  const page = await api.get<{ dag_runs: (DagRun & { dag_run_id: string })[] }>(
    `/api/v2/dags/${dagId}/dagRuns?${query}limit=100`,
  );
  return page.dag_runs.map((run) => ({ ...run, run_id: run.dag_run_id }));
}

/** Waits until `dagId` has `count` backfill runs, all done, up to the deadline. */
async function waitForBackfill(
  api: AirflowApi,
  dagId: string,
  count: number,
  options: { deadlineMs: number; diagnose: () => Promise<string> },
): Promise<DagRun[]> {
  const deadline = Date.now() + options.deadlineMs;
  for (;;) {
    const runs = await dagRuns(api, dagId, "run_type=backfill&");
    const done = runs.filter((run) => run.state === "success" || run.state === "failed");
    if (runs.length === count && done.length === count) return runs;
    if (Date.now() > deadline) {
      throw new Error(
        `${dagId}'s backfill not done within ${options.deadlineMs / 1000} s: ${done.length} of ` +
          `${count} runs done\n${await options.diagnose()}`,
      );
    }
    await sleep(2_000);
  }
}

/** The most runs that were running at the same moment. */
function maxOverlap(runs: { start_date: string | null; end_date: string | null }[]): number {
  const events = runs.flatMap((r) =>
    r.start_date && r.end_date
      ? [[Date.parse(r.start_date), 1], [Date.parse(r.end_date), -1]] as const
      : []
  ).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let max = 0;
  for (const [, step] of events) max = Math.max(max, now += step);
  return max;
}

/** One try of a task instance, as Airflow's metadata database holds it. */
interface AirflowTry {
  dag_id: string;
  run_id: string;
  task_id: string;
  try_number: number;
  state: string;
  hostname: string;
}

/** Task instances and their earlier tries, as Airflow's metadata database holds them. */
class AirflowRecords {
  readonly #sql: PipelineFixture["db"]["sql"];

  constructor(sql: PipelineFixture["db"]["sql"]) {
    this.#sql = sql;
  }

  /** Every try of every task in the runs `runIds` (and, at try 0, the ones that never ran). */
  async taskInstances(runIds: string[]): Promise<AirflowTry[]> {
    return [
      ...await this.#sql<AirflowTry[]>`
      select dag_id, run_id, task_id, try_number, state, hostname from (
        select dag_id, run_id, task_id, try_number, state, hostname from task_instance_history
        union all
        select dag_id, run_id, task_id, try_number, state, hostname from task_instance
      ) as tries where run_id in ${this.#sql(runIds)}
      order by dag_id, run_id, task_id, try_number`,
    ];
  }

  /** Every try of our tasks (not the sensor) that ran, in the runs `runIds`. */
  async allTries(runIds: string[]): Promise<AirflowTry[]> {
    return (await this.taskInstances(runIds)).filter((t) =>
      !t.task_id.startsWith("wait_for_") && t.try_number > 0
    );
  }

  async runsOf(dagId: string, dates: string[]) {
    const runs = await this.#sql<{ run_id: string; ds: string; state: string }[]>`
      select run_id, to_char(logical_date at time zone 'UTC', 'YYYY-MM-DD') as ds, state
      from dag_run where dag_id = ${dagId}`;
    return dates.map((ds) => runs.find((run) => run.ds === ds)!);
  }
}

function hosts(tis: { task_id: string; hostname: string }[], task: string): string[] {
  return tis.filter((ti) => ti.task_id === task).map((ti) => ti.hostname);
}

interface LedgerRun {
  pipeline: string;
  ds: string;
  state: string;
  error: string | null;
  failure: string | null;
  external_run_id: string | null;
  tries: {
    task: string;
    try_number: number;
    state: string;
    exit_code: number | null;
    log_path: string;
  }[];
}

async function ledgerRuns(fixture: PipelineFixture): Promise<LedgerRun[]> {
  const status = await fixture.cli(["status", "--json", "--limit", "500"]);
  if (status.code !== 0) throw new Error(`deno task status failed:\n${status.stderr}`);
  return JSON.parse(status.stdout) as LedgerRun[];
}

/**
 * The ledger and Airflow agree try by try: the same tries of the same tasks in each DAG run, with
 * the same outcome, and each try's log on the disk of the worker Airflow says ran it.
 */
async function assertLedgerAgrees(
  fixture: PipelineFixture,
  airflow: AirflowRecords,
  { dataDir, runIds }: { dataDir: (worker: string) => string; runIds: string[] },
): Promise<void> {
  const state = (s: string) =>
    s === "success" ? "succeeded" : s === "running" ? "running" : "failed";
  const theirs = (await airflow.allTries(runIds)).map((t) =>
    `${t.run_id} ${t.task_id}#${t.try_number}:${state(t.state)}@${t.hostname}`
  ).sort();
  const ledger = (await ledgerRuns(fixture)).filter((run) =>
    runIds.includes(run.external_run_id ?? "")
  );
  const ours = ledger.flatMap((run) =>
    run.tries.map((t) => {
      const worker = ["worker-a", "worker-b"].find((w) => t.log_path.startsWith(dataDir(w)));
      return `${run.external_run_id} ${t.task}#${t.try_number}:${t.state}@${worker}`;
    })
  ).sort();
  assert.deepEqual(ours, theirs);
}

/** Each ds in raw.users holds exactly the stand-in's users for its seed, once. */
async function assertUsersOf(fixture: PipelineFixture, dates: string[]): Promise<void> {
  const rows = await fixture.db.sql<{ ds: string; ids: string[] }[]>`
    select _ds::text as ds, array_agg(id::text order by id) as ids from raw.users
    where _ds in ${fixture.db.sql(dates)} group by _ds order by _ds`;
  const expected = dates.map((ds) => ({
    ds,
    ids: Array.from(
      { length: USERS / PAGE_SIZE },
      (_, i) =>
        generatePage({ seed: seedFor(ds), page: i + 1, results: PAGE_SIZE, now: NOW }).results
          .map((user) => user.login.uuid),
    ).flat().sort(),
  }));
  assert.deepEqual([...rows], expected);
}

async function warehouseState(fixture: PipelineFixture) {
  const [batches] = await fixture.db.sql<{ n: number; sum: string | null }[]>`
    select count(*)::int as n, md5(string_agg(b::text, '|' order by batch_id)) as sum
    from meta.load_batches as b`;
  return { users: await rawUsersState(fixture.db.sql), batches };
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Milliseconds as whole seconds, for the test's timing lines. */
function seconds(ms: number): string {
  return (ms / 1000).toFixed(0);
}

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}
