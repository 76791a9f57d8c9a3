/**
 * The manifest beside each landing CSV: the extract writes it, and the load refuses a file it
 * does not vouch for — cut short, emptied, edited, moved to another ds, or with no manifest at
 * all — leaving `raw.users` exactly as it was; only `--unvouched` loads a hand-made file, and
 * then it deletes nothing.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  assertExit,
  assertStderrLine,
  createPipelineFixture,
  type PipelineFixture,
} from "./helpers/pipeline_fixture.ts";
import { LANDING_EDITS } from "./helpers/landing_edits.ts";
import { rawUsersState } from "./helpers/raw_users.ts";
import { USER_COLUMNS } from "../tasks/extract/user_fields.ts";
import { readManifest } from "../tasks/landing/landing_manifest.ts";

const DS = "2026-01-01";

async function extractAndLoad(fixture: PipelineFixture, users: number, ds = DS): Promise<void> {
  assertExit(await fixture.run("migrate"), 0);
  assertExit(await fixture.run("extract", ["--ds", ds, "--users", String(users)]), 0);
  assertExit(await fixture.run("load", ["--ds", ds]), 0);
}

async function failedBatches(fixture: PipelineFixture): Promise<number> {
  const [row] = await fixture.db.sql<{ n: number }[]>`
    select count(*)::int as n from meta.load_batches where status = 'failed'`;
  return row?.n ?? 0;
}

Deno.test("the extract writes a manifest that vouches for its CSV", async () => {
  await using fixture = await createPipelineFixture();
  assertExit(await fixture.run("extract", ["--ds", DS, "--users", "7001"]), 0);
  const files = fixture.files(DS);
  const csv = await Deno.readFile(files.csv);
  const manifest = await readManifest(files.manifest);
  assert.ok(manifest, "no manifest was written");
  assert.deepEqual(
    {
      ds: manifest.ds,
      file: manifest.file,
      rows: manifest.rows,
      bytes: manifest.bytes,
      sha256: manifest.sha256,
      columns: manifest.columns,
      pages: manifest.api.pages.map((page) => [page.page, page.users]),
      seed: manifest.api.seed,
      url: manifest.api.url,
    },
    {
      ds: DS,
      file: "random_user.csv",
      rows: 7001,
      bytes: csv.length,
      sha256: createHash("sha256").update(csv).digest("hex"),
      columns: [...USER_COLUMNS],
      pages: [[1, 5000], [2, 2001]],
      seed: `randomuser-elt-${DS}`,
      url: new URL(fixture.api.url).origin + new URL(fixture.api.url).pathname,
    },
  );
  assert.ok(manifest.extract.version.length > 0);
  const leftovers = [...Deno.readDirSync(files.dir)].map((entry) => entry.name).sort();
  assert.deepEqual(leftovers, ["random_user.csv", "random_user.manifest.json", "rejects.jsonl"]);
});

Deno.test("a CSV cut short, emptied or edited after the extract is refused and deletes nothing", async (t) => {
  await using fixture = await createPipelineFixture();
  await extractAndLoad(fixture, 1000);
  const before = await rawUsersState(fixture.db.sql);
  assert.equal(before.rows, 1000);
  const files = fixture.files(DS);
  const pristine = await Deno.readFile(files.csv);
  for (const edit of LANDING_EDITS) {
    await t.step(edit.name, async () => {
      await Deno.writeFile(files.csv, pristine);
      await edit.apply(files.csv);
      assert.notDeepEqual(await Deno.readFile(files.csv), pristine, "the edit changed nothing");
      const failedBefore = await failedBatches(fixture);
      const load = await fixture.run("load", ["--ds", DS]);
      assertExit(load, 3);
      assertStderrLine(load.stderr, /^error: refusing to load \S+random_user\.csv: /);
      assertStderrLine(load.stderr, edit.reason);
      assertStderrLine(load.stderr, /raw\.users is unchanged\. Re-run `deno task extract --ds/);
      assert.deepEqual(await rawUsersState(fixture.db.sql), before);
      assert.equal(await failedBatches(fixture), failedBefore + 1);
    });
  }
});

Deno.test("a CSV with no manifest is refused; --unvouched loads it and deletes nothing", async () => {
  await using fixture = await createPipelineFixture();
  await extractAndLoad(fixture, 500);
  const before = await rawUsersState(fixture.db.sql);
  const files = fixture.files(DS);
  await Deno.remove(files.manifest);
  const refused = await fixture.run("load", ["--ds", DS]);
  assertExit(refused, 3);
  assertStderrLine(
    refused.stderr,
    /^error: refusing to load \S+: no manifest vouches for it \(\S+random_user\.manifest\.json is missing\).*pass --unvouched/,
  );
  assert.deepEqual(await rawUsersState(fixture.db.sql), before);

  // A hand-made file with 100 users fewer: inserted and updated as needed, nobody deleted.
  const lines = (await Deno.readTextFile(files.csv)).split("\r\n");
  await Deno.writeTextFile(files.csv, [...lines.slice(0, 401), ""].join("\r\n"));
  const handMade = await fixture.run("load", ["--ds", DS, "--unvouched"]);
  assertExit(handMade, 0);
  assert.match(
    handMade.stdout,
    /rows=400 inserted=0 updated=0 deleted=0 unchanged=400 .*vouched=false/,
  );
  assert.deepEqual(await rawUsersState(fixture.db.sql), before);
  const [batch] = await fixture.db.sql`
    select vouched, deleted::int from meta.load_batches order by finished_at desc limit 1`;
  assert.deepEqual(batch, { vouched: false, deleted: 0 });
});

Deno.test("a manifest of another ds does not vouch for this one", async () => {
  await using fixture = await createPipelineFixture();
  await extractAndLoad(fixture, 300);
  const before = await rawUsersState(fixture.db.sql);
  const other = "2026-01-02";
  const from = fixture.files(DS);
  const to = fixture.files(other);
  await Deno.mkdir(to.dir, { recursive: true });
  await Deno.copyFile(from.csv, to.csv);
  await Deno.copyFile(from.manifest, to.manifest);
  const load = await fixture.run("load", ["--ds", other]);
  assertExit(load, 3);
  assertStderrLine(
    load.stderr,
    /refusing to load .*: its manifest is for ds 2026-01-01, not 2026-01-02/,
  );
  assert.deepEqual(await rawUsersState(fixture.db.sql), before);
});

Deno.test("a CSV that starts with a byte order mark is refused, naming the BOM", async () => {
  await using fixture = await createPipelineFixture();
  await extractAndLoad(fixture, 50);
  const before = await rawUsersState(fixture.db.sql);
  const file = fixture.files(DS).csv;
  const bytes = await Deno.readFile(file);
  await Deno.writeFile(file, new Uint8Array([0xef, 0xbb, 0xbf, ...bytes]));
  for (const args of [["--ds", DS], ["--ds", DS, "--unvouched"]]) {
    const load = await fixture.run("load", args);
    assertExit(load, 3);
    assertStderrLine(
      load.stderr,
      /^error: \S+random_user\.csv starts with a UTF-8 byte order mark \(bytes EF BB BF\)/,
    );
    assert.ok(!load.stderr.includes("\ufeff"), "the message shows the BOM invisibly");
  }
  assert.deepEqual(await rawUsersState(fixture.db.sql), before);
});

Deno.test("a landing path of the wrong kind is terminal and says what it found", async () => {
  await using fixture = await createPipelineFixture();
  await extractAndLoad(fixture, 20);
  const before = await rawUsersState(fixture.db.sql);

  const files = fixture.files(DS);
  await Deno.remove(files.csv);
  await Deno.mkdir(files.csv);
  for (const task of ["extract", "load"]) {
    const result = await fixture.run(
      task,
      ["--ds", DS, "--users", "20"].slice(0, task === "load" ? 2 : 4),
    );
    assertExit(result, 3);
    assertStderrLine(
      result.stderr,
      /^error: \S+ds=2026-01-01\/random_user\.csv is a directory, but it must be a file: the CSV of ds 2026-01-01\. Move it out of the way/,
    );
    assert.doesNotMatch(result.stderr, /Retrying may succeed/);
  }

  const other = fixture.files("2026-01-03");
  await Deno.writeTextFile(other.dir, "not a directory");
  const extract = await fixture.run("extract", ["--ds", "2026-01-03", "--users", "20"]);
  assertExit(extract, 3);
  assertStderrLine(
    extract.stderr,
    /^error: \S+ds=2026-01-03 is a file, but it must be a directory: the landing directory of ds 2026-01-03/,
  );
  assert.deepEqual(await rawUsersState(fixture.db.sql), before);
});
