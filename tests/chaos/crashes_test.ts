/**
 * Crashes: `kill -9` mid-COPY (of the streamed extract --load through the runner, and of the
 * load alone), of the extract mid-download, and of the scheduler mid-run. Nothing half-done may be visible afterwards, and
 * the next try or start must finish the work with every row in place.
 */
import assert from "node:assert/strict";
import { assertExit } from "../helpers/pipeline_fixture.ts";
import { todayUtc } from "../../tasks/shared/dates.ts";
import { recordChaos } from "./chaos_report.ts";
import { createChaosFixture, secondsSince, waitUntil } from "./chaos_fixture.ts";

/** Enough users that COPY runs for a few seconds, so it can be caught in the act. */
const COPY_USERS = 200_000;
const DS = "2026-02-01";

async function tempFiles(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.name.includes(".tmp-")) names.push(entry.name);
  }
  return names.sort();
}

Deno.test("a load killed by kill -9 mid-COPY leaves nothing behind, and the next load finishes the job", async (t) => {
  await using fixture = await createChaosFixture();

  await t.step(
    "through the runner (the extract streams into COPY): the try is failed in the ledger and the " +
      "retry loads every row",
    async () => {
      const started = performance.now();
      // The retry delay is the window in which we look at the warehouse between the two tries.
      const run = fixture.launch("pipelines/cli.ts", {
        args: ["run", "extract_load", "--ds", DS],
        env: { USERS_PER_RUN: String(COPY_USERS), TASK_RETRIES: "1", TASK_RETRY_DELAY: "6s" },
      });
      // The pipeline's extract streams the CSV into raw.users: its session is the one copying.
      const copy = await fixture.waitForSession({
        application: "randomuser-elt:extract:%",
        query: "copy %",
      });
      Deno.kill(copy.clientPid, "SIGKILL");
      await fixture.waitForSessionEnd(copy.backendPid);

      // Between the tries: the killed try is failed, the session's transaction died with it, and
      // raw.users holds nothing of the half-copied file.
      await waitUntil(
        async () =>
          (await fixture.tries({ pipeline: "extract_load", ds: DS })).some((attempt) =>
            attempt.task === "extract" && attempt.state === "failed"
          ),
        { what: "the killed extract try to be marked failed" },
      );
      const between = await fixture.tries({ pipeline: "extract_load", ds: DS });
      assert.deepEqual(between.map((x) => `${x.task}#${x.try_number}:${x.state}`), [
        "migrate#1:succeeded",
        "extract#1:failed",
      ]);
      assert.match(between[1]?.error ?? "", /signal SIGKILL/);
      const [leftovers] = await fixture.db.sql<{ stages: number; open: number }[]>`
        select (select count(*)::int from pg_class where relname = 'users_stage') as stages,
               (select count(*)::int from pg_stat_activity
                where datname = current_database() and pid <> pg_backend_pid()
                  and backend_type = 'client backend' and xact_start is not null) as open`;
      assert.deepEqual(leftovers, { stages: 0, open: 0 });
      assert.deepEqual((await fixture.rawUsers()).rows, 0);

      const result = await run.finished;
      assertExit(result, 0);
      const tries = await fixture.tries({ pipeline: "extract_load", ds: DS });
      assert.deepEqual(tries.map((x) => `${x.task}#${x.try_number}:${x.state}:${x.rows}`), [
        "migrate#1:succeeded:0",
        "extract#1:failed:null",
        `extract#2:succeeded:${COPY_USERS}`,
        `load#1:succeeded:${COPY_USERS}`,
      ]);
      const users = await fixture.rawUsers();
      assert.deepEqual([users.rows, users.ids], [COPY_USERS, COPY_USERS]);
      const [batches] = await fixture.db.sql`
        select count(*) filter (where status = 'succeeded')::int as succeeded,
               count(*)::int as all from meta.load_batches`;
      assert.deepEqual(batches, { succeeded: 1, all: 1 });
      await recordChaos("crashes", {
        scenario: "kill -9 of the streamed extract --load mid-COPY, through the runner",
        faultsInjected: 1,
        runsRecovered: 1,
        rowsExpected: COPY_USERS,
        rowsFound: users.rows,
        seconds: secondsSince(started),
      });
    },
  );

  await t.step("alone: raw.users is exactly as it was, and the next load succeeds", async () => {
    const started = performance.now();
    // The same users under another ds: a load that got through would move every row to it. No
    // manifest vouches for the copy, so it loads only as a hand-made file (--unvouched).
    const other = "2026-02-02";
    await Deno.mkdir(fixture.files(other).dir, { recursive: true });
    await Deno.copyFile(fixture.files(DS).csv, fixture.files(other).csv);
    const before = await fixture.rawUsers();
    const load = fixture.launch("tasks/load.ts", { args: ["--ds", other, "--unvouched"] });
    const copy = await fixture.waitForSession({
      application: "randomuser-elt:load:%",
      query: "copy %",
    });
    Deno.kill(copy.clientPid, "SIGKILL");
    const killed = await load.finished;
    assert.equal(killed.signal, "SIGKILL");
    await fixture.waitForSessionEnd(copy.backendPid);
    assert.deepEqual(await fixture.rawUsers(), before);
    const [stages] = await fixture.db.sql`
      select count(*)::int as n from pg_class where relname = 'users_stage'`;
    assert.equal(stages?.n, 0);

    const again = await fixture.run("load", ["--ds", other, "--unvouched"]);
    assertExit(again, 0);
    assert.match(again.stdout, new RegExp(`rows=${COPY_USERS} inserted=0 updated=${COPY_USERS}`));
    const [moved] = await fixture.db.sql`
      select count(*)::int as n, count(distinct id)::int as ids from raw.users
      where _ds = ${other}::date`;
    assert.deepEqual(moved, { n: COPY_USERS, ids: COPY_USERS });
    await recordChaos("crashes", {
      scenario: "kill -9 of a standalone load mid-COPY",
      faultsInjected: 1,
      runsRecovered: 1,
      rowsExpected: COPY_USERS,
      rowsFound: moved?.n ?? 0,
      seconds: secondsSince(started),
    });
  });
});

Deno.test("an extract killed by kill -9 never shows a half CSV, and the rerun writes the full file", async () => {
  const started = performance.now();
  await using fixture = await createChaosFixture();
  const files = fixture.files(DS);
  const env = { API_PAGE_SIZE: "100" };
  const killMidway = async () => {
    // Page 2 hangs, so the task has written page 1 to its temporary file when it is killed.
    fixture.api.faults.add({ page: 2, fault: { kind: "delay", ms: 60_000 } });
    const extract = fixture.launch("tasks/extract.ts", {
      args: ["--ds", DS, "--users", "300"],
      env,
    });
    await waitUntil(() => /msg="page written" ds=\S+ page=1 /.test(extract.outputSoFar()), {
      what: "the extract to write page 1",
    });
    extract.killTree("SIGKILL");
    const result = await extract.finished;
    assert.equal(result.signal, "SIGKILL");
    fixture.api.faults.clear();
  };

  // No previous file: nothing under the final name, only the dead writer's temporary.
  await killMidway();
  await assert.rejects(Deno.stat(files.csv), Deno.errors.NotFound);
  assert.ok((await tempFiles(files.dir)).length > 0, "the killed extract left its temporary");

  const rerun = await fixture.run("extract", ["--ds", DS, "--users", "300"], env);
  assertExit(rerun, 0);
  assert.match(rerun.stdout, /users=300 rejects=0 pages=3/);
  const full = await Deno.readFile(files.csv);
  assert.deepEqual(await tempFiles(files.dir), [], "the rerun removed the dead writer's temporary");

  // A previous file: it stays byte for byte.
  await killMidway();
  assert.deepEqual(await Deno.readFile(files.csv), full);

  assertExit(await fixture.run("migrate"), 0);
  assertExit(await fixture.run("load", ["--ds", DS]), 0);
  const users = await fixture.rawUsers();
  assert.deepEqual([users.rows, users.ids], [300, 300]);
  await recordChaos("crashes", {
    scenario: "kill -9 of the extract mid-download, twice",
    faultsInjected: 2,
    runsRecovered: 1,
    rowsExpected: 300,
    rowsFound: users.rows,
    seconds: secondsSince(started),
  });
});

Deno.test("a scheduler killed by kill -9 mid-run: the next start marks the orphan failed and runs the day to success", async () => {
  const started = performance.now();
  await using fixture = await createChaosFixture();
  const today = todayUtc();
  const env = { USERS_PER_RUN: "300", TASK_RETRY_DELAY: "100ms" };
  // The first scheduler's extract hangs on page 1, so it is killed in the middle of its run.
  fixture.api.faults.add({ page: 1, fault: { kind: "delay", ms: 120_000 } });
  const first = fixture.launch("pipelines/cli.ts", { args: ["start"], env });
  await waitUntil(() => fixture.api.faults.pending.length === 0, {
    what: "the scheduler's extract to ask for page 1",
  });
  // As when the machine or container dies: the scheduler and the task it runs, at once.
  first.killTree("SIGKILL");
  assert.equal((await first.finished).signal, "SIGKILL");
  assert.deepEqual((await fixture.runs()).map((r) => `${r.pipeline}:${r.state}`), [
    "extract_load:running",
  ]);

  const second = fixture.launch("pipelines/cli.ts", { args: ["start"], env });
  try {
    await waitUntil(
      async () =>
        (await fixture.runs()).filter((r) => r.ds === today && r.state === "succeeded")
          .length === 2,
      { what: () => `today's extract_load and transform to succeed:\n${second.outputSoFar()}` },
    );
  } finally {
    second.killTree("SIGTERM");
  }
  const stopped = await second.finished;
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.match(stopped.stderr, /msg="marked an orphaned run failed" pipeline=extract_load/);
  const ledger = await fixture.runs();
  assert.deepEqual(ledger.map((r) => `${r.pipeline}:${r.trigger}:${r.state}`), [
    "extract_load:catchup:failed",
    "extract_load:catchup:succeeded",
    "transform:catchup:succeeded",
  ]);
  assert.match(
    ledger[0]?.error ?? "",
    /^orphaned: the process running it \(pid \d+ on .+\) stopped before it finished/,
  );
  const orphanTries = await fixture.db.sql`
    select task, state from meta.task_tries where run_id = ${ledger[0]?.run_id ?? ""}
    order by started_at`;
  assert.deepEqual([...orphanTries], [
    { task: "migrate", state: "succeeded" },
    { task: "extract", state: "failed" },
  ]);
  const users = await fixture.rawUsers();
  assert.deepEqual([users.rows, users.ids], [300, 300]);
  const [facts] = await fixture.db.sql`select count(*)::int as n from analytics.fct_registrations`;
  assert.equal(facts?.n, 300);
  await recordChaos("crashes", {
    scenario: "kill -9 of the scheduler (and its task) mid-run",
    faultsInjected: 1,
    runsRecovered: 1,
    rowsExpected: 300,
    rowsFound: users.rows,
    seconds: secondsSince(started),
  });
});
