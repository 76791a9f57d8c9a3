/**
 * Every task ends with one JSON line on stdout (`tasks/shared/task_result.ts`): what the runner,
 * `airflow-task` and the bench read instead of the prose before it.
 */
import assert from "node:assert/strict";
import { readTaskResult } from "../tasks/shared/task_result.ts";
import { assertExit, createPipelineFixture } from "./helpers/pipeline_fixture.ts";

const DS = "2026-11-20";

function lastLine(stdout: string): string {
  return stdout.trimEnd().split("\n").at(-1) ?? "";
}

Deno.test("a task that succeeds ends with its result line: rows and the counts of its summary", async () => {
  await using fixture = await createPipelineFixture();
  const migrate = await fixture.run("migrate");
  assertExit(migrate, 0);
  const migrated = readTaskResult(migrate.stdout);
  assert.equal(lastLine(migrate.stdout), JSON.stringify(migrated));
  assert.equal(migrated?.task, "migrate");
  assert.equal(migrated?.ds, null);
  assert.equal(migrated?.outcome, "succeeded");
  assert.ok((migrated?.rows ?? 0) > 0);
  assert.equal(migrated?.counts.applied, migrated?.rows);

  const extract = await fixture.run("extract", ["--ds", DS, "--users", "30", "--load"]);
  assertExit(extract, 0);
  assert.deepEqual(
    { ...readTaskResult(extract.stdout), counts: undefined },
    {
      task: "extract",
      ds: DS,
      outcome: "succeeded",
      rows: 30,
      counts: undefined,
      warning: null,
      error: null,
      failure: null,
    },
  );
  const counts = readTaskResult(extract.stdout)?.counts ?? {};
  assert.equal(counts.users, 30);
  assert.equal(counts.rejects, 0);
  // The streamed load's summary, under its own name.
  assert.equal(counts["load.rows"], 30);
  assert.equal(counts["load.inserted"], 30);
  // People still get the summary line.
  assert.match(extract.stdout, /^extract ds=2026-11-20 users=30 rejects=0 /m);
});

Deno.test("a task that fails ends with its result line: the error line and the failure class", async () => {
  await using fixture = await createPipelineFixture();
  fixture.api.faults.add({ page: 1, times: 2, fault: { kind: "status", status: 500 } });
  const transient = await fixture.run("extract", ["--ds", DS, "--users", "10"], {
    API_RETRIES: "1",
  });
  assertExit(transient, 1);
  const failed = readTaskResult(transient.stdout);
  assert.equal(failed?.outcome, "failed");
  assert.equal(failed?.failure, "transient");
  assert.equal(failed?.rows, null);
  assert.match(failed?.error ?? "", /^page 1: the API answered 500 Internal Server Error/);
  assert.match(transient.stderr, new RegExp(`^error: ${RegExp.escape(failed?.error ?? "")}$`, "m"));

  const usage = await fixture.run("load", ["--ds", "1999-12-31"]);
  assertExit(usage, 2);
  const refused = readTaskResult(usage.stdout);
  assert.deepEqual([refused?.task, refused?.outcome, refused?.failure], [
    "load",
    "failed",
    "usage",
  ]);
  assert.match(refused?.error ?? "", /option '--ds <date>' argument '1999-12-31' is invalid/);

  const terminal = await fixture.run("load", ["--ds", DS]);
  assertExit(terminal, 3);
  assert.equal(readTaskResult(terminal.stdout)?.failure, "terminal");
});

Deno.test("a result line is read as the last one that holds; prose and a cut-off line are not", () => {
  const line = JSON.stringify({
    task: "load",
    ds: DS,
    outcome: "succeeded",
    rows: 3,
    counts: { rows: 3 },
    warning: null,
    error: null,
    failure: null,
  });
  assert.equal(readTaskResult(`load rows=3\n${line}\n`)?.rows, 3);
  assert.equal(readTaskResult(`${line}\n${line.slice(0, 40)}`)?.rows, 3);
  assert.equal(readTaskResult("load rows=3\n"), undefined);
  assert.equal(readTaskResult('{"task":"load","outcome":"maybe"}\n'), undefined);
});
