import assert from "node:assert/strict";
import {
  assertExit,
  assertStderrLine,
  createPipelineFixture,
  type PipelineFixture,
} from "./helpers/pipeline_fixture.ts";
import { collectStderr } from "./helpers/task_process.ts";
import { todayUtc } from "../tasks/shared/dates.ts";
import { DENO_JSON } from "../tasks/shared/paths.ts";
import { definePipelines } from "../pipelines/definitions.ts";

// Small runs and short retry delays: the behaviour is the same as at 10 000 users and 3 minutes.
const FAST = { USERS_PER_RUN: "300", TASK_RETRY_DELAY: "50ms" };

async function tries(fixture: PipelineFixture, pipeline: string, ds: string) {
  return [
    ...await fixture.db.sql<
      {
        task: string;
        try_number: number;
        state: string;
        exit_code: number;
        rows: number | null;
        error: string | null;
        failure: string | null;
      }[]
    >`
      select t.task, t.try_number, t.state, t.exit_code, t.rows::int as rows, t.error, t.failure
      from meta.task_tries t join meta.pipeline_runs r using (run_id)
      where r.pipeline = ${pipeline} and r.ds = ${ds}::date
      order by t.started_at, t.try_number`,
  ];
}

async function runs(fixture: PipelineFixture) {
  return [
    ...await fixture.db.sql<
      {
        pipeline: string;
        ds: string;
        trigger: string;
        state: string;
        error: string | null;
        failure: string | null;
      }[]
    >`
      select pipeline, ds::text as ds, trigger, state, error, failure from meta.pipeline_runs
      order by started_at, run_id`,
  ];
}

Deno.test("run all succeeds and status shows both pipelines with their tries, rows and durations", async () => {
  await using fixture = await createPipelineFixture();
  const result = await fixture.cli(["run", "all", "--ds", "2026-01-02"], FAST);
  assertExit(result, 0);
  assert.match(result.stdout, /run pipeline=extract_load ds=2026-01-02 state=succeeded/);
  assert.match(result.stdout, /run pipeline=transform ds=2026-01-02 state=succeeded/);
  const table = await fixture.cli(["status"]);
  assertExit(table, 0);
  assert.match(table.stdout, /^\S+\s+transform\s+2026-01-02\s+manual\s+succeeded\s+/m);
  assert.match(table.stdout, /^\S+\s+extract_load\s+2026-01-02\s+manual\s+succeeded\s+/m);
  assert.match(
    table.stdout,
    /^ {2}extract #1\s+succeeded \(exit 0\)\s+\S+ \S+\s+\d+\.\ds\s+300\s*$/m,
  );
  assert.match(table.stdout, /^ {2}load #1\s+succeeded \(exit 0\)\s+\S+ \S+\s+\d+\.\ds\s+300\s*$/m);
  const json = await fixture.cli(["status", "--json", "--limit", "1"]);
  const [latest] = JSON.parse(json.stdout);
  assert.equal(latest.pipeline, "transform");
  assert.equal(latest.tries[0].task, "dbt_build");
  assert.ok(latest.tries[0].duration_ms > 0);
  assert.ok((await Deno.stat(latest.tries[0].log_path)).size > 0, "the try has a log file");
});

Deno.test("a task that fails once is retried and the run succeeds, with both tries in the ledger", async () => {
  await using fixture = await createPipelineFixture();
  // Two failures exhaust the extract's own HTTP retries (API_RETRIES=1): the first try fails.
  fixture.api.faults.add({ page: 1, times: 2, fault: { kind: "status", status: 500 } });
  const result = await fixture.cli(["run", "extract_load", "--ds", "2026-01-02"], {
    ...FAST,
    API_RETRIES: "1",
  });
  assertExit(result, 0);
  const extract = (await tries(fixture, "extract_load", "2026-01-02")).filter((t) =>
    t.task === "extract"
  );
  assert.deepEqual(extract.map((t) => [t.try_number, t.state, t.exit_code, t.failure]), [
    [1, "failed", 1, "transient"],
    [2, "succeeded", 0, null],
  ]);
  assert.match(
    extract[0]?.error ?? "",
    /^page 1: the API answered 500 Internal Server Error \(gave up after 2 attempts/,
  );
  assert.equal(extract[1]?.rows, 300);
});

Deno.test("a task that keeps failing fails the run after 1 + 3 tries and stops what comes after", async () => {
  await using fixture = await createPipelineFixture();
  fixture.api.faults.add({ page: 1, times: Infinity, fault: { kind: "status", status: 503 } });
  const result = await fixture.cli(["run", "all", "--ds", "2026-01-02"], {
    ...FAST,
    API_RETRIES: "0",
  });
  assertExit(result, 1);
  assert.match(result.stdout, /run pipeline=extract_load ds=2026-01-02 state=failed/);
  assert.doesNotMatch(result.stdout, /pipeline=transform/);
  const all = await tries(fixture, "extract_load", "2026-01-02");
  assert.deepEqual(all.map((t) => `${t.task}#${t.try_number}:${t.state}`), [
    "migrate#1:succeeded",
    "extract#1:failed",
    "extract#2:failed",
    "extract#3:failed",
    "extract#4:failed",
  ]);
  const ledger = await runs(fixture);
  assert.deepEqual(ledger.map((r) => [r.pipeline, r.state]), [["extract_load", "failed"]]);
  assert.match(
    ledger[0]?.error ?? "",
    /^extract failed after 4 tries: page 1: the API answered 503/,
  );
  const [loaded] = await fixture.db.sql`select count(*)::int as n from raw.users`;
  assert.equal(loaded?.n, 0);
});

Deno.test("a terminal failure stops at its first try with exit 3, though retries are left", async () => {
  await using fixture = await createPipelineFixture();
  assertExit(await fixture.run("migrate"), 0);
  // The table is ahead of the extract: every CSV header now misses a column. A retry cannot help.
  await fixture.db.sql`alter table raw.users add column nickname text`;
  // The defaults: TASK_RETRIES=3, TASK_RETRY_DELAY=3m — a retry would outlast the test's timeout.
  const result = await fixture.cli(["run", "extract_load", "--ds", "2026-01-02"], {
    USERS_PER_RUN: "300",
  });
  assertExit(result, 3);
  assert.match(result.stdout, /run pipeline=extract_load ds=2026-01-02 state=failed/);
  const all = await tries(fixture, "extract_load", "2026-01-02");
  assert.deepEqual(all.map((t) => `${t.task}#${t.try_number}:${t.state}:${t.failure}`), [
    "migrate#1:succeeded:null",
    "extract#1:succeeded:null",
    "load#1:failed:terminal",
  ]);
  assert.equal(all.at(-1)?.exit_code, 3);
  assert.match(
    all.at(-1)?.error ?? "",
    /the CSV header of .* does not match raw\.users \(missing nickname\)/,
  );
  const [run] = await runs(fixture);
  assert.equal(run?.failure, "terminal");
  assert.match(run?.error ?? "", /^load failed after 1 try: the CSV header/);
  const table = await fixture.cli(["status"]);
  assert.match(table.stdout, /^ {2}load #1\s+failed \(exit 3\)\s+.*\[terminal\] the CSV header/m);
});

Deno.test("two runs of the same pipeline and ds at once: one runs, the other waits, nothing is doubled", async () => {
  await using fixture = await createPipelineFixture();
  // Slow the first page so that the second process arrives while the first one runs.
  fixture.api.faults.add({ page: 1, fault: { kind: "delay", ms: 1_500 } });
  const [a, b] = await Promise.all([
    fixture.cli(["run", "extract_load", "--ds", "2026-01-02"], FAST),
    new Promise((r) => setTimeout(r, 300)).then(() =>
      fixture.cli(["run", "extract_load", "--ds", "2026-01-02"], FAST)
    ),
  ]);
  assertExit(a!, 0);
  assertExit(b!, 0);
  const states = [a!, b!].map((r) => /state=(\w+)/.exec(r.stdout)?.[1]).sort();
  assert.deepEqual(states, ["skipped", "succeeded"]);
  assert.match(
    a!.stderr + b!.stderr,
    /another process is running this pipeline for this ds; waiting for it/,
  );
  const ledger = await runs(fixture);
  assert.equal(ledger.length, 1);
  const [users] = await fixture.db
    .sql`select count(*)::int as n, count(distinct id)::int as ids from raw.users`;
  assert.deepEqual(users, { n: 300, ids: 300 });
});

Deno.test("backfill runs the missing dates in order and skips the ones that succeeded", async () => {
  await using fixture = await createPipelineFixture();
  assertExit(await fixture.cli(["run", "extract_load", "--ds", "2026-01-04"], FAST), 0);
  const result = await fixture.cli(
    ["backfill", "--from", "2026-01-03", "--to", "2026-01-05", "--pipeline", "extract_load"],
    FAST,
  );
  assertExit(result, 0);
  assert.deepEqual(
    result.stdout.trim().split("\n").map((line) =>
      /ds=(\S+) state=(\w+)/.exec(line)?.slice(1).join(" ")
    ),
    ["2026-01-03 succeeded", "2026-01-04 skipped", "2026-01-05 succeeded"],
  );
  const ledger = await runs(fixture);
  assert.deepEqual(ledger.map((r) => `${r.ds} ${r.trigger}`), [
    "2026-01-04 manual",
    "2026-01-03 backfill",
    "2026-01-05 backfill",
  ]);
  const loaded = await fixture.db
    .sql`select _ds::text as ds, count(*)::int as n from raw.users group by 1 order by 1`;
  assert.deepEqual([...loaded], [
    { ds: "2026-01-03", n: 300 },
    { ds: "2026-01-04", n: 300 },
    { ds: "2026-01-05", n: 300 },
  ]);
});

Deno.test("transform does not run for a ds whose extract_load has not succeeded", async () => {
  await using fixture = await createPipelineFixture();
  const result = await fixture.cli(["run", "transform", "--ds", "2026-01-09"], FAST);
  assertExit(result, 1);
  const ledger = await runs(fixture);
  assert.equal(ledger[0]?.state, "failed");
  assert.match(
    ledger[0]?.error ?? "",
    /^extract_load has not succeeded for ds 2026-01-09; run it first/,
  );
  assert.deepEqual(await tries(fixture, "transform", "2026-01-09"), []);
});

Deno.test("a run whose process died is marked failed by the next run, which then runs", async () => {
  await using fixture = await createPipelineFixture();
  fixture.api.faults.add({ page: 1, fault: { kind: "delay", ms: 20_000 } });
  const child = fixture.spawn("pipelines/cli.ts", ["run", "extract_load", "--ds", "2026-01-02"], {
    ...FAST,
    API_RETRIES: "0",
  });
  for (let i = 0; i < 200; i++) {
    const [running] = await fixture.db.sql`
      select count(*)::int as n from meta.task_tries where task = 'extract' and state = 'running'`
      .catch(() => [{ n: 0 }]);
    if (running?.n === 1) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGKILL");
  await child.output();
  const result = await fixture.cli(["run", "extract_load", "--ds", "2026-01-02"], FAST);
  assertExit(result, 0);
  const ledger = await runs(fixture);
  assert.deepEqual(ledger.map((r) => r.state), ["failed", "succeeded"]);
  assert.match(
    ledger[0]?.error ?? "",
    /^orphaned: the process running it \(pid \d+ on .*\) stopped before it finished/,
  );
  const orphanTry = (await tries(fixture, "extract_load", "2026-01-02")).find((t) =>
    t.task === "extract"
  );
  assert.equal(orphanTry?.state, "failed");
});

Deno.test("bad pipeline arguments exit 2 with a one-line error", async () => {
  await using fixture = await createPipelineFixture();
  const cases: Array<[string[], RegExp]> = [
    [
      ["run", "bogus"],
      /^error: command-argument value 'bogus' is invalid for argument 'pipeline'\. expected extract_load, transform or all\./,
    ],
    [["backfill", "--to", "2026-01-05"], /^error: required option '--from <date>' not specified/],
    [
      ["backfill", "--from", "2026-01-05", "--to", "2026-01-03"],
      /^error: --from 2026-01-05 is after --to 2026-01-03/,
    ],
    [["status", "--limit", "x"], /^error: option '--limit <n>' argument 'x' is invalid/],
    [["launch"], /^error: unknown command 'launch'/],
    [
      ["backfill", "--from", "1999-12-30", "--to", "2026-01-05"],
      /^error: option '--from <date>' argument '1999-12-30' is invalid\. expected a date from 2000-01-01 to /,
    ],
    [
      [
        "airflow-task",
        "extract_load",
        "extract",
        "--ds",
        "1999-12-31",
        "--run-id",
        "r",
        "--try",
        "1",
        "--retries",
        "0",
      ],
      /^error: option '--ds <date>' argument '1999-12-31' is invalid\. expected a date from 2000-01-01 to /,
    ],
    [
      ["demo", "--users", "1000000000"],
      /^error: option '--users <n>' argument '1000000000' is invalid\. expected a whole number from 1 to 10000000 \(the cap of USERS_PER_RUN\)\./,
    ],
    [
      ["demo", "--days", "100000"],
      /^error: option '--days <n>' argument '100000' is invalid\. expected at most \d+: the dates end today and start no earlier than 2000-01-01\./,
    ],
  ];
  for (const [args, message] of cases) {
    const result = await fixture.cli(args);
    assertExit(result, 2);
    assertStderrLine(result.stderr, message);
  }
  // Refused before the warehouse was opened: not even the ledger's tables were made.
  const [ledger] = await fixture.db.sql`select to_regclass('meta.pipeline_runs') as ledger`;
  assert.equal(ledger?.ledger, null);
});

/** A checksum of every row of raw.users: any change to any value changes it. */
async function usersChecksum(fixture: PipelineFixture): Promise<string | undefined> {
  const [row] = await fixture.db.sql<{ md5: string }[]>`
    select md5(coalesce(string_agg(u::text, '|' order by u.id), '')) as md5 from raw.users u`;
  return row?.md5;
}

Deno.test("a --ds out of bounds exits 2 naming the bound through extract, load, transform and run, and changes nothing", async () => {
  await using fixture = await createPipelineFixture();
  assertExit(await fixture.cli(["run", "extract_load", "--ds", "2026-01-02"], FAST), 0);
  // A CSV that would load, were its date accepted.
  assertExit(await fixture.run("extract", ["--ds", "9999-12-31", "--allow-any-date"], FAST), 0);
  const before = { users: await usersChecksum(fixture), runs: await runs(fixture) };
  assert.equal(before.runs.length, 1);
  const bound = "expected a date from 2000-01-01 to \\d{4}-\\d{2}-\\d{2} \\(tomorrow, UTC\\); ";
  const cases: Array<[string, RegExp]> = [
    ["9999-12-31", new RegExp(`${bound}pass --allow-any-date to go outside$`)],
    [
      "0000-01-01",
      new RegExp(`${bound}PostgreSQL has no year 0000, not even with --allow-any-date$`),
    ],
  ];
  for (const [ds, expected] of cases) {
    const line = new RegExp(
      `^error: option '--ds <date>' argument '${ds}' is invalid\\. ${expected.source}`,
    );
    for (const task of ["extract", "load", "dbt_build"]) {
      const result = await fixture.run(task, ["--ds", ds], FAST);
      assertExit(result, 2);
      assertStderrLine(result.stderr, line);
    }
    const run = await fixture.cli(["run", "all", "--ds", ds], FAST);
    assertExit(run, 2);
    assertStderrLine(run.stderr, line);
  }
  assert.deepEqual({ users: await usersChecksum(fixture), runs: await runs(fixture) }, before);
  await assert.rejects(Deno.stat(fixture.files("0000-01-01").dir), Deno.errors.NotFound);
});

Deno.test("--allow-any-date lets an old but real date through, handed on by the runner to its tasks, but never year 0000", async () => {
  await using fixture = await createPipelineFixture();
  const extract = await fixture.run(
    "extract",
    ["--ds", "1999-12-31", "--users", "20", "--allow-any-date"],
    FAST,
  );
  assertExit(extract, 0);
  assert.match(extract.stdout, /^extract ds=1999-12-31 users=20 /m);
  // The runner hands the flag on to the tasks it starts.
  const run = await fixture.cli(
    ["run", "extract_load", "--allow-any-date", "--ds", "1999-12-31"],
    FAST,
  );
  assertExit(run, 0);
  assert.match(run.stdout, /run pipeline=extract_load ds=1999-12-31 state=succeeded/);
  const loaded = await fixture.db
    .sql`select _ds::text as ds, count(*)::int as n from raw.users group by 1 order by 1`;
  assert.deepEqual([...loaded], [{ ds: "1999-12-31", n: 300 }]);
  const before = await usersChecksum(fixture);
  for (
    const args of [
      ["run", "all", "--ds", "0000-01-01", "--allow-any-date"],
      ["backfill", "--from", "0000-01-01", "--to", "2026-01-01", "--allow-any-date"],
    ]
  ) {
    const result = await fixture.cli(args, FAST);
    assertExit(result, 2);
    assertStderrLine(
      result.stderr,
      /argument '0000-01-01' is invalid\. expected a date from 0001-01-01 to 9999-12-31 even with --allow-any-date: PostgreSQL has no year 0000$/,
    );
  }
  assert.equal(await usersChecksum(fixture), before);
});

Deno.test("the scheduler catches up to today at start, keeps running, fires its daily trigger and stops cleanly", async () => {
  await using fixture = await createPipelineFixture();
  const today = todayUtc();
  const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
  const child = fixture.spawn("pipelines/cli.ts", ["start"], {
    // Every Deno.cron fires 3 s after it is (re)armed instead of at 00:05 UTC.
    ...FAST,
    CATCHUP: "true",
    PIPELINE_START_DATE: yesterday,
    DENO_CRON_TEST_SCHEDULE_OFFSET: "3000",
  });
  const stderr = collectStderr(child);
  try {
    // Two days, each a dbt build (one at a time) and a dbt source freshness: minutes on a busy
    // machine.
    const deadline = Date.now() + 300_000;
    const done = async () => {
      const ledger = await runs(fixture).catch(() => []);
      return ledger.filter((r) => r.ds === today && r.state === "succeeded").length === 2 &&
        /msg="daily trigger fired" pipeline=extract_load/.test(stderr.text) &&
        /msg="daily trigger fired" pipeline=transform/.test(stderr.text);
    };
    while (!(await done())) {
      assert.ok(
        Date.now() < deadline,
        `the scheduler did not run today's pipelines:\n${stderr.text}`,
      );
      await new Promise((r) => setTimeout(r, 250));
    }
    const ledger = await runs(fixture);
    // Today is run by whichever comes first: the catch-up or the (3 s) daily trigger; never twice.
    // On a busy machine the trigger may start today's extract_load before yesterday's transform:
    // which run started first is not the point, so compare the runs as a set.
    assert.deepEqual(
      ledger.map((r) =>
        `${r.ds} ${r.pipeline} ${r.trigger.replace(/^(catchup|schedule)$/, "*")} ${r.state}`
      ).sort(),
      [
        `${yesterday} extract_load * succeeded`,
        `${yesterday} transform * succeeded`,
        `${today} extract_load * succeeded`,
        `${today} transform * succeeded`,
      ],
    );
    assert.ok(
      ledger.filter((r) => r.ds === yesterday).every((r) => r.trigger === "catchup"),
      "yesterday is caught up",
    );
    assert.match(
      stderr.text,
      new RegExp(`msg="already succeeded; nothing to run" pipeline=extract_load ds=${today}`),
    );
  } finally {
    child.kill("SIGTERM");
  }
  const status = await child.status;
  await stderr.drained;
  assert.equal(status.code, 0, stderr.text);
  assert.match(stderr.text, /msg="scheduler stopped"/);
});

Deno.test("a stop signal during a retry delay is final: no new try, the run failed as stopped", async () => {
  await using fixture = await createPipelineFixture();
  fixture.api.faults.add({ page: 1, times: Infinity, fault: { kind: "status", status: 503 } });
  const child = fixture.spawn("pipelines/cli.ts", ["start"], {
    USERS_PER_RUN: "300",
    API_RETRIES: "0",
    TASK_RETRY_DELAY: "10m",
  });
  const stderr = collectStderr(child);
  const deadline = Date.now() + 120_000;
  while (!/msg="task failed; retrying"/.test(stderr.text)) {
    assert.ok(Date.now() < deadline, `the first try did not fail:\n${stderr.text}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  // The first failed try says what is wrong and the two ways out.
  assert.match(
    stderr.text,
    /msg="task failed" .*task=extract .*error="page 1: the API answered 503/,
  );
  child.kill("SIGTERM");
  // Within the scheduler's grace period (30 s), not after the 10-minute delay.
  const stopped = await Promise.race([
    child.status,
    new Promise<undefined>((r) => setTimeout(() => r(undefined), 30_000)),
  ]);
  if (!stopped) child.kill("SIGKILL");
  await stderr.drained;
  assert.ok(stopped, `the scheduler did not stop within its grace period:\n${stderr.text}`);
  assert.ok([0, 143].includes(stopped.code), `exit ${stopped.code}\n${stderr.text}`);
  const extract = (await tries(fixture, "extract_load", todayUtc())).filter((t) =>
    t.task === "extract"
  );
  assert.deepEqual(extract.map((t) => `${t.try_number}:${t.state}`), ["1:failed"]);
  const [run] = await runs(fixture);
  assert.equal(run?.state, "failed");
  assert.equal(run?.failure, "stopped");
  assert.match(run?.error ?? "", /^extract stopped after 1 try, during the retry delay/);
  assert.match(stderr.text, /msg="scheduler stopped"/);
});

Deno.test("deno task extract runs with the deno flags the pipeline's extract runs with", async () => {
  const config = JSON.parse(await Deno.readTextFile(DENO_JSON)) as {
    tasks: Record<string, { command: string }>;
  };
  const command = config.tasks.extract?.command ?? "";
  const extract = definePipelines({ retries: 0, retryDelayMs: 0 }).extract_load.tasks
    .find((task) => task.name === "extract");
  assert.ok(extract?.denoFlags?.length, "the pipeline's extract has no deno flags");
  assert.equal(command, `deno run -A ${extract.denoFlags.join(" ")} ${extract.script}`);
});
