/**
 * A loaded file that repeats an id (a hand-made file under `--unvouched`, or a vouched one):
 * each id keeps its first row and the later rows are counted as duplicates, on a ds's first load
 * (which used to fail on `ON CONFLICT DO UPDATE command cannot affect row a second time`) and on a
 * reload (where a changed later row used to overwrite the first).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { assertExit, assertStderrLine } from "../helpers/pipeline_fixture.ts";
import { warehouseState } from "../helpers/warehouse_state.ts";
import type { LandingFiles } from "../../tasks/landing/landing_zone.ts";
import { recordChaos } from "./chaos_report.ts";
import { createChaosFixture, secondsSince } from "./chaos_fixture.ts";

const USERS = 300;
const WARNING =
  /level=warn .*msg="the CSV repeats some ids; the first row of each was kept" .*duplicates=1/;

/**
 * Appends a copy of the file's second user, its nationality (the last column) changed, so the
 * file repeats that user's id with another value; with `vouch`, the manifest is rewritten to vouch
 * for the new file. Returns the repeated id and the nationality the first row has.
 */
async function repeatAnId(
  files: LandingFiles,
  options: { vouch: boolean },
): Promise<{ id: string; nat: string }> {
  const text = await Deno.readTextFile(files.csv);
  const lines = text.split("\r\n");
  const header = lines[0]!.split(",");
  assert.equal(header.at(-1), "nat");
  const second = lines[2]!;
  const nat = /,([A-Z]{2})$/.exec(second)?.[1];
  const id = /,([0-9a-f]{8}-[0-9a-f-]{27}),/.exec(second)?.[1];
  assert.ok(nat && id, `no nat or uuid in ${second}`);
  const edited = text + second.replace(/,[A-Z]{2}$/, nat === "ZZ" ? ",YY" : ",ZZ") + "\r\n";
  await Deno.writeTextFile(files.csv, edited);
  if (options.vouch) {
    const bytes = new TextEncoder().encode(edited);
    const manifest = JSON.parse(await Deno.readTextFile(files.manifest));
    manifest.rows += 1;
    manifest.bytes = bytes.length;
    manifest.sha256 = createHash("sha256").update(bytes).digest("hex");
    await Deno.writeTextFile(files.manifest, JSON.stringify(manifest, null, 2) + "\n");
  }
  return { id, nat };
}

Deno.test("a first load of a file that repeats an id keeps the first row, vouched or not", async () => {
  const started = performance.now();
  await using fixture = await createChaosFixture();
  assertExit(await fixture.run("migrate"), 0);
  const cases = [
    { ds: "2026-08-01", vouch: false, args: ["--unvouched"] },
    { ds: "2026-08-02", vouch: true, args: [] },
  ];
  let expected = 0;
  for (const { ds, vouch, args } of cases) {
    assertExit(await fixture.run("extract", ["--ds", ds, "--users", String(USERS)]), 0);
    const repeated = await repeatAnId(fixture.files(ds), { vouch });
    const before = await warehouseState(fixture.db.sql);
    const load = await fixture.run("load", ["--ds", ds, ...args]);
    assertExit(load, 0);
    assert.match(
      load.stdout,
      new RegExp(
        `^load ds=${ds} rows=${USERS + 1} inserted=${USERS} updated=0 deleted=0 ` +
          `unchanged=0 duplicates=1 vouched=${vouch} `,
        "m",
      ),
    );
    assertStderrLine(load.stderr, WARNING);
    expected += USERS;
    const after = await warehouseState(fixture.db.sql);
    assert.equal(after.rawUsers.rows, expected);
    assert.equal(after.rawUsers.ids, expected);
    const [row] = await fixture.db.sql`select nat from raw.users where id = ${repeated.id}`;
    assert.equal(row?.nat, repeated.nat, "the first row of the repeated id was kept");
    // Only the batch row was added to the ledger.
    assert.deepEqual({ ...after.meta, load_batches: "" }, { ...before.meta, load_batches: "" });
    const [batch] = await fixture.db.sql`
      select status, rows_in_file::int as rows, inserted::int, duplicates::int
      from meta.load_batches where ds = ${ds}::date`;
    assert.deepEqual(batch, {
      status: "succeeded",
      rows: USERS + 1,
      inserted: USERS,
      duplicates: 1,
    });
  }
  await recordChaos("files", {
    scenario: "a first load of a file that repeats an id (unvouched, vouched): the first row kept",
    faultsInjected: cases.length,
    rowsExpected: expected,
    rowsFound: (await fixture.rawUsers()).rows,
    seconds: secondsSince(started),
  });
});

Deno.test("a reload of a file that repeats an id with a changed row keeps the first and changes nothing", async () => {
  const started = performance.now();
  await using fixture = await createChaosFixture();
  const ds = "2026-08-03";
  assertExit(await fixture.run("migrate"), 0);
  assertExit(await fixture.run("extract", ["--ds", ds, "--users", String(USERS)]), 0);
  assertExit(await fixture.run("load", ["--ds", ds]), 0);
  // The first row of the repeated id is what raw.users holds; the later one differs.
  await repeatAnId(fixture.files(ds), { vouch: true });
  for (const args of [[], ["--unvouched"]]) {
    const before = await warehouseState(fixture.db.sql);
    const load = await fixture.run("load", ["--ds", ds, ...args]);
    assertExit(load, 0);
    assert.match(
      load.stdout,
      new RegExp(
        `^load ds=${ds} rows=${USERS + 1} inserted=0 updated=0 deleted=0 ` +
          `unchanged=${USERS} duplicates=1 `,
        "m",
      ),
    );
    assertStderrLine(load.stderr, WARNING);
    const after = await warehouseState(fixture.db.sql);
    assert.deepEqual(after.rawUsers, before.rawUsers, `raw.users changed (${args})`);
    assert.deepEqual({ ...after.meta, load_batches: "" }, { ...before.meta, load_batches: "" });
  }
  const found = (await fixture.rawUsers()).rows;
  await recordChaos("files", {
    scenario: "a reload of a file that repeats an id, the later row changed: nothing rewritten",
    faultsInjected: 2,
    rowsExpected: USERS,
    rowsFound: found,
    seconds: secondsSince(started),
  });
});
