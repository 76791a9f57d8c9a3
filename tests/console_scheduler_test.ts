/**
 * The console that `deno task start` serves beside the scheduler: its `console:` line, a port in
 * use refused at start, `/healthz` following the scheduler and the warehouse, `/metrics` saying
 * the scheduler is up, and the guarded actions — refused without the token or from another
 * origin, 400 on a bad range, and when allowed the same runner under the same lock.
 */
import assert from "node:assert/strict";
import {
  assertExit,
  assertStderrLine,
  createPipelineFixture,
  type PipelineFixture,
} from "./helpers/pipeline_fixture.ts";
import { startConsoleProcess } from "./helpers/console_process.ts";
import { testServerUrl } from "./helpers/test_warehouse.ts";
import { addDays, todayUtc } from "../tasks/shared/dates.ts";
import { Logger } from "../tasks/shared/logger.ts";
import { SecretMask } from "../tasks/shared/secret_mask.ts";
import { connect } from "../tasks/warehouse/sql_client.ts";
import { definePipelines } from "../pipelines/definitions.ts";
import { ConsoleServer } from "../pipelines/console/console_server.ts";
import { SchedulerStatus } from "../pipelines/scheduler.ts";

const TOKEN = "console-token-for-tests-0042";

async function runs(fixture: PipelineFixture) {
  return [
    ...await fixture.db.sql<
      { run_id: string; pipeline: string; ds: string; trigger: string; state: string }[]
    >`
      select run_id, pipeline, ds::text as ds, trigger, state from meta.pipeline_runs
      order by started_at, run_id`.catch(() => []),
  ];
}

async function ledgerChecksum(fixture: PipelineFixture): Promise<string> {
  const [row] = await fixture.db.sql`
    select md5(coalesce((select string_agg(r::text, '|' order by run_id) from meta.pipeline_runs r), '')
      || coalesce((select string_agg(t::text, '|' order by run_id, task, try_number)
                   from meta.task_tries t), '')) as md5`;
  return row?.md5 as string;
}

async function until(
  what: string,
  check: () => Promise<boolean>,
  log: () => string,
): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (!(await check())) {
    assert.ok(Date.now() < deadline, `${what} did not happen:\n${log()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

Deno.test("start and console refuse a console port in use with exit 2 naming CONSOLE_PORT (console one that is off), and touch nothing", async () => {
  await using fixture = await createPipelineFixture();
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  for (const command of ["start", "console"]) {
    const result = await fixture.cli([command], { CONSOLE_PORT: String(port) });
    assertExit(result, 2);
    assertStderrLine(
      result.stderr,
      new RegExp(
        `^error: CONSOLE_PORT ${port} is in use on 127\\.0\\.0\\.1: another program listens on ` +
          `127\\.0\\.0\\.1:${port}\\. Set CONSOLE_PORT to a free port \\(0 picks one\\), or to off ` +
          "for no console$",
      ),
    );
  }
  const off = await fixture.cli(["console"], { CONSOLE_PORT: "off" });
  assertExit(off, 2);
  assertStderrLine(
    off.stderr,
    /^error: CONSOLE_PORT is off: deno task console has nothing to serve;/,
  );
  const [ledger] = await fixture.db.sql`select to_regclass('meta.pipeline_runs') as ledger`;
  assert.equal(ledger?.ledger, null, "the warehouse was not even migrated");
});

Deno.test("start with CONSOLE_PORT=off runs the scheduler with no console and no console line", async () => {
  await using fixture = await createPipelineFixture();
  const today = todayUtc();
  // Today's start-up run fails fast (one 500, no retry): the scheduler is then idle.
  fixture.api.faults.add({ page: 1, times: 1, fault: { kind: "status", status: 500 } });
  const child = fixture.spawn("pipelines/cli.ts", ["start"], {
    CONSOLE_PORT: "off",
    USERS_PER_RUN: "300",
    API_RETRIES: "0",
    TASK_RETRIES: "0",
  });
  const streams = { stdout: "", stderr: "" };
  const reading = (["stdout", "stderr"] as const).map(async (name) => {
    const decoder = new TextDecoder();
    for await (const chunk of child[name]) {
      streams[name] += decoder.decode(chunk, { stream: true });
    }
  });
  try {
    await until(
      "today's failed start-up run",
      async () => (await runs(fixture)).some((r) => r.ds === today && r.state === "failed"),
      () => streams.stderr,
    );
  } finally {
    child.kill("SIGTERM");
  }
  assert.equal((await child.status).code, 0, streams.stderr);
  await Promise.all(reading);
  assert.match(streams.stderr, /msg="scheduler started"/);
  assert.doesNotMatch(streams.stdout, /^console: /m);
});

Deno.test("the scheduler's console: health, metrics, and actions that only a token from the console itself starts", async (t) => {
  await using fixture = await createPipelineFixture();
  const today = todayUtc();
  const yesterday = addDays(today, -1);
  // Today's start-up run fails fast (one 500, no retry): the scheduler is then idle.
  fixture.api.faults.add({ page: 1, times: 1, fault: { kind: "status", status: 500 } });
  await using served = await startConsoleProcess(fixture, "start", {
    USERS_PER_RUN: "300",
    API_RETRIES: "0",
    TASK_RETRIES: "0",
    CONSOLE_TOKEN: TOKEN,
  });
  assert.match(served.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const origin = new URL(served.url).origin;
  const url = (path: string) => new URL(path, served.url);
  await until(
    "today's failed start-up run",
    async () => (await runs(fixture)).some((r) => r.ds === today && r.state === "failed"),
    served.stderr,
  );

  await t.step(
    "/healthz is 200 while the loop runs and the warehouse answers; /metrics says the scheduler is up",
    async () => {
      const health = await fetch(url("/healthz"));
      assert.equal(health.status, 200);
      const body = await health.json();
      assert.deepEqual([body.status, body.scheduler, body.warehouse], ["ok", "running", "ok"]);
      const metrics = await (await fetch(url("/metrics"))).text();
      assert.match(metrics, /^randomuser_elt_scheduler_up 1$/m);
      assert.match(
        metrics,
        /^randomuser_elt_runs_total\{pipeline="extract_load",state="failed"\} 1$/m,
      );
    },
  );

  await t.step(
    "the pages offer the actions: run again on a run's page, backfill on the overview",
    async () => {
      const [failed] = await runs(fixture);
      const page = await (await fetch(url(`/runs/${failed!.run_id}`))).text();
      assert.match(page, /<form class="action" method="post" action="\/actions\/run">/);
      assert.match(page, /<input type="password" name="token"/);
      assert.ok(!page.includes(TOKEN), "the page never carries the token");
      assert.match(await (await fetch(url("/"))).text(), /action="\/actions\/backfill"/);
    },
  );

  const post = (
    path: string,
    fields: Record<string, string>,
    headers: Record<string, string> = {},
  ) =>
    fetch(url(path), {
      method: "POST",
      headers: { origin, "content-type": "application/x-www-form-urlencoded", ...headers },
      body: new URLSearchParams(fields),
    });

  await t.step(
    "a GET never acts, and a POST without the token, from elsewhere or with a bad date range is refused",
    async () => {
      const before = await ledgerChecksum(fixture);
      const run = { pipeline: "extract_load", ds: today, token: TOKEN };
      const cases: Array<[Promise<Response>, number, RegExp]> = [
        [
          fetch(url(`/actions/run?pipeline=extract_load&ds=${today}&token=${TOKEN}`)),
          405,
          /allowed: POST/,
        ],
        [
          post("/actions/run", { ...run, token: "" }),
          403,
          /Refused: the console token is missing or wrong/,
        ],
        [
          post("/actions/run", { ...run, token: "x".repeat(28) }),
          403,
          /the console token is missing or wrong/,
        ],
        [
          post("/actions/run", run, { origin: "http://evil.example" }),
          403,
          /Refused: the request comes from http:\/\/evil\.example, not from this console/,
        ],
        [
          fetch(url("/actions/run"), {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded" },
            body: new URLSearchParams(run),
          }),
          403,
          /Refused: the request has no Origin header/,
        ],
        [
          post("/actions/run", { ...run, pipeline: "everything" }),
          400,
          /pipeline: expected one of extract_load, transform, got &quot;everything&quot;/,
        ],
        [
          post("/actions/run", { ...run, ds: "2026-02-30" }),
          400,
          /ds: expected a date YYYY-MM-DD, got &quot;2026-02-30&quot;/,
        ],
        [
          post("/actions/backfill", { from: today, to: yesterday, pipeline: "all", token: TOKEN }),
          400,
          new RegExp(`from: ${today} is after to ${yesterday}`),
        ],
        [
          post("/actions/backfill", {
            from: "1999-12-31",
            to: today,
            pipeline: "all",
            token: TOKEN,
          }),
          400,
          /from: expected a date from 2000-01-01 to \d{4}-\d{2}-\d{2} \(tomorrow, UTC\), got 1999-12-31/,
        ],
        [
          post("/actions/backfill", {
            from: yesterday,
            to: addDays(today, 5),
            pipeline: "all",
            token: TOKEN,
          }),
          400,
          /to: expected a date from 2000-01-01 to/,
        ],
      ];
      for (const [response, status, message] of cases) {
        const answer = await response;
        const body = await answer.text();
        assert.equal(answer.status, status, body);
        assert.match(body, message);
      }
      assert.equal(await ledgerChecksum(fixture), before, "nothing changed in the ledger");
    },
  );

  await t.step(
    "run again runs the pipeline under the run lock: asked twice, it runs once",
    async () => {
      const before = (await runs(fixture)).length;
      const first = await post("/actions/run", {
        pipeline: "extract_load",
        ds: today,
        token: TOKEN,
      });
      assert.equal(first.status, 202, await first.text());
      const second = await post("/actions/run", { pipeline: "extract_load", ds: today }, {
        authorization: `Bearer ${TOKEN}`,
      });
      assert.equal(second.status, 202, await second.text());
      await until(
        "the run again",
        async () => (await runs(fixture)).some((r) => r.ds === today && r.state === "succeeded"),
        served.stderr,
      );
      await until(
        "the second request to see the first one's success",
        () =>
          Promise.resolve(
            /msg="already succeeded; nothing to run" pipeline=extract_load/.test(served.stderr()),
          ),
        served.stderr,
      );
      const after = (await runs(fixture)).slice(before);
      assert.deepEqual(after.map((r) => [r.pipeline, r.ds, r.trigger, r.state]), [
        ["extract_load", today, "manual", "succeeded"],
      ]);
    },
  );

  await t.step(
    "backfill runs the missing dates in order and skips the succeeded ones",
    async () => {
      const before = (await runs(fixture)).length;
      const response = await post("/actions/backfill", {
        from: yesterday,
        to: today,
        pipeline: "extract_load",
        token: TOKEN,
      });
      assert.equal(response.status, 202, await response.text());
      await until(
        "the backfill",
        async () =>
          (await runs(fixture)).some((r) => r.ds === yesterday && r.state === "succeeded"),
        served.stderr,
      );
      assert.deepEqual((await runs(fixture)).slice(before).map((r) => [r.ds, r.trigger, r.state]), [
        [yesterday, "backfill", "succeeded"],
      ]);
    },
  );

  await t.step(
    "/healthz is 503 with the reason while the warehouse refuses, and 200 again after",
    async () => {
      const admin = connect(await testServerUrl(), { max: 1 });
      const name = fixture.db.name;
      try {
        await admin`alter database ${admin(name)} with allow_connections false`;
        await admin`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${name}`;
        const health = await fetch(url("/healthz"));
        assert.equal(health.status, 503);
        const body = await health.json();
        assert.equal(body.status, "unavailable");
        assert.match(body.reason, /^the warehouse failed a query: /);
        assert.ok(!JSON.stringify(body).includes(new URL(fixture.db.url).password));
      } finally {
        await admin`alter database ${admin(name)} with allow_connections true`;
        await admin.end();
      }
      await until(
        "a healthy console",
        async () => (await fetch(url("/healthz"))).status === 200,
        served.stderr,
      );
    },
  );

  const status = await served.stop();
  assert.equal(status.code, 0, served.stderr());
  assert.match(served.stderr(), /msg="scheduler stopped"/);
});

Deno.test("without CONSOLE_TOKEN the scheduler's console is read-only: no form, every POST refused", async () => {
  await using fixture = await createPipelineFixture();
  assertExit(await fixture.run("migrate"), 0);
  await using server = ConsoleServer.listen({
    host: "127.0.0.1",
    port: 0,
    mode: "scheduler",
    pipelines: definePipelines({ retries: 0, retryDelayMs: 0 }),
    dataDir: fixture.workspace.dataDir,
    mask: new SecretMask(),
    token: undefined,
    logger: new Logger("console", () => {}),
  });
  server.attach({ warehouseUrl: fixture.db.url, scheduler: new SchedulerStatus() });
  const overview = await (await fetch(server.url)).text();
  assert.doesNotMatch(overview, /<form/);
  const response = await fetch(new URL("/actions/backfill", server.url), {
    method: "POST",
    headers: {
      origin: new URL(server.url).origin,
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ from: "2026-01-01", to: "2026-01-02", token: TOKEN }),
  });
  assert.equal(response.status, 403);
  assert.match(
    await response.text(),
    /Refused: this console is read-only: set CONSOLE_TOKEN to enable its actions\./,
  );
});
