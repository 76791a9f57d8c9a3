/**
 * The alerts in process, against a real receiver on loopback and real PostgreSQL: the webhook's
 * tries, time limit and backoff; secrets kept out of bodies; the staleness rule, day by day.
 * The pipeline's own alerts, through `deno task run` and the scheduler, are in alerts_test.ts.
 */
import assert from "node:assert/strict";
import { Alerter } from "../pipelines/alerts/alerter.ts";
import { AlertWebhook } from "../pipelines/alerts/alert_webhook.ts";
import { definePipelines } from "../pipelines/definitions.ts";
import { RunLedger } from "../pipelines/ledger.ts";
import { urlPasswords } from "../tasks/shared/config.ts";
import { Logger } from "../tasks/shared/logger.ts";
import { migrate } from "../tasks/warehouse/migrations.ts";
import { connect } from "../tasks/warehouse/sql_client.ts";
import { createTestDatabase } from "./helpers/test_warehouse.ts";
import { startWebhookReceiver } from "./helpers/webhook_receiver.ts";

const FAST = { backoffMs: 10 };

Deno.test("the webhook retries a 500 and a timeout three times, a 404 once, and never shows its URL", async () => {
  await using receiver = await startWebhookReceiver();
  const webhook = new AlertWebhook(receiver.url, { ...FAST, timeoutMs: 200 });

  assert.deepEqual(await webhook.post({ text: "hello" }), { delivered: true, tries: 1 });
  assert.deepEqual(receiver.posts[0]?.json, { text: "hello" });
  assert.equal(receiver.posts[0]?.contentType, "application/json");

  receiver.answer({ status: 500 });
  const failing = await webhook.post({ text: "a" });
  assert.equal(failing.delivered, false);
  assert.equal(failing.tries, 3);
  assert.match(
    failing.error ?? "",
    /^the webhook answered 500 Internal Server Error: receiver failure$/,
  );

  receiver.answer({ status: 404 });
  const wrong = await webhook.post({ text: "b" });
  assert.deepEqual([wrong.delivered, wrong.tries], [false, 1]);

  receiver.answer({ delayMs: 1_000 });
  const slow = await webhook.post({ text: "c" });
  assert.deepEqual([slow.delivered, slow.tries], [false, 3]);
  assert.equal(slow.error, "the webhook did not answer within 0.2 s");
  assert.equal(receiver.posts.length, 1 + 3 + 1 + 3);

  // Nothing listens on a port the receiver had and gave up.
  const closed = await startWebhookReceiver();
  const downUrl = closed.url;
  await closed[Symbol.asyncDispose]();
  const down = await new AlertWebhook(downUrl, FAST).post({ text: "d" });
  assert.deepEqual([down.delivered, down.tries], [false, 3]);
  assert.match(down.error ?? "", /^the webhook could not be reached: /);
  assert.ok(!down.error?.includes(closed.secret), String(down.error));
});

/** A migrated test database, its run ledger, and an alerter posting to `receiver`. */
async function alertsFixture(receiverUrl: string, secrets: string[] = []) {
  const db = await createTestDatabase();
  await migrate(db.sql);
  const lines: string[] = [];
  const alerter = new Alerter({
    webhookUrl: receiverUrl,
    sql: db.sql,
    logger: new Logger("test", (line) => lines.push(line)),
    secrets: [...secrets, ...urlPasswords(db.url)],
    consoleUrl: "http://127.0.0.1:8080",
    webhook: FAST,
  });
  return { db, ledger: new RunLedger(db.sql), alerter, lines };
}

Deno.test("an error line holding the warehouse URL and secrets reaches the receiver without them", async () => {
  await using receiver = await startWebhookReceiver();
  const secrets = ["Analyst-pass-1", "Metabase&<admin>9"];
  const { db, ledger, alerter } = await alertsFixture(receiver.url, secrets);
  await using _db = db;
  const [password] = urlPasswords(db.url);
  assert.ok(password, `the test warehouse URL has no password: ${db.url}`);
  const error = `could not reach ${db.url} (password ${password}); analyst ${secrets[0]}, ` +
    `admin ${secrets[1]}, webhook ${receiver.url} <!channel>`;
  const runId = await ledger.startRun({
    pipeline: "extract_load",
    ds: "2026-03-01",
    trigger: "manual",
  });
  await ledger.startTry({ runId, task: "load", tryNumber: 1, logPath: "/dev/null" });
  await ledger.finishTry({ runId, task: "load", tryNumber: 1 }, {
    state: "failed",
    exitCode: 3,
    durationMs: 5,
    rows: null,
    error,
    failure: "terminal",
    warning: null,
  });
  await ledger.finishRun(runId, {
    state: "failed",
    error: `load failed after 1 try: ${error}`,
    failure: "terminal",
  });

  await alerter.runFinished(runId);
  assert.equal(receiver.posts.length, 1);
  const [post] = receiver.posts;
  for (const secret of [password, ...secrets, receiver.url, receiver.secret]) {
    assert.ok(!post!.raw.includes(secret), `the body shows ${secret}: ${post!.raw}`);
    assert.ok(!post!.raw.includes(JSON.stringify(secret).slice(1, -1)), `the body shows ${secret}`);
  }
  const body = post!.json!;
  assert.equal(body.kind, "failure");
  assert.equal(body.task, "load");
  assert.equal(body.failure, "terminal");
  assert.equal(body.run_url, `http://127.0.0.1:8080/runs/${runId}`);
  assert.match(
    String(body.error),
    /^could not reach postgres:\/\/[^:]+:\*\*\*@.* \(password \*\*\*\)/,
  );
  // The text is chat markup: the error cannot mention a channel or make a link.
  assert.match(String(body.text), /&lt;!channel&gt;/);
  assert.match(
    String(body.text),
    new RegExp(`<http://127\\.0\\.0\\.1:8080/runs/${runId}\\|run page>$`),
  );

  // Told once: asking again (a restart, another process) posts nothing.
  await alerter.runFinished(runId);
  assert.equal(receiver.posts.length, 1);
});

Deno.test("two processes told of the same failed run at once alert it once", async () => {
  await using receiver = await startWebhookReceiver();
  const { db, ledger, alerter } = await alertsFixture(receiver.url);
  await using _db = db;
  // Another process: its own connections to the same ledger.
  const otherSql = connect(db.url, { max: 2 });
  const other = new Alerter({
    webhookUrl: receiver.url,
    sql: otherSql,
    logger: new Logger("test", () => {}),
    secrets: urlPasswords(db.url),
    webhook: FAST,
  });
  try {
    const runId = await ledger.startRun({
      pipeline: "transform",
      ds: "2026-03-02",
      trigger: "schedule",
    });
    await ledger.finishRun(runId, {
      state: "failed",
      error: "dbt build failed",
      failure: "terminal",
    });
    await Promise.all([
      alerter.runFinished(runId),
      other.runFinished(runId),
      alerter.runFinished(runId),
      other.runFinished(runId),
    ]);
    assert.deepEqual(receiver.posts.map((post) => post.json?.kind), ["failure"]);
    const rows = await db.sql`select kind, state from meta.alerts`;
    assert.deepEqual(rows.map((row) => `${row.kind} ${row.state}`), ["failure sent"]);
  } finally {
    await otherSql.end();
  }
});

Deno.test("stale data is alerted once per UTC day, not before its grace, and not once fresh", async () => {
  await using receiver = await startWebhookReceiver();
  const { db, ledger, alerter } = await alertsFixture(receiver.url);
  await using _db = db;
  const pipeline = definePipelines({ retries: 0, retryDelayMs: 0 }).extract_load;
  const check = (at: string) =>
    alerter.checkStaleness({ pipeline, staleAfterMs: 6 * 3_600_000, now: new Date(at) });
  const succeed = async (ds: string) => {
    const runId = await ledger.startRun({ pipeline: "extract_load", ds, trigger: "manual" });
    await ledger.finishRun(runId, { state: "succeeded" });
  };

  // Nothing ever ran: nothing can be stale yet.
  await check("2026-03-10T12:00:00Z");
  assert.equal(receiver.posts.length, 0);

  // The last success three days old.
  await succeed("2026-03-07");
  await check("2026-03-10T12:00:00Z");
  await check("2026-03-10T13:00:00Z");
  assert.equal(receiver.of("stale").length, 1);
  const first = receiver.of("stale")[0]!.json!;
  assert.equal(first.latest_ds, "2026-03-07");
  assert.equal(first.ds, "2026-03-10");
  assert.match(
    String(first.text),
    /^:warning: randomuser-elt: the data is stale\nThe newest extract_load that succeeded is for ds 2026-03-07; ds 2026-03-10 was due by 2026-03-10T06:05 UTC \(the day's schedule \+ STALE_AFTER 6h\)\.\nLast run: ds 2026-03-07 succeeded$/,
  );

  // The next day, once more.
  await check("2026-03-11T01:00:00Z");
  assert.equal(receiver.of("stale").length, 2);
  assert.equal(receiver.of("stale")[1]!.json!.ds, "2026-03-10");

  // Yesterday's data is fresh until today's schedule + STALE_AFTER (06:05 UTC).
  await succeed("2026-03-11");
  await check("2026-03-12T06:00:00Z");
  assert.equal(receiver.of("stale").length, 2);
  await check("2026-03-12T06:10:00Z");
  assert.equal(receiver.of("stale").length, 3);
  const rows = await db.sql`select state from meta.alerts where kind = 'stale'`;
  assert.deepEqual(rows.map((row) => row.state), ["sent", "sent", "sent"]);
});
