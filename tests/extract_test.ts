import assert from "node:assert/strict";
import { assertExit, assertStderrLine, createPipelineFixture } from "./helpers/pipeline_fixture.ts";
import { USER_COLUMNS } from "../tasks/extract/user_fields.ts";
import { parse } from "csv-parse/sync";

const DS = "2026-01-01";

async function tempFiles(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.name.includes(".tmp-")) names.push(entry.name);
  }
  return names;
}

Deno.test("extract writes one CSV row per user under ds=D with the flattened header", async () => {
  await using fixture = await createPipelineFixture();
  const result = await fixture.run("extract", ["--ds", DS, "--users", "7001"]);
  assertExit(result, 0);
  assert.match(result.stdout, /^extract ds=2026-01-01 users=7001 rejects=0 pages=2 /m);
  const files = fixture.files(DS);
  const rows = parse(await Deno.readTextFile(files.csv)) as string[][];
  assert.deepEqual(rows[0], [...USER_COLUMNS]);
  assert.equal(rows.length, 7002);
  assert.equal(
    new Set(rows.slice(1).map((row) => row[USER_COLUMNS.indexOf("login_uuid")])).size,
    7001,
  );
  assert.equal(await Deno.readTextFile(files.rejects), "");
  assert.deepEqual(await tempFiles(files.dir), []);
  // Pages of API_PAGE_SIZE, the last one asking only for the remainder.
  assert.deepEqual(
    fixture.api.requests.map((r) => [r.page, r.results, r.seed]).sort(),
    [[1, 5000, "randomuser-elt-2026-01-01"], [2, 2001, "randomuser-elt-2026-01-01"]],
  );
});

Deno.test("the same ds extracts the same bytes, another ds other users", async () => {
  await using fixture = await createPipelineFixture();
  assertExit(await fixture.run("extract", ["--ds", DS, "--users", "300"]), 0);
  const first = await Deno.readFile(fixture.files(DS).csv);
  assertExit(await fixture.run("extract", ["--ds", DS, "--users", "300"]), 0);
  assert.deepEqual(await Deno.readFile(fixture.files(DS).csv), first);
  assertExit(await fixture.run("extract", ["--ds", "2026-01-02", "--users", "300"]), 0);
  const other = await Deno.readTextFile(fixture.files("2026-01-02").csv);
  assert.notEqual(other, new TextDecoder().decode(first));
});

Deno.test("records with wrong types go to rejects.jsonl with the reason", async () => {
  await using fixture = await createPipelineFixture();
  fixture.api.faults.add({ page: 2, fault: { kind: "wrong_types", records: 2 } });
  const result = await fixture.run("extract", ["--ds", DS, "--users", "400"], {
    API_PAGE_SIZE: "200",
  });
  assertExit(result, 0);
  assert.match(result.stdout, /users=398 rejects=2 pages=2/);
  const rejects = (await Deno.readTextFile(fixture.files(DS).rejects)).trim().split("\n").map((
    line,
  ) => JSON.parse(line));
  assert.deepEqual(rejects.map((r) => [r.ds, r.page, r.index]), [[DS, 2, 0], [DS, 2, 1]]);
  assert.match(rejects[0].reason, /location\.street\.number: .*number/);
  assert.match(rejects[0].reason, /dob\.age: /);
  assert.equal(rejects[0].record.dob.age, "thirty");
});

Deno.test("too many rejects fail the extract and keep the previous CSV", async () => {
  await using fixture = await createPipelineFixture();
  assertExit(await fixture.run("extract", ["--ds", DS, "--users", "100"]), 0);
  const previous = await Deno.readFile(fixture.files(DS).csv);
  fixture.api.faults.add({ fault: { kind: "wrong_types", records: 5 } });
  const result = await fixture.run("extract", ["--ds", DS, "--users", "100"]);
  assertExit(result, 3);
  assert.match(
    result.stderr,
    /error: 5 of 100 records \(5\.00%\) failed validation, above MAX_REJECT_RATE=0\.01; the CSV was not written/,
  );
  assert.deepEqual(await Deno.readFile(fixture.files(DS).csv), previous);
  assert.equal((await Deno.readTextFile(fixture.files(DS).rejects)).trim().split("\n").length, 5);
  assert.deepEqual(await tempFiles(fixture.files(DS).dir), []);
});

Deno.test("a page that keeps failing fails the extract with no CSV under the final name", async () => {
  await using fixture = await createPipelineFixture();
  fixture.api.faults.add({ page: 2, times: Infinity, fault: { kind: "status", status: 503 } });
  const result = await fixture.run("extract", ["--ds", DS, "--users", "30"], {
    API_PAGE_SIZE: "10",
  });
  assertExit(result, 1);
  assert.match(
    result.stderr,
    /error: page 2: the API answered 503 Service Unavailable \(gave up after 4 attempts; check RANDOMUSER_API_URL or raise API_RETRIES\)/,
  );
  assert.match(result.stderr, /level=warn task=extract msg="retrying page" page=2 attempt=3/);
  const files = fixture.files(DS);
  await assert.rejects(Deno.stat(files.csv), Deno.errors.NotFound);
  assert.deepEqual(await tempFiles(files.dir), []);
  assert.equal(fixture.api.requests.filter((r) => r.page === 2).length, 4);
});

Deno.test("transient API faults are retried and the extract completes", async () => {
  await using fixture = await createPipelineFixture();
  const faults = [
    { kind: "status", status: 429, retryAfter: 0 },
    { kind: "status", status: 500 },
    { kind: "status", status: 502 },
    { kind: "truncate" },
    { kind: "malformed" },
    { kind: "empty" },
    { kind: "delay", ms: 2_000 },
  ] as const;
  faults.forEach((fault, i) => fixture.api.faults.add({ page: i + 1, fault }));
  const result = await fixture.run("extract", ["--ds", DS, "--users", String(10 * faults.length)], {
    API_PAGE_SIZE: "10",
    API_TIMEOUT: "500ms",
  });
  assertExit(result, 0);
  assert.match(result.stdout, /users=70 rejects=0 pages=7/);
  for (
    const reason of [
      "the API answered 429 Too Many Requests",
      "the API answered 500 Internal Server Error",
      "the API answered 502 Bad Gateway",
      "request failed",
      "the response body is not valid JSON",
      "the page has 0 users, expected 10",
      "timed out after 500 ms",
    ]
  ) {
    assert.ok(result.stderr.includes(reason), `no retry logged for: ${reason}\n${result.stderr}`);
  }
});

Deno.test("bad flags and bad configuration exit 2 with a one-line error naming them", async () => {
  await using fixture = await createPipelineFixture();
  const cases: Array<[string[], Record<string, string>, RegExp]> = [
    [
      ["--ds", "2026-13-01"],
      {},
      /^error: option '--ds <date>' argument '2026-13-01' is invalid\. expected a date YYYY-MM-DD\./,
    ],
    [
      ["--users", "0"],
      {},
      /^error: option '--users <n>' argument '0' is invalid\. expected a whole number/,
    ],
    [
      ["--users", "10000001"],
      {},
      /^error: option '--users <n>' argument '10000001' is invalid\. expected a whole number from 1 to 10000000 \(the cap of USERS_PER_RUN\)\.$/,
    ],
    [
      ["--ds", "1999-12-31"],
      {},
      /^error: option '--ds <date>' argument '1999-12-31' is invalid\. expected a date from 2000-01-01 to \d{4}-\d{2}-\d{2} \(tomorrow, UTC\); pass --allow-any-date to go outside$/,
    ],
    [["--bogus"], {}, /^error: unknown option '--bogus'/],
    [
      [],
      { API_TIMEOUT: "0s" },
      /^error: invalid configuration: API_TIMEOUT must be more than 0, such as 500ms, 10s, 3m or 1h \(got "0s"\)$/,
    ],
    [
      [],
      { USERS_PER_RUN: "10000001" },
      /^error: invalid configuration: USERS_PER_RUN must be at most 10000000 \(got "10000001"\)$/,
    ],
    [
      [],
      { USERS_PER_RUN: "lots" },
      /^error: invalid configuration: USERS_PER_RUN must be a whole number/,
    ],
    [
      [],
      { RANDOMUSER_API_URL: "ftp://x" },
      /^error: invalid configuration: RANDOMUSER_API_URL must be an http\(s\) URL/,
    ],
  ];
  for (const [args, env, message] of cases) {
    const result = await fixture.run("extract", args, env);
    assertExit(result, 2);
    assertStderrLine(result.stderr, message);
  }
  await assert.rejects(Deno.stat(fixture.workspace.dataDir), Deno.errors.NotFound);
});

Deno.test("--help describes the task and exits 0", async () => {
  await using fixture = await createPipelineFixture();
  for (const task of ["extract", "load", "migrate", "reset", "warehouse_control"]) {
    const result = await fixture.run(task, ["--help"]);
    assertExit(result, 0);
    assert.match(result.stdout, /^Usage: /);
  }
});

Deno.test("extract memory stays flat as the number of users grows", async () => {
  await using fixture = await createPipelineFixture();
  // A 128 MB JavaScript heap cannot hold 200 000 parsed users (several hundred MB): the larger
  // run completes only if users stream through. Peak RSS (heap + native buffers + allocator
  // slack) is compared between the runs: growing with N would make it ~10× larger.
  const peak = async (users: number) => {
    const result = await fixture.run("extract", ["--ds", DS, "--users", String(users)], {
      DENO_V8_FLAGS: "--max-old-space-size=128",
    });
    assertExit(result, 0);
    return Number(/peak_rss_mb=(\d+)/.exec(result.stdout)?.[1]);
  };
  const small = await peak(20_000);
  const large = await peak(200_000);
  console.log(`peak RSS: 20 000 users ${small} MB, 200 000 users ${large} MB`);
  assert.ok(large < 2 * small, `peak RSS grew from ${small} MB to ${large} MB`);
});

Deno.test("an interrupted extract removes its temporary files and exits 1", async () => {
  await using fixture = await createPipelineFixture();
  fixture.api.faults.add({ page: 2, fault: { kind: "delay", ms: 30_000 } });
  const child = fixture.spawn("tasks/extract.ts", ["--ds", DS, "--users", "20"], {
    API_PAGE_SIZE: "10",
  });
  // Wait until page 2 is being served (held by the delay), then stop the task.
  while (!fixture.api.requests.some((r) => r.page === 1)) {
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 300));
  child.kill("SIGTERM");
  const output = await child.output();
  assert.equal(output.code, 1);
  assert.match(
    new TextDecoder().decode(output.stderr),
    /error: interrupted by a signal; nothing was written/,
  );
  const files = fixture.files(DS);
  await assert.rejects(Deno.stat(files.csv), Deno.errors.NotFound);
  assert.deepEqual(await tempFiles(files.dir), []);
});
