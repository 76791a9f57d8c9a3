/**
 * API faults and drift: every fault mode of the fake Random User API, once (retried, the run
 * loads every user) and for good (the run fails and loads nothing), plus schema drift — an
 * extra field, a missing field, a changed type, wrong types, duplicate users across pages, and
 * too many bad records — each with the outcome docs/reliability.md documents.
 */
import assert from "node:assert/strict";
import { assertExit } from "../helpers/pipeline_fixture.ts";
import type { Fault } from "../../tasks/stand_in/faults.ts";
import { recordChaos } from "./chaos_report.ts";
import { type ChaosFixture, createChaosFixture, secondsSince } from "./chaos_fixture.ts";

const BASELINE_DS = "2026-04-01";
const BASELINE_USERS = 300;
/** Fast API retries and no task retries: a fault that persists fails the run at once. */
const ENV = {
  API_RETRIES: "1",
  API_RETRY_DELAY: "10ms",
  API_TIMEOUT: "1s",
  API_PAGE_SIZE: "50",
  TASK_RETRIES: "0",
  TASK_RETRY_DELAY: "10ms",
};

/** Every transport fault, with the retry reason the extract logs for it. */
const TRANSPORT_FAULTS: ReadonlyArray<readonly [Fault, RegExp]> = [
  [{ kind: "status", status: 429, retryAfter: 1 }, /the API answered 429 Too Many Requests/],
  [{ kind: "status", status: 500 }, /the API answered 500 Internal Server Error/],
  [{ kind: "status", status: 502 }, /the API answered 502 Bad Gateway/],
  [{ kind: "status", status: 503 }, /the API answered 503 Service Unavailable/],
  [{ kind: "delay", ms: 3_000 }, /timed out after 1000 ms/],
  [{ kind: "truncate" }, /request failed: /],
  [{ kind: "malformed" }, /the response body is not valid JSON/],
  [{ kind: "empty" }, /the page has 0 users, expected 50/],
];

/** A fixture with migrations applied and one ds loaded, whose rows must survive every failure. */
async function baselineFixture(): Promise<ChaosFixture> {
  const fixture = await createChaosFixture();
  const result = await fixture.cli(["run", "extract_load", "--ds", BASELINE_DS], {
    ...ENV,
    USERS_PER_RUN: String(BASELINE_USERS),
  });
  assertExit(result, 0);
  return fixture;
}

/** The users the fake API serves for `ds` on `page` (no fault is spent: call before adding any). */
async function servedPage(
  fixture: ChaosFixture,
  request: { ds: string; page: number; results: number },
): Promise<Array<{ login: { uuid: string }; name: { first: string } }>> {
  const url = new URL(fixture.api.url);
  url.search = new URLSearchParams({
    results: String(request.results),
    seed: `randomuser-elt-${request.ds}`,
    page: String(request.page),
  }).toString();
  const response = await fetch(url);
  assert.equal(response.status, 200);
  return (await response.json()).results;
}

async function usersOf(fixture: ChaosFixture, ds: string) {
  const [row] = await fixture.db.sql<{ n: number; ids: number }[]>`
    select count(*)::int as n, count(distinct id)::int as ids from raw.users
    where _ds = ${ds}::date`;
  return row ?? { n: 0, ids: 0 };
}

async function rejectsOf(fixture: ChaosFixture, ds: string) {
  const text = await Deno.readTextFile(fixture.files(ds).rejects);
  return text.trim().split("\n").filter(Boolean).map((line) =>
    JSON.parse(line) as { page: number; index: number; reason: string }
  );
}

Deno.test("every API fault, served once, is retried and the run loads every user", async () => {
  const started = performance.now();
  await using fixture = await baselineFixture();
  const ds = "2026-04-02";
  const pages = TRANSPORT_FAULTS.length + 1;
  TRANSPORT_FAULTS.forEach(([fault], index) => fixture.api.faults.add({ page: index + 1, fault }));
  const result = await fixture.cli(["run", "extract_load", "--ds", ds], {
    ...ENV,
    USERS_PER_RUN: String(50 * pages),
  });
  assertExit(result, 0);
  for (const [fault, reason] of TRANSPORT_FAULTS) {
    assert.match(result.stderr, reason, `no retry was logged for ${JSON.stringify(fault)}`);
  }
  // Retry-After: 1 is honoured: the retry of page 1 waited a second.
  assert.match(result.stderr, /msg="retrying page" page=1 attempt=1 delay_ms=1000 /);
  const tries = await fixture.tries({ pipeline: "extract_load", ds });
  assert.deepEqual(tries.map((x) => `${x.task}:${x.state}:${x.rows}`), [
    "migrate:succeeded:0",
    `extract:succeeded:${50 * pages}`,
    `load:succeeded:${50 * pages}`,
  ]);
  const users = await usersOf(fixture, ds);
  assert.deepEqual(users, { n: 50 * pages, ids: 50 * pages });
  await recordChaos("api", {
    scenario: "every transport fault once (429 Retry-After, 500, 502, 503, timeout, truncate, " +
      "malformed, empty)",
    faultsInjected: TRANSPORT_FAULTS.length,
    runsRecovered: 1,
    rowsExpected: 50 * pages,
    rowsFound: users.n,
    seconds: secondsSince(started),
  });
});

Deno.test("every API fault that persists fails the run with its reason and loads nothing", async () => {
  const started = performance.now();
  await using fixture = await baselineFixture();
  const before = await fixture.rawUsers();
  let day = 10;
  for (const [fault, reason] of TRANSPORT_FAULTS) {
    const ds = `2026-04-${day++}`;
    fixture.api.faults.clear();
    fixture.api.faults.add({ page: 2, times: Infinity, fault });
    const result = await fixture.cli(["run", "extract_load", "--ds", ds], {
      ...ENV,
      USERS_PER_RUN: "150",
    });
    const what = JSON.stringify(fault);
    assert.equal(result.code, 1, `${what}: ${result.stderr}`);
    const run = (await fixture.runs()).at(-1);
    assert.equal(run?.ds, ds);
    assert.equal(run?.state, "failed");
    assert.match(run?.error ?? "", /^extract failed after 1 try: page 2: /, what);
    assert.match(run?.error ?? "", reason, what);
    assert.match(run?.error ?? "", /\(gave up after 2 attempts; /, what);
    const tries = await fixture.tries({ pipeline: "extract_load", ds });
    assert.deepEqual(tries.map((x) => `${x.task}:${x.state}`), [
      "migrate:succeeded",
      "extract:failed",
    ]);
    await assert.rejects(Deno.stat(fixture.files(ds).csv), Deno.errors.NotFound, what);
    assert.deepEqual(await fixture.rawUsers(), before, `${what} changed raw.users`);
  }
  fixture.api.faults.clear();
  await recordChaos("api", {
    scenario: "every transport fault for good: the run fails, raw.users unchanged",
    faultsInjected: TRANSPORT_FAULTS.length,
    rowsExpected: before.rows,
    rowsFound: (await fixture.rawUsers()).rows,
    seconds: secondsSince(started),
  });
});

Deno.test("schema drift: an extra field is ignored with a warning, a missing field or a changed type is rejected with its reason", async () => {
  const started = performance.now();
  await using fixture = await baselineFixture();
  const ds = "2026-04-03";
  const users = 400;
  fixture.api.faults.add({
    page: 1,
    fault: {
      kind: "patch",
      patches: [
        { index: 0, set: { nickname: "drifted" } },
        { index: 1, set: { email: undefined } },
        { index: 2, set: { "dob.age": "42" } },
        { index: 3, set: { "login.uuid": 12345 } },
        // Unknown fields inside nested objects: ignored, and logged like top-level ones.
        { index: 4, set: { "location.extra": "drifted", "login.mfa_secret": "JBSWY3DP" } },
        { index: 5, set: { "location.extra": "logged once per run" } },
      ],
    },
  });
  const result = await fixture.cli(["run", "extract_load", "--ds", ds], {
    ...ENV,
    API_PAGE_SIZE: "5000",
    USERS_PER_RUN: String(users),
  });
  assertExit(result, 0);
  for (const field of ["nickname", "location.extra", "login.mfa_secret"]) {
    const warnings = result.stderr.split("\n").filter((line) =>
      line.includes('msg="the API sent a field the data contract does not have; it is ignored"') &&
      line.includes(`ds=2026-04-03 page=1 field=${field}`)
    );
    assert.equal(warnings.length, 1, `one warning for ${field}:\n${result.stderr}`);
  }
  assert.match(result.stderr, /extract ds=2026-04-03 users=397 rejects=3 /);
  const rejects = await rejectsOf(fixture, ds);
  assert.deepEqual(rejects.map((reject) => [reject.page, reject.index]), [[1, 1], [1, 2], [1, 3]]);
  assert.match(rejects[0]?.reason ?? "", /^email: /);
  assert.match(rejects[1]?.reason ?? "", /^dob\.age: .*number/);
  assert.match(rejects[2]?.reason ?? "", /^login\.uuid: /);
  const loaded = await usersOf(fixture, ds);
  assert.deepEqual(loaded, { n: users - 3, ids: users - 3 });
  await recordChaos("api", {
    scenario: "drift: extra fields at any depth (ignored, logged), missing field and type " +
      "changes (rejected)",
    faultsInjected: 6,
    runsRecovered: 1,
    rowsExpected: users - rejects.length,
    rowsFound: loaded.n,
    seconds: secondsSince(started),
  });
});

Deno.test("wrong types from the API are rejected with their reasons and the other users load", async () => {
  const started = performance.now();
  await using fixture = await baselineFixture();
  const ds = "2026-04-04";
  fixture.api.faults.add({ page: 2, fault: { kind: "wrong_types", records: 2 } });
  const result = await fixture.cli(["run", "extract_load", "--ds", ds], {
    ...ENV,
    API_PAGE_SIZE: "200",
    USERS_PER_RUN: "400",
  });
  assertExit(result, 0);
  const rejects = await rejectsOf(fixture, ds);
  assert.deepEqual(rejects.map((reject) => [reject.page, reject.index]), [[2, 0], [2, 1]]);
  for (const reject of rejects) {
    assert.match(reject.reason, /location\.street\.number: /);
    assert.match(reject.reason, /location\.coordinates\.latitude: /);
    assert.match(reject.reason, /dob\.age: /);
  }
  const loaded = await usersOf(fixture, ds);
  assert.deepEqual(loaded, { n: 398, ids: 398 });
  await recordChaos("api", {
    scenario: "wrong_types on 2 records",
    faultsInjected: 1,
    runsRecovered: 1,
    rowsExpected: 400 - rejects.length,
    rowsFound: loaded.n,
    seconds: secondsSince(started),
  });
});

Deno.test("a user repeated across pages, in any case, is kept once by the extract, so its count and the load's agree", async () => {
  const started = performance.now();
  await using fixture = await baselineFixture();
  const ds = "2026-04-05";
  const [first, second] = await servedPage(fixture, { ds, page: 1, results: 200 });
  assert.ok(first && second);
  fixture.api.faults.add({
    page: 2,
    fault: {
      kind: "patch",
      patches: [
        { index: 0, set: { "login.uuid": first.login.uuid } },
        { index: 1, set: { "login.uuid": second.login.uuid.toUpperCase() } },
      ],
    },
  });
  const result = await fixture.cli(["run", "extract_load", "--ds", ds], {
    ...ENV,
    API_PAGE_SIZE: "200",
    USERS_PER_RUN: "400",
  });
  assertExit(result, 0);
  assert.match(
    result.stderr,
    /msg="the API repeated users of this run \(same login\.uuid, any case\); each is kept once" ds=2026-04-05 page=2 repeated=2 /,
  );
  assert.match(result.stderr, /^extract ds=2026-04-05 users=398 rejects=0 pages=2 duplicates=2 /m);
  assert.match(result.stderr, /^load ds=2026-04-05 rows=398 inserted=398 .* duplicates=0 /m);
  const [batch] = await fixture.db.sql`
    select rows_in_file::int as rows, inserted::int, duplicates::int from meta.load_batches
    where ds = ${ds}::date and status = 'succeeded'`;
  assert.deepEqual(batch, { rows: 398, inserted: 398, duplicates: 0 });
  const loaded = await usersOf(fixture, ds);
  assert.deepEqual(loaded, { n: 398, ids: 398 });
  const kept = await fixture.db.sql`
    select name_first from raw.users where id in (${first.login.uuid}::uuid, ${second.login.uuid}::uuid)
    order by id = ${first.login.uuid}::uuid desc`;
  assert.deepEqual(
    kept.map((row) => row.name_first),
    [first.name.first, second.name.first],
    "the first page's rows are the ones kept",
  );
  await recordChaos("api", {
    scenario: "a user repeated across pages, once in another case",
    faultsInjected: 2,
    runsRecovered: 1,
    rowsExpected: 400 - 2,
    rowsFound: loaded.n,
    seconds: secondsSince(started),
  });
});

Deno.test("drift past the reject threshold fails the run, writes no CSV and loads nothing", async () => {
  const started = performance.now();
  await using fixture = await baselineFixture();
  const before = await fixture.rawUsers();
  const ds = "2026-04-06";
  fixture.api.faults.add({
    page: 1,
    times: Infinity,
    fault: {
      kind: "patch",
      patches: [0, 1, 2, 3, 4].map((index) => ({ index, set: { name: undefined } })),
    },
  });
  const result = await fixture.cli(["run", "extract_load", "--ds", ds], {
    ...ENV,
    API_PAGE_SIZE: "5000",
    USERS_PER_RUN: "100",
  });
  assertExit(result, 3); // terminal: the seed is fixed, so a retry would fetch the same records
  const [run] = await fixture.runs().then((runs) => runs.filter((r) => r.ds === ds));
  assert.match(
    run?.error ?? "",
    /^extract failed after 1 try: 5 of 100 records \(5\.00%\) failed validation, above MAX_REJECT_RATE=0\.01; the CSV was not written\. Reasons are in \S+rejects\.jsonl/,
  );
  await assert.rejects(Deno.stat(fixture.files(ds).csv), Deno.errors.NotFound);
  const rejects = await rejectsOf(fixture, ds);
  assert.equal(rejects.length, 5);
  for (const reject of rejects) assert.match(reject.reason, /^name: /);
  assert.deepEqual(await fixture.rawUsers(), before);
  await recordChaos("api", {
    scenario: "5% of records missing a field: the run fails, raw.users unchanged",
    faultsInjected: 1,
    rowsExpected: before.rows,
    rowsFound: (await fixture.rawUsers()).rows,
    seconds: secondsSince(started),
  });
});
