/**
 * A `DATA_DIR` the pipeline cannot write in (issue 23): `DATA_DIR` or `DATA_DIR/logs` a file is a
 * usage error (exit 2) naming the variable, before anything is recorded; a file deeper in the way
 * of a try's log folder fails the run with exit 2 too, and the run's ledger row is closed
 * `failed` — no row is left `running` by a process that has exited.
 */
import assert from "node:assert/strict";
import { assertExit, errorLine } from "../helpers/pipeline_fixture.ts";
import { warehouseState } from "../helpers/warehouse_state.ts";
import { recordChaos } from "./chaos_report.ts";
import { createChaosFixture, secondsSince } from "./chaos_fixture.ts";

const USERS = 100;

Deno.test("a DATA_DIR that is a file, or holds files where folders go, is exit 2 and leaves no run running", async () => {
  const started = performance.now();
  await using fixture = await createChaosFixture();
  const env = { USERS_PER_RUN: String(USERS), TASK_RETRIES: "0" };
  assertExit(await fixture.cli(["run", "extract_load", "--ds", "2026-09-20"], env), 0);
  const before = await warehouseState(fixture.db.sql);
  const dir = fixture.workspace.dir;

  const file = `${dir}/not-a-folder`;
  await Deno.writeTextFile(file, "x");
  const asFile = await fixture.cli(["run", "extract_load", "--ds", "2026-09-21"], {
    ...env,
    DATA_DIR: file,
  });
  assertExit(asFile, 2);
  assert.equal(
    errorLine(asFile.stderr),
    `error: invalid configuration: DATA_DIR (${file}) is a file, not a directory; set DATA_DIR ` +
      "to a directory, or move the file away",
  );
  const below = await fixture.run("extract", ["--ds", "2026-09-21"], {
    DATA_DIR: `${file}/data`,
  });
  assertExit(below, 2);
  assert.match(
    errorLine(below.stderr),
    /^error: invalid configuration: DATA_DIR ".*" lies below a file/,
  );

  const other = `${dir}/other-data`;
  await Deno.mkdir(other);
  await Deno.writeTextFile(`${other}/logs`, "x");
  const logsFile = await fixture.cli(["run", "extract_load", "--ds", "2026-09-21"], {
    ...env,
    DATA_DIR: other,
  });
  assertExit(logsFile, 2);
  assert.equal(
    errorLine(logsFile.stderr),
    `error: invalid configuration: DATA_DIR/logs (${other}/logs) is a file, not a directory; ` +
      "set DATA_DIR to a directory, or move the file away",
  );
  assert.deepEqual(await warehouseState(fixture.db.sql), before, "nothing was recorded");

  // A file where the pipeline's log folder goes: the run starts, fails, and its row is closed.
  await Deno.remove(`${other}/logs`);
  await Deno.mkdir(`${other}/logs`);
  await Deno.writeTextFile(`${other}/logs/extract_load`, "x");
  const deeper = await fixture.cli(["run", "extract_load", "--ds", "2026-09-21"], {
    ...env,
    DATA_DIR: other,
  });
  assertExit(deeper, 2);
  assert.match(
    errorLine(deeper.stderr),
    /^error: cannot make the try's log folder \S+\/logs\/extract_load\/ds=2026-09-21\/migrate: .*Not a directory.*; DATA_DIR\/logs must be a directory the pipeline can write \(move what is in the way\)$/,
  );
  const runs = await fixture.runs();
  assert.deepEqual(runs.filter((run) => run.state === "running"), [], "a run left running");
  const failed = runs.find((run) => run.ds === "2026-09-21");
  assert.equal(failed?.state, "failed");
  assert.match(failed?.error ?? "", /cannot make the try's log folder/);
  const after = await warehouseState(fixture.db.sql);
  assert.deepEqual(after.rawUsers, before.rawUsers);
  assert.deepEqual(
    { ...after.meta, pipeline_runs: "" },
    { ...before.meta, pipeline_runs: "" },
    "only the failed run's row was added",
  );
  const [running] = await fixture.db.sql<{ n: number }[]>`
    select count(*)::int as n from meta.task_tries where state = 'running'`;
  assert.equal(running?.n, 0, "a try left running");
  await recordChaos("files", {
    scenario: "DATA_DIR a file, below a file, DATA_DIR/logs a file, a file in the log folder: " +
      "exit 2, no run left running",
    faultsInjected: 4,
    rowsExpected: USERS,
    rowsFound: (await fixture.rawUsers()).rows,
    seconds: secondsSince(started),
  });
});
