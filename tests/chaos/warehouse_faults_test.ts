/**
 * Warehouse faults: the server ends the sessions of a running load (mid-COPY) and of a running
 * `dbt build` (`pg_terminate_backend`, as a restart or an operator would), and the warehouse is
 * down when a run starts. The try must fail with a message that says what happened, the retry
 * must succeed, and a run that cannot start must say why and exit 1 — or 3, at once, when the
 * server at DATABASE_URL is not PostgreSQL at all.
 */
import assert from "node:assert/strict";
import { assertExit } from "../helpers/pipeline_fixture.ts";
import { IMPOSTOR_PASSWORD, startImpostor } from "../helpers/impostor_server.ts";
import { recordChaos } from "./chaos_report.ts";
import { createChaosFixture, secondsSince } from "./chaos_fixture.ts";

const DS = "2026-03-01";
/** Enough users that COPY runs for a moment. */
const COPY_USERS = 100_000;

Deno.test("a load whose session is terminated mid-COPY fails its try with a clear message, and the retry loads every row", async () => {
  const started = performance.now();
  await using fixture = await createChaosFixture();
  const run = fixture.launch("pipelines/cli.ts", {
    args: ["run", "extract_load", "--ds", DS],
    env: { USERS_PER_RUN: String(COPY_USERS), TASK_RETRIES: "1", TASK_RETRY_DELAY: "100ms" },
  });
  // First the extract's streamed COPY, then the load task's COPY of the file.
  for (const task of ["extract", "load"]) {
    const copy = await fixture.waitForSession({
      application: `randomuser-elt:${task}:%`,
      query: "copy %",
    });
    const [terminated] = await fixture.db.sql`
      select pg_terminate_backend(${copy.backendPid}) as ok`;
    assert.equal(terminated?.ok, true);
  }
  const result = await run.finished;
  assertExit(result, 0);
  // The streamed load does not fail the extract: the load task loads the file instead.
  assert.match(
    result.stderr,
    /msg="the streamed load did not finish; `deno task load` loads the file" .*the warehouse connection broke/,
  );

  const tries = await fixture.tries({ pipeline: "extract_load", ds: DS });
  assert.deepEqual(
    tries.filter((x) => x.task !== "migrate")
      .map((x) => `${x.task}#${x.try_number}:${x.state}:${x.exit_code}:${x.rows}`),
    [
      `extract#1:succeeded:0:${COPY_USERS}`,
      "load#1:failed:1:null",
      `load#2:succeeded:0:${COPY_USERS}`,
    ],
  );
  assert.match(
    tries.find((x) => x.task === "load")?.error ?? "",
    /^loading \S+random_user\.csv into raw\.users failed: the warehouse connection broke .*; raw\.users is unchanged\. Retrying may succeed\.$/,
  );
  const batches = await fixture.db.sql<{ status: string; error: string | null }[]>`
    select status, error from meta.load_batches order by started_at`;
  assert.deepEqual(
    batches.map((batch) => batch.status),
    ["failed", "failed", "succeeded"],
    JSON.stringify(batches) + result.stderr,
  );
  const users = await fixture.rawUsers();
  assert.deepEqual([users.rows, users.ids], [COPY_USERS, COPY_USERS]);
  await recordChaos("warehouse", {
    scenario: "pg_terminate_backend of the streamed COPY, then of the load's COPY",
    faultsInjected: 2,
    runsRecovered: 1,
    rowsExpected: COPY_USERS,
    rowsFound: users.rows,
    seconds: secondsSince(started),
  });
});

Deno.test("a dbt build whose sessions are terminated fails its try with a clear message, and the retry builds the marts", async () => {
  const started = performance.now();
  await using fixture = await createChaosFixture();
  const env = { USERS_PER_RUN: "500", TASK_RETRIES: "1", TASK_RETRY_DELAY: "100ms" };
  assertExit(await fixture.cli(["run", "extract_load", "--ds", DS], env), 0);
  const run = fixture.launch("pipelines/cli.ts", { args: ["run", "transform", "--ds", DS], env });
  // dbt names its sessions "dbt"; wait until one builds a model, then end all of them.
  const building = await fixture.waitForSession({
    application: "dbt",
    query: "%create % table %",
    active: true,
  });
  const [ended] = await fixture.db.sql<{ n: number }[]>`
    select count(*) filter (where pg_terminate_backend(pid))::int as n from pg_stat_activity
    where datname = current_database() and application_name = 'dbt'`;
  assert.ok((ended?.n ?? 0) >= 1, `no dbt session was terminated (saw ${building.query})`);
  const result = await run.finished;
  assertExit(result, 0);

  const tries = await fixture.tries({ pipeline: "transform", ds: DS });
  assert.deepEqual(tries.map((x) => `${x.task}#${x.try_number}:${x.state}:${x.exit_code}`), [
    "dbt_build#1:failed:1",
    "dbt_build#2:succeeded:0",
    "source_freshness#1:succeeded:0",
  ]);
  const [facts] = await fixture.db.sql<{ n: number; ids: number }[]>`
    select count(*)::int as n, count(distinct user_id)::int as ids from analytics.fct_registrations`;
  assert.deepEqual(facts, { n: 500, ids: 500 });
  await recordChaos("warehouse", {
    scenario: "pg_terminate_backend of dbt's sessions during dbt build",
    faultsInjected: ended?.n ?? 0,
    runsRecovered: 1,
    rowsExpected: 500,
    rowsFound: facts?.n ?? 0,
    seconds: secondsSince(started),
  });
  // What the ledger (and `deno task status`) says about the failed try: it must name what
  // failed, not only an exit code.
  assert.match(
    tries[0]?.error ?? "",
    /server closed the connection|terminating connection|connection.*(closed|terminated)/i,
    `the failed dbt_build try says only ${JSON.stringify(tries[0]?.error)}`,
  );
});

Deno.test("a warehouse that is down at start is a clear error and exit 1, for cli run and for a task", async () => {
  const started = performance.now();
  await using fixture = await createChaosFixture();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const password = `down-${crypto.randomUUID()}`;
  const env = { DATABASE_URL: `postgres://pipeline:${password}@127.0.0.1:${port}/warehouse` };
  const cases: Array<[string, Promise<{ code: number; stdout: string; stderr: string }>]> = [
    ["cli run", fixture.cli(["run", "extract_load", "--ds", DS], env)],
    ["cli backfill", fixture.cli(["backfill", "--from", DS, "--to", DS], env)],
    ["cli status", fixture.cli(["status"], env)],
    ["migrate", fixture.run("migrate", [], env)],
    ["load", fixture.run("load", ["--ds", DS], env)],
    ["dbt_build", fixture.run("dbt_build", ["--ds", DS], env)],
  ];
  for (const [what, running] of cases) {
    const result = await running;
    assert.equal(result.code, 1, `${what}: ${result.stderr}`);
    assert.match(
      result.stderr,
      new RegExp(
        `^error: cannot reach the warehouse at postgres://pipeline:\\*\\*\\*@127\\.0\\.0\\.1:${port}/warehouse: .*ECONNREFUSED`,
        "m",
      ),
      what,
    );
    assert.ok(!(result.stdout + result.stderr).includes(password), `${what} printed the password`);
  }
  await recordChaos("warehouse", {
    scenario: "warehouse down at start: cli run, backfill, status, migrate, load, dbt_build",
    faultsInjected: cases.length,
    seconds: secondsSince(started),
  });
});

Deno.test("a DATABASE_URL that is not PostgreSQL stops the run at once and never loops", async () => {
  const started = performance.now();
  await using fixture = await createChaosFixture();
  assertExit(await fixture.cli(["run", "extract_load", "--ds", DS], { USERS_PER_RUN: "300" }), 0);
  const before = await fixture.rawUsers();
  // Through the runner with its default retries: a server that is not PostgreSQL is terminal
  // (one try), so the run ends within seconds instead of retrying for nine minutes.
  for (const manner of ["http", "close"] as const) {
    await using impostor = startImpostor(manner);
    const run = await fixture.cli(["run", "extract_load", "--ds", "2026-03-02"], {
      DATABASE_URL: impostor.url,
    });
    assertExit(run, 3);
    assert.match(
      run.stderr,
      /is not PostgreSQL|closed the connection during the startup handshake/,
    );
    assert.ok(impostor.connections <= 5, `${manner}: ${impostor.connections} connections`);
    assert.ok(!(run.stdout + run.stderr).includes(IMPOSTOR_PASSWORD), "the password leaked");
  }
  assert.deepEqual(await fixture.rawUsers(), before);
  await recordChaos("warehouse", {
    scenario: "DATABASE_URL at an HTTP server and at one that closes: terminal, bounded",
    faultsInjected: 2,
    rowsExpected: before.rows,
    rowsFound: (await fixture.rawUsers()).rows,
    seconds: secondsSince(started),
  });
});
