/**
 * One streamed pass for `extract_load`: `deno task extract --load` writes the landing file and
 * COPYs the same bytes into `raw.users` at once, committing only once the file and its manifest
 * vouch for what was copied; the pipeline's `load --skip-if-loaded` then has nothing to do. When
 * the streamed load cannot finish, the extract still succeeds and the load task loads the file.
 */
import assert from "node:assert/strict";
import { assertExit, assertStderrLine, createPipelineFixture } from "./helpers/pipeline_fixture.ts";
import { idleInTransaction, rawUsersState } from "./helpers/raw_users.ts";
import { readManifest } from "../tasks/landing/landing_manifest.ts";

const DS = "2026-05-01";

async function batches(sql: Awaited<ReturnType<typeof createPipelineFixture>>["db"]["sql"]) {
  return [
    ...await sql<{ ds: string; status: string; sha256: string | null; rows: number | null }[]>`
    select ds::text, status, sha256, rows_in_file::int as rows from meta.load_batches
    order by finished_at, batch_id`,
  ];
}

Deno.test("extract --load streams the CSV into raw.users, and the load after it has nothing to do", async () => {
  await using fixture = await createPipelineFixture();
  assertExit(await fixture.run("migrate"), 0);
  const extract = await fixture.run("extract", ["--ds", DS, "--users", "7001", "--load"]);
  assertExit(extract, 0);
  assert.match(extract.stdout, /^load ds=2026-05-01 rows=7001 inserted=7001 updated=0 deleted=0 /m);
  assert.match(extract.stdout, /^extract ds=2026-05-01 users=7001 /m);
  const manifest = await readManifest(fixture.files(DS).manifest);
  assert.deepEqual(await batches(fixture.db.sql), [
    { ds: DS, status: "succeeded", sha256: manifest?.sha256 ?? "", rows: 7001 },
  ]);
  const loaded = await rawUsersState(fixture.db.sql);
  assert.deepEqual([loaded.rows, loaded.ids], [7001, 7001]);

  const skipped = await fixture.run("load", ["--ds", DS, "--skip-if-loaded"]);
  assertExit(skipped, 0);
  assert.match(skipped.stdout, /^load ds=2026-05-01 rows=7001 .* already_loaded=true /m);
  assert.equal((await batches(fixture.db.sql)).length, 1);

  // Without the flag the file loads again, as a merge that changes nothing.
  const again = await fixture.run("load", ["--ds", DS]);
  assertExit(again, 0);
  assert.match(again.stdout, /inserted=0 updated=0 deleted=0 unchanged=7001 /);
  // And a second streamed extract of the same ds merges too.
  const second = await fixture.run("extract", ["--ds", DS, "--users", "7001", "--load"]);
  assertExit(second, 0);
  assert.match(
    second.stdout,
    /^load ds=2026-05-01 rows=7001 inserted=0 updated=0 deleted=0 unchanged=7001 /m,
  );
  assert.deepEqual(await rawUsersState(fixture.db.sql), loaded);
});

Deno.test("an extract that fails rolls its streamed load back and records no batch", async () => {
  await using fixture = await createPipelineFixture();
  assertExit(await fixture.run("migrate"), 0);
  assertExit(await fixture.run("extract", ["--ds", "2026-05-02", "--users", "300", "--load"]), 0);
  const before = await rawUsersState(fixture.db.sql);
  fixture.api.faults.add({ page: 3, times: Infinity, fault: { kind: "status", status: 503 } });
  const extract = await fixture.run("extract", ["--ds", DS, "--users", "3000", "--load"], {
    API_PAGE_SIZE: "1000",
    API_RETRIES: "1",
  });
  assertExit(extract, 1);
  assertStderrLine(extract.stderr, /^error: page 3: the API answered 503/);
  assert.deepEqual(await rawUsersState(fixture.db.sql), before);
  assert.deepEqual((await batches(fixture.db.sql)).map((batch) => batch.ds), ["2026-05-02"]);
  assert.equal(await idleInTransaction(fixture.db.sql), 0);
});

Deno.test("a streamed first load that meets an id already in raw.users merges from the file instead", async () => {
  await using fixture = await createPipelineFixture();
  assertExit(await fixture.run("migrate"), 0);
  assertExit(await fixture.run("extract", ["--ds", "2026-05-02", "--users", "200", "--load"]), 0);
  const [moved] = await fixture.db.sql<{ id: string }[]>`select id::text from raw.users limit 1`;
  fixture.api.faults.add({
    page: 1,
    fault: { kind: "patch", patches: [{ index: 150, set: { "login.uuid": moved!.id } }] },
  });
  const extract = await fixture.run("extract", ["--ds", DS, "--users", "300", "--load"]);
  assertExit(extract, 0);
  // The user moves to the later ds, as a plain load would move it.
  assert.match(extract.stdout, /^load ds=2026-05-01 rows=300 inserted=299 updated=1 deleted=0 /m);
  const [row] = await fixture.db.sql`select _ds::text as ds from raw.users where id = ${moved!.id}`;
  assert.equal(row?.ds, DS);
  assert.equal((await rawUsersState(fixture.db.sql)).rows, 499);
});

Deno.test("when the streamed load cannot finish, the extract succeeds and the pipeline's load loads the file", async () => {
  await using fixture = await createPipelineFixture();
  assertExit(await fixture.run("migrate"), 0);
  // The warehouse refuses rows that come from the extract's session, and only those.
  await fixture.db.sql.unsafe(`
    create function raw.refuse_streamed() returns trigger language plpgsql as $$
    begin
      if current_setting('application_name') like 'randomuser-elt:extract:%' then
        raise exception 'this warehouse refuses streamed rows';
      end if;
      return new;
    end $$;
    create trigger refuse_streamed before insert on raw.users
      for each row execute function raw.refuse_streamed();`);
  const run = await fixture.cli(["run", "extract_load", "--ds", DS], { USERS_PER_RUN: "500" });
  assertExit(run, 0);
  assertStderrLine(
    run.stderr,
    /msg="the streamed load did not finish; `deno task load` loads the file" .*this warehouse refuses streamed rows/,
  );
  assert.match(run.stderr, /^load ds=2026-05-01 rows=500 inserted=500 /m);
  assert.deepEqual((await batches(fixture.db.sql)).map((batch) => batch.status), [
    "failed",
    "succeeded",
  ]);
  assert.equal((await rawUsersState(fixture.db.sql)).rows, 500);
});

Deno.test("the pipeline loads in one streamed pass: one batch, and the load task skips", async () => {
  await using fixture = await createPipelineFixture();
  const run = await fixture.cli(["run", "extract_load", "--ds", DS], { USERS_PER_RUN: "2500" });
  assertExit(run, 0);
  assert.match(run.stderr, /^load ds=2026-05-01 rows=2500 .* already_loaded=true /m);
  assert.deepEqual((await batches(fixture.db.sql)).map((batch) => batch.status), ["succeeded"]);
  assert.equal((await rawUsersState(fixture.db.sql)).rows, 2500);
});
