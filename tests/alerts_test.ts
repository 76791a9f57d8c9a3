/**
 * Webhook alerts from the pipeline as a user runs it — `deno task run`, `deno task start` — to a
 * real receiver on loopback that records every POST: one alert per failed outcome, none for a
 * retry that heals, one recovery, none again after a restart, a receiver that fails changes
 * no exit code, and no body or log line shows a secret.
 */
import assert from "node:assert/strict";
import { definePipelines } from "../pipelines/definitions.ts";
import { ledgerMetrics } from "../pipelines/console/ledger_metrics.ts";
import { prometheusText } from "../pipelines/console/prometheus_text.ts";
import { todayUtc } from "../tasks/shared/dates.ts";
import { urlPasswords } from "../tasks/shared/config.ts";
import {
  assertExit,
  assertStderrLine,
  createPipelineFixture,
  type PipelineFixture,
} from "./helpers/pipeline_fixture.ts";
import { collectStderr } from "./helpers/task_process.ts";
import {
  type ReceivedPost,
  startWebhookReceiver,
  type WebhookReceiver,
} from "./helpers/webhook_receiver.ts";

const SECRETS = {
  ANALYST_PASSWORD: "Analyst-secret-77",
  METABASE_ADMIN_PASSWORD: "Mb-admin-secret-88",
};
const FAST = { USERS_PER_RUN: "300", TASK_RETRY_DELAY: "50ms", ...SECRETS };

/** The environment of a run that alerts `receiver`. */
function alerting(receiver: { url: string }, env: Record<string, string> = {}) {
  return { ...FAST, ALERT_WEBHOOK_URL: receiver.url, ...env };
}

/** Asserts that `text` (a body, a log) shows none of the secrets of the run. */
function assertNoSecret(fixture: PipelineFixture, receiver: WebhookReceiver, text: string): void {
  const secrets = [
    ...Object.values(SECRETS),
    ...urlPasswords(fixture.db.url),
    receiver.url,
    receiver.secret,
  ];
  for (const secret of secrets) assert.ok(!text.includes(secret), `shows ${secret}:\n${text}`);
}

/** The table ahead of the extract: every CSV header misses a column, and the load fails (exit 3). */
async function breakTheLoad(fixture: PipelineFixture): Promise<void> {
  assertExit(await fixture.run("migrate"), 0);
  await fixture.db.sql`alter table raw.users add column nickname text`;
}

async function alertRows(fixture: PipelineFixture) {
  return [
    ...await fixture.db.sql<{ kind: string; ds: string; state: string; tries: number }[]>`
      select kind, ds::text as ds, state, tries from meta.alerts order by created_at`,
  ];
}

function fields(post: ReceivedPost | undefined, names: readonly string[]) {
  return Object.fromEntries(names.map((name) => [name, post?.json?.[name]]));
}

Deno.test("a terminal failure alerts once with its facts, a rerun that fails again does not, and the first success alerts a recovery", async () => {
  await using fixture = await createPipelineFixture();
  await using receiver = await startWebhookReceiver();
  const ds = "2026-01-02";
  await breakTheLoad(fixture);

  // The console's address (this process serves none; the scheduler's would be there).
  const failed = await fixture.cli(
    ["run", "extract_load", "--ds", ds],
    alerting(receiver, { CONSOLE_PORT: "8123" }),
  );
  assertExit(failed, 3);
  assert.equal(receiver.posts.length, 1);
  const [post] = receiver.posts;
  const [run] = await fixture.db.sql`select run_id from meta.pipeline_runs`;
  assert.deepEqual(
    fields(post, [
      "source",
      "kind",
      "pipeline",
      "ds",
      "run_id",
      "trigger",
      "task",
      "tries",
      "failure",
    ]),
    {
      source: "randomuser-elt",
      kind: "failure",
      pipeline: "extract_load",
      ds,
      run_id: run?.run_id,
      trigger: "manual",
      task: "load",
      tries: 1,
      failure: "terminal",
    },
  );
  assert.match(
    String(post?.json?.error),
    /^the CSV header of .* does not match raw\.users \(missing nickname\)/,
  );
  assert.match(
    String(post?.json?.text),
    new RegExp(
      `^:x: randomuser-elt: extract_load failed for ds ${ds}\\nload failed \\(terminal\\) after 1 try: the CSV header of `,
    ),
  );
  assert.equal(post?.json?.run_url, `http://127.0.0.1:8123/runs/${run?.run_id}`);
  assert.match(String(post?.json?.text), /\|run page>$/);
  assertNoSecret(fixture, receiver, post!.raw);
  assertStderrLine(
    failed.stderr,
    /level=info task=runner msg="alert sent" kind=failure pipeline=extract_load/,
  );

  // Looking at the ledger and running the same failure again tell nobody anything new.
  assertExit(await fixture.cli(["status"], alerting(receiver)), 0);
  assertExit(await fixture.cli(["run", "extract_load", "--ds", ds], alerting(receiver)), 3);
  assert.equal(receiver.posts.length, 1);

  // Fixed: the next success is a recovery, told once.
  await fixture.db.sql`alter table raw.users drop column nickname`;
  assertExit(await fixture.cli(["run", "extract_load", "--ds", ds], alerting(receiver)), 0);
  assertExit(
    await fixture.cli(["run", "extract_load", "--ds", "2026-01-03"], alerting(receiver)),
    0,
  );
  assert.deepEqual(receiver.posts.map((p) => p.json?.kind), ["failure", "recovery"]);
  const recovery = receiver.of("recovery")[0];
  assert.deepEqual(fields(recovery, ["pipeline", "ds", "failed_ds"]), {
    pipeline: "extract_load",
    ds,
    failed_ds: [ds],
  });
  assert.match(
    String(recovery?.json?.text),
    /^:white_check_mark: randomuser-elt: extract_load recovered: ds 2026-01-02 succeeded\nIt had failed for ds 2026-01-02\./,
  );
  assertNoSecret(fixture, receiver, recovery!.raw);
  assert.deepEqual((await alertRows(fixture)).map((a) => `${a.kind} ${a.state} ${a.tries}`), [
    "failure sent 1",
    "recovery sent 1",
  ]);
});

Deno.test("a transient failure healed by a retry alerts nothing; one that uses up its retries alerts once", async () => {
  await using fixture = await createPipelineFixture();
  await using receiver = await startWebhookReceiver();
  // Two failures exhaust the extract's own HTTP retries (API_RETRIES=1): the first try fails.
  fixture.api.faults.add({ page: 1, times: 2, fault: { kind: "status", status: 500 } });
  const healed = await fixture.cli(
    ["run", "extract_load", "--ds", "2026-01-02"],
    alerting(receiver, { API_RETRIES: "1" }),
  );
  assertExit(healed, 0);
  assert.match(healed.stderr, /msg="task failed; retrying"/);
  assert.equal(receiver.posts.length, 0);

  fixture.api.faults.add({ page: 1, times: Infinity, fault: { kind: "status", status: 503 } });
  const exhausted = await fixture.cli(
    ["run", "extract_load", "--ds", "2026-01-03"],
    alerting(receiver, { API_RETRIES: "0", TASK_RETRIES: "2" }),
  );
  assertExit(exhausted, 1);
  assert.equal(receiver.posts.length, 1);
  assert.deepEqual(fields(receiver.posts[0], ["kind", "ds", "task", "tries", "failure"]), {
    kind: "failure",
    ds: "2026-01-03",
    task: "extract",
    tries: 3,
    failure: "transient",
  });
  assert.match(String(receiver.posts[0]?.json?.error), /^page 1: the API answered 503/);
  // CONSOLE_PORT=0 (the fixture's): a port only a running scheduler knows, so no link.
  assert.equal(receiver.posts[0]?.json?.run_url, null);
});

Deno.test("a receiver that answers 500 or is down changes no exit code of run or backfill: the alert is logged as a warning and counted", async () => {
  await using fixture = await createPipelineFixture();
  await using receiver = await startWebhookReceiver();
  receiver.answer({ status: 500 });
  await breakTheLoad(fixture);
  const failing = await fixture.cli(
    ["run", "extract_load", "--ds", "2026-01-02"],
    alerting(receiver),
  );
  assertExit(failing, 3);
  assert.equal(receiver.posts.length, 3, "three tries");
  assertStderrLine(
    failing.stderr,
    /level=warn task=runner msg="alert not delivered; the run's outcome stands" kind=failure .* tries=3 error="the webhook answered 500 Internal Server Error: receiver failure"/,
  );

  // Down: nothing listens where the URL points — and deno task backfill alerts as run does.
  const closed = await startWebhookReceiver();
  await closed[Symbol.asyncDispose]();
  const down = await fixture.cli(
    ["backfill", "--from", "2026-01-03", "--to", "2026-01-03", "--pipeline", "extract_load"],
    alerting(closed),
  );
  assertExit(down, 3);
  assertStderrLine(
    down.stderr,
    /msg="alert not delivered; the run's outcome stands" .*error="the webhook could not be reached: /,
  );
  assertNoSecret(fixture, closed, down.stderr);
  assertNoSecret(fixture, receiver, failing.stderr);

  // What the ledger says, the same as a run without alerts would say.
  const runs = await fixture.db
    .sql`select ds::text as ds, state, failure from meta.pipeline_runs order by ds`;
  assert.deepEqual(runs.map((r) => `${r.ds} ${r.state} ${r.failure}`), [
    "2026-01-02 failed terminal",
    "2026-01-03 failed terminal",
  ]);
  assert.deepEqual(
    (await alertRows(fixture)).map((a) => `${a.kind} ${a.ds} ${a.state} ${a.tries}`),
    [
      "failure 2026-01-02 failed 3",
      "failure 2026-01-03 failed 3",
    ],
  );
  // …and counted where a monitor looks: /metrics.
  const metrics = prometheusText(
    await ledgerMetrics(fixture.db.sql, {
      pipelines: definePipelines({ retries: 3, retryDelayMs: 0 }),
      schedulerUp: false,
    }),
  );
  assert.match(metrics, /^# TYPE randomuser_elt_alerts_failed_total counter$/m);
  assert.match(metrics, /^randomuser_elt_alerts_failed_total\{kind="failure"\} 2$/m);
  assert.match(metrics, /^randomuser_elt_alerts_failed_total\{kind="stale"\} 0$/m);
  assert.match(metrics, /^randomuser_elt_alerts_sent_total\{kind="failure"\} 0$/m);
});

Deno.test("the scheduler alerts stale data and a failure once, and a restarted scheduler alerts neither again", async () => {
  await using fixture = await createPipelineFixture();
  await using receiver = await startWebhookReceiver();
  const today = todayUtc();
  await breakTheLoad(fixture);
  // The last success is three days old: the machine was off, or every run since failed.
  const old = new Date(Date.now() - 3 * 86_400_000).toISOString().slice(0, 10);
  await fixture.db.sql`
    insert into meta.pipeline_runs (run_id, pipeline, ds, trigger, state, started_at, finished_at, host, pid)
    values ('01JAAAAAAAAAAAAAAAAAAAAAAA', 'extract_load', ${old}::date, 'schedule', 'succeeded',
            now() - interval '3 days', now() - interval '3 days', 'earlier', 1)`;

  for (const start of [1, 2]) {
    const child = fixture.spawn("pipelines/cli.ts", ["start"], alerting(receiver));
    const stderr = collectStderr(child);
    try {
      const deadline = Date.now() + 120_000;
      for (;;) {
        const [failed] = await fixture.db.sql`
          select count(*)::int as n from meta.pipeline_runs
          where ds = ${today}::date and state = 'failed'`;
        if (failed?.n === start) break;
        assert.ok(
          Date.now() < deadline,
          `start ${start}: today's run did not fail:\n${stderr.text}`,
        );
        await new Promise((r) => setTimeout(r, 250));
      }
    } finally {
      child.kill("SIGTERM");
    }
    assert.equal((await child.status).code, 0);
    await stderr.drained;
    assertNoSecret(fixture, receiver, stderr.text);
  }
  assert.deepEqual(receiver.posts.map((p) => p.json?.kind), ["stale", "failure"]);
  // The newest ds due: a day's run is due STALE_AFTER (6 h) past its 00:05 UTC schedule, so
  // before 06:05 UTC that is yesterday's.
  const due = todayUtc(new Date(Date.now() - (5 + 6 * 60) * 60_000));
  assert.deepEqual(fields(receiver.of("stale")[0], ["pipeline", "ds", "latest_ds"]), {
    pipeline: "extract_load",
    ds: due,
    latest_ds: old,
  });
  assert.deepEqual(fields(receiver.of("failure")[0], ["ds", "task", "failure", "trigger"]), {
    ds: today,
    task: "load",
    failure: "terminal",
    trigger: "catchup",
  });
  // The scheduler serves the console (on any free port here): the alert links its run page.
  const failure = receiver.of("failure")[0]?.json;
  assert.match(String(failure?.run_url), /^http:\/\/127\.0\.0\.1:[1-9]\d*\/runs\//);
  assert.ok(String(failure?.run_url).endsWith(`/runs/${failure?.run_id}`));
  for (const post of receiver.posts) assertNoSecret(fixture, receiver, post.raw);
});

Deno.test("an ALERT_WEBHOOK_URL that is not http(s) is exit 2 at start, naming the variable but not its value", async () => {
  await using fixture = await createPipelineFixture();
  for (
    const command of [["start"], ["run", "extract_load"], [
      "backfill",
      "--from",
      "2026-01-01",
      "--to",
      "2026-01-02",
    ]]
  ) {
    const result = await fixture.cli(command, {
      ALERT_WEBHOOK_URL: "ftp://hooks.example.com/T0/B0/secret-key",
    });
    assertExit(result, 2);
    assertStderrLine(
      result.stderr,
      /^error: invalid configuration: ALERT_WEBHOOK_URL must be an http\(s\) URL of a Slack- or Mattermost-compatible incoming webhook$/,
    );
    assert.ok(!result.stderr.includes("secret-key"), result.stderr);
  }
  const [ledger] = await fixture.db.sql`select to_regclass('meta.pipeline_runs') as ledger`;
  assert.equal(ledger?.ledger, null);
});
