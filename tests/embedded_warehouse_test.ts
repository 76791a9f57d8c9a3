import assert from "node:assert/strict";
import { startFakeRandomUser } from "../tasks/stand_in/randomuser_server.ts";
import { assertExit } from "./helpers/pipeline_fixture.ts";
import { createWorkspace, runTaskProcess } from "./helpers/task_process.ts";
import { connect } from "../tasks/warehouse/sql_client.ts";

Deno.test("without DATABASE_URL the tasks start, reuse and can stop an embedded warehouse", async () => {
  await using api = await startFakeRandomUser();
  await using workspace = await createWorkspace();
  const env = { RANDOMUSER_API_URL: api.url, DATA_DIR: workspace.dataDir };
  const run = (task: string, args: string[] = []) =>
    runTaskProcess(task, args, { cwd: workspace.dir, env });
  try {
    const migrate = await run("migrate");
    assertExit(migrate, 0);
    assert.match(migrate.stderr, /msg="creating the embedded warehouse"/);
    assert.match(migrate.stderr, /msg="started the embedded warehouse"/);
    assert.match(
      migrate.stdout,
      /warehouse=postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/warehouse/,
    );
    assertExit(await run("extract", ["--ds", "2026-01-01", "--users", "1500"]), 0);
    const load = await run("load", ["--ds", "2026-01-01"]);
    assertExit(load, 0);
    assert.match(load.stderr, /msg="using the running embedded warehouse"/);
    assert.match(load.stdout, /inserted=1500/);

    const url = await run("warehouse_control", ["url"]);
    assertExit(url, 0);
    const sql = connect(url.stdout.trim(), { max: 1 });
    const [row] = await sql`select count(*)::int as n from raw.users`;
    await sql.end();
    assert.equal(row?.n, 1500);

    const stop = await run("warehouse_control", ["stop"]);
    assertExit(stop, 0);
    assert.match(stop.stdout, /state=stopped/);
    // The next task starts it again, and the data is still there.
    const again = await run("load", ["--ds", "2026-01-01"]);
    assertExit(again, 0);
    assert.match(again.stdout, /unchanged=1500/);
  } finally {
    await run("warehouse_control", ["stop"]);
  }
});

Deno.test("tasks started at once on a fresh DATA_DIR share one embedded warehouse", async () => {
  await using workspace = await createWorkspace();
  const env = { DATA_DIR: workspace.dataDir };
  try {
    const results = await Promise.all(
      [1, 2, 3, 4, 5, 6].map(() => runTaskProcess("migrate", [], { cwd: workspace.dir, env })),
    );
    results.forEach((result) => assertExit(result, 0));
    const applied = results.map((r) => Number(/applied=(\d+)/.exec(r.stdout)?.[1])).sort();
    assert.equal(
      applied.filter((n) => n > 0).length,
      1,
      "exactly one process applied the migrations",
    );
  } finally {
    await runTaskProcess("warehouse_control", ["stop"], { cwd: workspace.dir, env });
  }
});

Deno.test("warehouse control rejects an unknown action with exit 2", async () => {
  await using workspace = await createWorkspace();
  const result = await runTaskProcess("warehouse_control", ["explode"], { cwd: workspace.dir });
  assertExit(result, 2);
  assert.match(
    result.stderr,
    /^error: command-argument value 'explode' is invalid for argument 'action'/,
  );
});
