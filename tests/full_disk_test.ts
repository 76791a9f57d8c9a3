/**
 * A full disk loses nothing: with `DATA_DIR` on a small filesystem (a tmpfs the test mounts), an
 * extract that runs out of space says so, leaves the previous CSV and manifest as they were and
 * no temporary file behind, and the load keeps loading the previous, vouched file.
 */
import assert from "node:assert/strict";
import {
  assertExit,
  assertStderrLine,
  createPipelineFixture,
  type PipelineFixture,
} from "./helpers/pipeline_fixture.ts";
import { rawUsersState } from "./helpers/raw_users.ts";
import { freeSpace, mountTmpfs } from "./helpers/tmpfs.ts";

const DS = "2026-03-01";

async function landing(fixture: PipelineFixture) {
  const files = fixture.files(DS);
  return {
    csv: await Deno.readFile(files.csv),
    manifest: await Deno.readFile(files.manifest),
    entries: [...Deno.readDirSync(files.dir)].map((entry) => entry.name).sort(),
  };
}

Deno.test("an extract that fills the disk says so, changes no file of the ds and leaves no temporary", async (t) => {
  await using fixture = await createPipelineFixture();
  await using _disk = await mountTmpfs(fixture.workspace.dataDir, "3m");
  assertExit(await fixture.run("migrate"), 0);
  assertExit(await fixture.run("extract", ["--ds", DS, "--users", "1000"]), 0);
  assertExit(await fixture.run("load", ["--ds", DS]), 0);
  const before = await landing(fixture);
  const users = await rawUsersState(fixture.db.sql);
  assert.deepEqual(before.entries, [
    "random_user.csv",
    "random_user.manifest.json",
    "rejects.jsonl",
  ]);

  const assertNothingChanged = async () => {
    assert.deepEqual(await landing(fixture), before);
    // The load takes the previous file, which its manifest still vouches for.
    const load = await fixture.run("load", ["--ds", DS]);
    assertExit(load, 0);
    assert.match(load.stdout, /rows=1000 inserted=0 updated=0 deleted=0 unchanged=1000 /);
    assert.deepEqual(await rawUsersState(fixture.db.sql), users);
  };

  await t.step("the CSV does not fit", async () => {
    const extract = await fixture.run("extract", ["--ds", DS, "--users", "10000"]);
    assertExit(extract, 1);
    assertStderrLine(
      extract.stderr,
      /^error: no space left on the device while writing \S+ds=2026-03-01\/random_user\.csv \(No space left on device.*\); the previous files of this ds are untouched and no temporary file is left/,
    );
    await assertNothingChanged();
  });

  await t.step("the CSV fits, its manifest does not", async () => {
    // The same ds again writes the same bytes: leave room for exactly the CSV's blocks.
    const { bytes, block } = await freeSpace(fixture.workspace.dataDir);
    const csvBlocks = Math.ceil(before.csv.length / block);
    const filler = `${fixture.workspace.dataDir}/filler`;
    await Deno.writeFile(filler, new Uint8Array(bytes - csvBlocks * block));
    try {
      const extract = await fixture.run("extract", ["--ds", DS, "--users", "1000"]);
      assertExit(extract, 1);
      assertStderrLine(
        extract.stderr,
        /^error: no space left on the device while writing \S+random_user\.manifest\.json /,
      );
    } finally {
      await Deno.remove(filler);
    }
    await assertNothingChanged();
  });
});
