/**
 * Bad files and bad values: a landing CSV that goes bad after the extract (cut short, emptied,
 * edited, stripped of its manifest, given a BOM, replaced by a directory), a disk that fills
 * during a day's run, values just past what `raw.users` can hold, and out-of-bounds dates, counts
 * and durations on the command line — none may change a row, and the runner must not retry what
 * a retry cannot fix.
 */
import assert from "node:assert/strict";
import { assertExit } from "../helpers/pipeline_fixture.ts";
import { BOUNDARY_VALUES } from "../helpers/boundary_values.ts";
import { LANDING_EDITS } from "../helpers/landing_edits.ts";
import { mountTmpfs } from "../helpers/tmpfs.ts";
import { recordChaos } from "./chaos_report.ts";
import { createChaosFixture, secondsSince } from "./chaos_fixture.ts";

const DS = "2026-07-01";
const ENV = { API_RETRY_DELAY: "10ms", TASK_RETRY_DELAY: "50ms" };

Deno.test("a landing file gone bad after the extract never changes a row of raw.users", async () => {
  const started = performance.now();
  await using fixture = await createChaosFixture();
  const users = 20_000;
  assertExit(
    await fixture.cli(["run", "extract_load", "--ds", DS], {
      ...ENV,
      USERS_PER_RUN: String(users),
    }),
    0,
  );
  const before = await fixture.rawUsers();
  assert.equal(before.rows, users);
  const files = fixture.files(DS);
  const pristine = await Deno.readFile(files.csv);
  const manifest = await Deno.readFile(files.manifest);

  const faults: ReadonlyArray<readonly [string, () => Promise<void>]> = [
    ...LANDING_EDITS.map((edit) => [edit.name, () => edit.apply(files.csv)] as const),
    ["no manifest", () => Deno.remove(files.manifest)],
    [
      "a byte order mark first",
      () => Deno.writeFile(files.csv, new Uint8Array([0xef, 0xbb, 0xbf, ...pristine])),
    ],
    ["a directory where the CSV was", async () => {
      await Deno.remove(files.csv);
      await Deno.mkdir(files.csv);
    }],
  ];
  for (const [what, fault] of faults) {
    await fault();
    const load = await fixture.run("load", ["--ds", DS]);
    assertExit(load, 3);
    assert.deepEqual(await fixture.rawUsers(), before, what);
    await Deno.remove(files.csv, { recursive: true });
    await Deno.writeFile(files.csv, pristine);
    await Deno.writeFile(files.manifest, manifest);
  }
  // Restored, the file loads again and changes nothing.
  const again = await fixture.run("load", ["--ds", DS]);
  assertExit(again, 0);
  assert.match(again.stdout, new RegExp(`unchanged=${users} `));
  const after = await fixture.rawUsers();
  assert.deepEqual(after, before);
  await recordChaos("files", {
    scenario: `${faults.length} ways a landing CSV goes bad after the extract: each refused`,
    faultsInjected: faults.length,
    rowsExpected: before.rows,
    rowsFound: after.rows,
    seconds: secondsSince(started),
  });
});

Deno.test("a disk that fills during a day's extract_load fails the run and keeps every previous file and row", async () => {
  const started = performance.now();
  await using fixture = await createChaosFixture();
  await using _disk = await mountTmpfs(fixture.workspace.dataDir, "4m");
  const small = { ...ENV, USERS_PER_RUN: "2000" };
  assertExit(await fixture.cli(["run", "extract_load", "--ds", DS], small), 0);
  const before = await fixture.rawUsers();
  const files = fixture.files(DS);
  const csv = await Deno.readFile(files.csv);

  // 20 000 users are about 13 MB of CSV: the disk fills mid-stream, on every try.
  const big = await fixture.cli(["run", "extract_load", "--ds", DS], {
    ...ENV,
    USERS_PER_RUN: "20000",
    TASK_RETRIES: "1",
  });
  assertExit(big, 1);
  const tries = await fixture.tries({ pipeline: "extract_load", ds: DS });
  const extracts = tries.filter((entry) => entry.task === "extract" && entry.state === "failed");
  assert.equal(extracts.length, 2, "a full disk is transient: retried once, as TASK_RETRIES says");
  for (const entry of extracts) assert.match(entry.error ?? "", /no space left on the device/);
  assert.deepEqual(await Deno.readFile(files.csv), csv);
  const leftovers = [...Deno.readDirSync(files.dir)].map((entry) => entry.name).sort();
  assert.deepEqual(leftovers, ["random_user.csv", "random_user.manifest.json", "rejects.jsonl"]);
  assert.deepEqual(await fixture.rawUsers(), before);

  // Room again (a smaller day): the next run succeeds.
  assertExit(await fixture.cli(["run", "extract_load", "--ds", "2026-07-02"], small), 0);
  const after = await fixture.rawUsers();
  assert.equal(after.rows, before.rows + 2000);
  await recordChaos("files", {
    scenario: "a full disk mid-extract (twice, through the runner), then a day that fits",
    faultsInjected: 2,
    runsRecovered: 1,
    rowsExpected: before.rows + 2000,
    rowsFound: after.rows,
    seconds: secondsSince(started),
  });
});

Deno.test("values just past what raw.users holds are rejected by the extract, so the load never fails on them", async () => {
  const started = performance.now();
  await using fixture = await createChaosFixture();
  const users = 500;
  fixture.api.faults.add({
    page: 1,
    fault: {
      kind: "patch",
      patches: BOUNDARY_VALUES.map(([path, , past], index) => ({ index, set: { [path]: past } })),
    },
  });
  // The default retries: a load that failed on a value would be retried, and fail again.
  const run = await fixture.cli(["run", "extract_load", "--ds", DS], {
    ...ENV,
    USERS_PER_RUN: String(users),
    MAX_REJECT_RATE: "0.05",
  });
  assertExit(run, 0);
  const tries = await fixture.tries({ pipeline: "extract_load", ds: DS });
  assert.deepEqual(tries.map((entry) => `${entry.task}:${entry.state}`), [
    "migrate:succeeded",
    "extract:succeeded",
    "load:succeeded",
  ]);
  const rejects = (await Deno.readTextFile(fixture.files(DS).rejects)).trim().split("\n")
    .map((line) => JSON.parse(line) as { reason: string });
  assert.deepEqual(
    rejects.map((reject) => reject.reason.split(":")[0]),
    BOUNDARY_VALUES.map(([path]) => path),
  );
  const found = await fixture.rawUsers();
  assert.equal(found.rows, users - BOUNDARY_VALUES.length);
  await recordChaos("hostile", {
    scenario: `${BOUNDARY_VALUES.length} values just past PostgreSQL's bounds: rejected by name`,
    faultsInjected: BOUNDARY_VALUES.length,
    rowsExpected: users - BOUNDARY_VALUES.length,
    rowsFound: found.rows,
    seconds: secondsSince(started),
  });
});

Deno.test("hostile inputs are refused where they are read, before anything is written", async () => {
  const started = performance.now();
  await using fixture = await createChaosFixture();
  assertExit(
    await fixture.cli(["run", "extract_load", "--ds", DS], { ...ENV, USERS_PER_RUN: "200" }),
    0,
  );
  const before = await fixture.rawUsers();
  const attempts: ReadonlyArray<readonly [string, () => Promise<{ code: number }>]> = [
    ["--ds 0000-01-01", () => fixture.run("load", ["--ds", "0000-01-01"])],
    ["--ds 9999-12-31", () => fixture.cli(["run", "all", "--ds", "9999-12-31"])],
    ["--users 1000000000", () => fixture.run("extract", ["--ds", DS, "--users", "1000000000"])],
    ["API_TIMEOUT=0s", () => fixture.run("extract", ["--ds", DS], { API_TIMEOUT: "0s" })],
  ];
  for (const [what, attempt] of attempts) {
    assert.equal((await attempt()).code, 2, what);
  }
  const after = await fixture.rawUsers();
  assert.deepEqual(after, before);
  await recordChaos("hostile", {
    scenario: "out-of-bounds dates, user counts and durations: usage errors, nothing written",
    faultsInjected: attempts.length,
    rowsExpected: before.rows,
    rowsFound: after.rows,
    seconds: secondsSince(started),
  });
});
