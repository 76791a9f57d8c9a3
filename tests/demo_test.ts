import assert from "node:assert/strict";
import { assertExit, createPipelineFixture } from "./helpers/pipeline_fixture.ts";
import { rawUsersState } from "./helpers/raw_users.ts";

Deno.test("demo runs both pipelines offline, writes the report, and a second demo changes no row", async () => {
  await using fixture = await createPipelineFixture();
  // Everything the demo needs it starts itself: no RANDOMUSER_API_URL (the stand-in runs in
  // process), the fixture's database instead of an embedded one, so the test is quick.
  const env = { RANDOMUSER_API_URL: "http://127.0.0.1:9/unreachable/", TASK_RETRY_DELAY: "50ms" };
  const first = await fixture.cli(["demo", "--days", "2", "--users", "300"], env);
  assertExit(first, 0);
  const succeeded = first.stdout.match(/^demo pipeline=\w+ ds=\S+ state=succeeded$/gm) ?? [];
  assert.equal(succeeded.length, 4, first.stdout);
  assert.match(first.stdout, /^\S+\s+transform\s+\S+\s+manual\s+succeeded\s+/m);
  const report = /^report: (\S+) \(opens offline/m.exec(first.stdout)?.[1];
  assert.ok(report, first.stdout);
  assert.ok(report.startsWith(`${fixture.workspace.dataDir}/demo/`), report);
  assert.match(await Deno.readTextFile(report), /^<!doctype html>/);
  assert.match(first.stderr, /msg="started the stand-in Random User API \(not randomuser\.me\)"/);
  const before = await rawUsersState(fixture.db.sql);
  assert.equal(before.rows, 600);

  const second = await fixture.cli(["demo", "--days", "2", "--users", "300"], env);
  assertExit(second, 0);
  assert.equal((second.stdout.match(/state=skipped$/gm) ?? []).length, 4, second.stdout);
  assert.deepEqual(await rawUsersState(fixture.db.sql), before);
});
