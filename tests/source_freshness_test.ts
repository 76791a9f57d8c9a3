/// <reference lib="dom" />
/**
 * dbt source freshness of raw.users as the transform pipeline's last task and as
 * `deno task freshness`: pass, warn (the run succeeds, the warning is in the ledger, in
 * `deno task status` and in one alert) and error (exit 3, and through the pipeline one failure
 * alert), each check recorded, and checks at once each read their own result.
 */
import assert from "node:assert/strict";
import { parseHTML } from "linkedom";
import { assertExit, assertStderrLine, createPipelineFixture } from "./helpers/pipeline_fixture.ts";
import { startConsoleProcess } from "./helpers/console_process.ts";
import { startWebhookReceiver } from "./helpers/webhook_receiver.ts";

const FAST = { USERS_PER_RUN: "300", TASK_RETRY_DELAY: "50ms" };

Deno.test("source freshness warns past FRESHNESS_WARN_AFTER through the pipeline and its alert, and fails past FRESHNESS_ERROR_AFTER", async () => {
  await using fixture = await createPipelineFixture();
  await using receiver = await startWebhookReceiver();
  const ds = "2026-01-02";
  assertExit(await fixture.cli(["run", "extract_load", "--ds", ds], FAST), 0);
  // Loaded two hours ago, as far as raw.users can tell (2.x h by the time each check runs: the
  // builds between take minutes on a busy machine).
  await fixture.db.sql`update raw.users set _loaded_at = now() - interval '2 hours'`;

  const env = {
    ...FAST,
    ALERT_WEBHOOK_URL: receiver.url,
    FRESHNESS_WARN_AFTER: "1h",
    FRESHNESS_ERROR_AFTER: "3h",
  };
  const warned = await fixture.cli(["run", "transform", "--ds", ds], env);
  assertExit(warned, 0);
  assert.deepEqual(receiver.posts.map((post) => post.json?.kind), ["warning"]);
  const [alert] = receiver.posts;
  assert.equal(alert?.json?.task, "source_freshness");
  assert.equal(alert?.json?.pipeline, "transform");
  const warning =
    /^raw\.users was last loaded 2\.\d h ago, at \d{4}-\d\d-\d\d \d\d:\d\d UTC \(warn after 1 h, error after 3 h\)$/;
  assert.match(String(alert?.json?.error), warning);
  const status = await fixture.cli(["status", "--limit", "1"]);
  assert.match(
    status.stdout,
    /^ {2}source_freshness #1\s+succeeded \(exit 0\)\s+.*\[warn\] raw\.users was last loaded 2\.\d h ago/m,
  );
  // …and on the run's page of the console.
  {
    await using served = await startConsoleProcess(fixture, "console");
    const page = await (await fetch(new URL(`/runs/${alert?.json?.run_id}`, served.url))).text();
    assert.match(page, /warning: raw\.users was last loaded 2\.\d h ago/);
    // The data page counts the ds in raw.users and in the built dim_user, and lists the build.
    const { document } = parseHTML(await (await fetch(new URL("/data", served.url))).text());
    const day = [...document.querySelectorAll(`tr[data-ds="${ds}"] td`)]
      .map((td) => td.textContent!.trim());
    assert.deepEqual(day, [ds, "300", "300", "0", "0"]);
    const [build] = await fixture.db.sql`select run_id from meta.dbt_runs`;
    assert.ok(document.body.textContent!.includes(build!.run_id), "the dbt build is listed");
  }

  // Past the error bound, through the pipeline: the run fails for good and one alert says why.
  const stale = await fixture.cli(["run", "transform", "--ds", ds], {
    ...env,
    FRESHNESS_WARN_AFTER: "30m",
    FRESHNESS_ERROR_AFTER: "90m",
  });
  assertExit(stale, 3);
  assert.deepEqual(receiver.posts.map((post) => post.json?.kind), ["warning", "failure"]);
  const failure = receiver.of("failure")[0]?.json;
  assert.deepEqual([failure?.pipeline, failure?.task, failure?.failure], [
    "transform",
    "source_freshness",
    "terminal",
  ]);
  assert.match(
    String(failure?.error),
    /^raw\.users was last loaded 2\.\d h ago, at .* UTC \(warn after 30 min, error after 90 min\): the data is stale/,
  );

  const failed = await fixture.run("source_freshness", ["--ds", ds], {
    FRESHNESS_WARN_AFTER: "30m",
    FRESHNESS_ERROR_AFTER: "90m",
  });
  assertExit(failed, 3);
  assertStderrLine(
    failed.stderr,
    /^error: raw\.users was last loaded 2\.\d h ago, at .* UTC \(warn after 30 min, error after 90 min\): the data is stale; run extract_load/,
  );

  const passed = await fixture.run("source_freshness", ["--ds", ds]);
  assertExit(passed, 0);
  assert.match(
    passed.stdout,
    /^freshness ds=2026-01-02 status=pass .*warn_after_minutes=1560 error_after_minutes=3000$/m,
  );
  assert.doesNotMatch(passed.stderr, /^warning: /m);

  // Checks at once (Airflow runs them so) share DATA_DIR/dbt/freshness: each reads its own result.
  const together = await Promise.all(
    [1, 2, 3].map(() => fixture.run("source_freshness", ["--ds", ds])),
  );
  for (const check of together) {
    assertExit(check, 0);
    assert.match(check.stdout, /^freshness ds=2026-01-02 status=pass /m);
  }

  const checks = await fixture.db.sql`
    select status, round(age_seconds / 3600) as hours, warn_after_seconds, error_after_seconds
    from meta.source_freshness order by checked_at`;
  assert.deepEqual(
    checks.map((c) => `${c.status} ${c.hours} ${c.warn_after_seconds} ${c.error_after_seconds}`),
    [
      "warn 2 3600 10800",
      "error 2 1800 5400",
      "error 2 1800 5400",
      "pass 2 93600 180000",
      "pass 2 93600 180000",
      "pass 2 93600 180000",
      "pass 2 93600 180000",
    ],
  );
});
