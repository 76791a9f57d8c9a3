/**
 * Compressed API pages (issue 23): a server or proxy that answers gzip or br, with the
 * `Content-Length` of the compressed bytes or chunked, gives the same CSV as plain pages; a page
 * that inflates past the cap (a 0.3 MB gzip body of 300 MB) is refused as a bad page, within the
 * extract's memory bound, and leaves the warehouse and the ds's files as they were.
 */
import assert from "node:assert/strict";
import { assertExit, assertStderrLine, errorLine } from "../helpers/pipeline_fixture.ts";
import { warehouseState } from "../helpers/warehouse_state.ts";
import { seedFor } from "../../tasks/extract/randomuser_client.ts";
import type { Fault } from "../../tasks/stand_in/faults.ts";
import { recordChaos } from "./chaos_report.ts";
import { type ChaosFixture, createChaosFixture, delay, secondsSince } from "./chaos_fixture.ts";

const USERS = 300;
const SMALL_PAGES = { API_PAGE_SIZE: "50", API_RETRIES: "1", API_RETRY_DELAY: "10ms" };

async function manifestSha(fixture: ChaosFixture, ds: string): Promise<string> {
  return JSON.parse(await Deno.readTextFile(fixture.files(ds).manifest)).sha256;
}

Deno.test("gzip and br pages, with and without Content-Length, extract the bytes plain pages do", async () => {
  const started = performance.now();
  await using fixture = await createChaosFixture();
  const ds = "2026-09-01";
  const args = ["--ds", ds, "--users", String(USERS)];
  assertExit(await fixture.run("extract", args, SMALL_PAGES), 0);
  const plain = await manifestSha(fixture, ds);
  const modes: Fault[] = [
    { kind: "compressed", encoding: "gzip", contentLength: true },
    { kind: "compressed", encoding: "gzip", contentLength: false },
    { kind: "compressed", encoding: "br", contentLength: true },
    { kind: "compressed", encoding: "br", contentLength: false },
  ];
  let found = 0;
  for (const fault of modes) {
    fixture.api.faults.clear();
    const seen = fixture.api.requests.length;
    fixture.api.faults.add({ seed: seedFor(ds), times: Infinity, fault });
    const extract = await fixture.run("extract", args, SMALL_PAGES);
    assertExit(extract, 0);
    const users = Number(/^extract .*\busers=(\d+)/m.exec(extract.stdout)?.[1]);
    assert.equal(users, USERS, JSON.stringify(fault));
    found += users;
    assert.equal(await manifestSha(fixture, ds), plain, `${JSON.stringify(fault)}: other bytes`);
    const served = fixture.api.requests.slice(seen).filter((entry) => entry.fault === "compressed");
    assert.equal(served.length, USERS / 50, `${JSON.stringify(fault)}: pages served compressed`);
  }
  await recordChaos("api", {
    scenario: "gzip and br pages, with and without Content-Length: the same CSV as plain pages",
    faultsInjected: modes.length,
    rowsExpected: modes.length * USERS,
    rowsFound: found,
    seconds: secondsSince(started),
  });
});

/** The peak resident memory (`VmHWM`) of `pid` in MB, polled until the process is gone. */
async function watchPeakRss(pid: number, finished: Promise<unknown>): Promise<number> {
  let peak = 0;
  let done = false;
  finished.finally(() => done = true);
  while (!done) {
    try {
      const status = await Deno.readTextFile(`/proc/${pid}/status`);
      const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
      peak = Math.max(peak, Math.round(kb / 1024));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) break;
      throw error;
    }
    await delay(10);
  }
  return peak;
}

Deno.test("a compressed page that inflates past the cap is refused as a bad page, within 200 MB", async () => {
  const started = performance.now();
  await using fixture = await createChaosFixture();
  const loaded = "2026-09-02";
  assertExit(await fixture.run("migrate"), 0);
  assertExit(
    await fixture.cli(["run", "extract_load", "--ds", loaded], {
      ...SMALL_PAGES,
      USERS_PER_RUN: String(USERS),
    }),
    0,
  );
  const before = await warehouseState(fixture.db.sql);
  const csvBefore = await Deno.readFile(fixture.files(loaded).csv);
  const cases = [
    // 4 pages of 5 000 in flight, each a 0.3 MB gzip body of 300 MB: the memory bound holds.
    {
      fault: { kind: "compressed", encoding: "gzip", padding: 300_000_000 } as const,
      env: { API_PAGE_SIZE: "5000", API_CONCURRENCY: "4", API_RETRIES: "1" },
      users: 20_000,
      pattern: /^error: page \d: the body \(gzip on the wire\) decodes to more than 15002048 bytes/,
    },
    {
      fault: { kind: "compressed", encoding: "br", contentLength: false, padding: 2_000_000 },
      env: SMALL_PAGES,
      users: USERS,
      pattern: /^error: page \d: the body \(br on the wire\) decodes to more than 152048 bytes/,
    },
  ] satisfies { fault: Fault; env: Record<string, string>; users: number; pattern: RegExp }[];
  for (const { fault, env, users, pattern } of cases) {
    fixture.api.faults.clear();
    fixture.api.faults.add({ seed: seedFor(loaded), times: Infinity, fault });
    const extract = fixture.launch("tasks/extract.ts", {
      args: ["--ds", loaded, "--users", String(users)],
      env: { ...env, API_RETRY_DELAY: "10ms" },
    });
    const peakMb = await watchPeakRss(extract.pid, extract.finished);
    const result = await extract.finished;
    assertExit(result, 1);
    assert.match(errorLine(result.stderr), pattern);
    assertStderrLine(
      result.stderr,
      /refused as a bad page \(gave up after 2 attempts; check RANDOMUSER_API_URL/,
    );
    assert.ok(peakMb < 200, `the extract peaked at ${peakMb} MB`);
    console.log(`${fault.encoding} bomb of ${fault.padding} bytes: extract peak ${peakMb} MB`);
    assert.deepEqual(await Deno.readFile(fixture.files(loaded).csv), csvBefore);
  }
  assert.deepEqual(await warehouseState(fixture.db.sql), before);
  await recordChaos("api", {
    scenario: "gzip and br pages that inflate past the cap: refused, the warehouse unchanged",
    faultsInjected: cases.length,
    rowsExpected: USERS,
    rowsFound: (await fixture.rawUsers()).rows,
    seconds: secondsSince(started),
  });
});
