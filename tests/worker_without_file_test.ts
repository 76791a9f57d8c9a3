/**
 * Workers that share nothing but the warehouse (Airflow's CeleryExecutor): the pipeline's
 * `load --skip-if-loaded` on a worker whose DATA_DIR lacks the ds's CSV decides from the batch
 * the warehouse holds — nothing to do when the extract's streamed load got it there, a terminal
 * failure that says what is missing and where when it did not, with the warehouse unchanged.
 */
import assert from "node:assert/strict";
import { hostname } from "node:os";
import {
  assertExit,
  assertStderrLine,
  createPipelineFixture,
  type PipelineFixture,
} from "./helpers/pipeline_fixture.ts";
import { rawUsersState } from "./helpers/raw_users.ts";
import { createWorkspace } from "./helpers/task_process.ts";
import { landingFiles } from "../tasks/landing/landing_zone.ts";

const DS = "2026-06-01";

/** raw.users and meta.load_batches, summed up: a failed load must change neither. */
async function warehouseState(fixture: PipelineFixture) {
  const [batches] = await fixture.db.sql<{ n: number; sum: string | null }[]>`
    select count(*)::int as n, md5(string_agg(b::text, '|' order by batch_id)) as sum
    from meta.load_batches as b`;
  return { users: await rawUsersState(fixture.db.sql), batches };
}

Deno.test("a load on a worker without the CSV does nothing when the extract's streamed load put its batch in the warehouse", async () => {
  await using fixture = await createPipelineFixture();
  await using other = await createWorkspace();
  assertExit(await fixture.run("migrate"), 0);
  assertExit(await fixture.run("extract", ["--ds", DS, "--users", "400", "--load"]), 0);
  const before = await warehouseState(fixture);
  assert.equal(before.users.rows, 400);

  const load = await fixture.run("load", ["--ds", DS, "--skip-if-loaded"], {
    DATA_DIR: other.dataDir,
  });
  assertExit(load, 0);
  assert.match(load.stdout, /^load ds=2026-06-01 rows=400 inserted=400 .* already_loaded=true /m);
  assertStderrLine(
    load.stderr,
    /the CSV is not on this worker; the warehouse holds its loaded batch/,
  );
  assert.deepEqual(await warehouseState(fixture), before);
});

Deno.test("a load on a worker without the CSV fails terminal, saying what is missing and where, when the warehouse holds no batch of its ds", async () => {
  await using fixture = await createPipelineFixture();
  await using other = await createWorkspace();
  assertExit(await fixture.run("migrate"), 0);
  // Extracted without loading: the file exists only in the first worker's DATA_DIR.
  assertExit(await fixture.run("extract", ["--ds", DS, "--users", "300"]), 0);
  const before = await warehouseState(fixture);

  const load = await fixture.run("load", ["--ds", DS, "--skip-if-loaded"], {
    DATA_DIR: other.dataDir,
  });
  assertExit(load, 3);
  const missing = landingFiles(other.dataDir, DS).csv;
  const errors = load.stderr.split("\n").filter((line) => line.startsWith("error: "));
  assert.deepEqual(errors, [
    `error: the CSV of ds ${DS} is not on this worker (${missing} on ${hostname()} does not ` +
    `exist) and the warehouse holds no loaded batch of it: meta.load_batches has no batch of ds ` +
    `${DS}. raw.users is unchanged. Run extract_load again for ds ${DS} (its extract loads the ` +
    "file it writes, on any worker), or give the workers one shared DATA_DIR",
  ]);
  assert.deepEqual(await warehouseState(fixture), before);
  // Where the file is, the same load loads it.
  assertExit(await fixture.run("load", ["--ds", DS, "--skip-if-loaded"]), 0);
  assert.equal((await rawUsersState(fixture.db.sql)).rows, 300);
});

Deno.test("a streamed load that cannot begin leaves a failed batch naming its file and host, which a load on another worker reports", async () => {
  await using fixture = await createPipelineFixture();
  await using other = await createWorkspace();
  assertExit(await fixture.run("migrate"), 0);
  assertExit(await fixture.run("extract", ["--ds", DS, "--users", "300", "--load"]), 0);
  // The table is now ahead of the extract: the next streamed load cannot begin.
  await fixture.db.sql`alter table raw.users add column nickname text`;
  const extract = await fixture.run("extract", ["--ds", DS, "--users", "300", "--load"]);
  assertExit(extract, 0);
  const [failed] = await fixture.db.sql<{ status: string; host: string; file: string }[]>`
    select status, host, file from meta.load_batches order by finished_at desc limit 1`;
  assert.deepEqual(failed, { status: "failed", host: hostname(), file: fixture.files(DS).csv });
  const before = await warehouseState(fixture);

  const load = await fixture.run("load", ["--ds", DS, "--skip-if-loaded"], {
    DATA_DIR: other.dataDir,
  });
  assertExit(load, 3);
  assertStderrLine(
    load.stderr,
    new RegExp(
      `^error: the CSV of ds ${DS} is not on this worker .* its newest batch, \\w{26} ` +
        `\\(${escape(fixture.files(DS).csv)} on ${escape(hostname())}\\), failed: the CSV header ` +
        "of .* raw\\.users is unchanged\\. Run extract_load again",
    ),
  );
  assert.deepEqual(await warehouseState(fixture), before);
});

Deno.test("an extract whose streamed load fails where the warehouse cannot record it fails too", async () => {
  await using fixture = await createPipelineFixture();
  assertExit(await fixture.run("migrate"), 0);
  await fixture.db.sql`alter table raw.users add column nickname text`;
  // The warehouse refuses the failed batch's row.
  await fixture.db.sql.unsafe(`
    create function pg_temp_refuse() returns trigger language plpgsql as $$
    begin raise exception 'no failed batches today'; end $$;
    create trigger refuse_failed before insert on meta.load_batches
      for each row when (new.status = 'failed') execute function pg_temp_refuse();`);
  const before = await warehouseState(fixture);
  const extract = await fixture.run("extract", ["--ds", DS, "--users", "300", "--load"]);
  assertExit(extract, 1);
  assertStderrLine(
    extract.stderr,
    /^error: .*the CSV header of .*; and the warehouse could not record that the load failed \(.*no failed batches today\), so the extract fails too: run it again$/,
  );
  assert.deepEqual(await warehouseState(fixture), before);
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
