/**
 * The incremental marts give the answers a full rebuild would (issue 28): a sequence of daily
 * loads and incremental transforms — a user who reappears on a later ds, a reload of an older ds
 * with edited values, an older ds re-extracted with fewer users, an older ds loaded late, a
 * transform that failed and was retried — and after each step every mart (every row and column,
 * keys included) equals that of `dbt build --full-refresh` on the same `raw.users`, built in a
 * copy of the database so the incremental chain is never reset.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { parse } from "csv-parse/sync";
import { csvLine } from "../tasks/extract/csv_text.ts";
import { encodeManifest, readManifest } from "../tasks/landing/landing_manifest.ts";
import type { LandingFiles } from "../tasks/landing/landing_zone.ts";
import { connect } from "../tasks/warehouse/sql_client.ts";
import { martChecksums } from "./helpers/mart_checksums.ts";
import {
  assertExit,
  createPipelineFixture,
  type PipelineFixture,
} from "./helpers/pipeline_fixture.ts";

type Row = (string | null)[];

/** A landing CSV's header and rows; NULL (an empty unquoted field) stays apart from "". */
async function readCsv(file: string): Promise<{ header: string[]; rows: Row[] }> {
  const records = parse(await Deno.readFileSync(file), {
    cast: (value: string, context: { quoting: boolean }) =>
      context.quoting || value !== "" ? value : null,
  }) as Row[];
  const [header, ...rows] = records;
  return { header: header as string[], rows };
}

/**
 * Writes `rows` as the ds's landing CSV with a manifest that vouches for it, as an extract that
 * delivered them would: what the API handed out that day, not a hand-made file.
 */
async function writeDelivered(files: LandingFiles, header: string[], rows: Row[]): Promise<void> {
  const bytes = new TextEncoder().encode([header, ...rows].map((row) => csvLine(row)).join(""));
  await Deno.writeFile(files.csv, bytes);
  const manifest = await readManifest(files.manifest);
  assert.ok(manifest, `no manifest at ${files.manifest}`);
  await Deno.writeFile(
    files.manifest,
    encodeManifest({
      ...manifest,
      rows: rows.length,
      bytes: bytes.length,
      sha256: createHash("sha256").update(bytes).digest("hex"),
    }),
  );
}

function column(header: string[], name: string): number {
  const index = header.indexOf(name);
  assert.ok(index >= 0, `no column ${name} in ${header.join(",")}`);
  return index;
}

/** The database's name in its URL, and the URL of another database on the same server. */
function withDatabase(url: string, name: string): string {
  const other = new URL(url);
  other.pathname = `/${name}`;
  return other.href;
}

/**
 * `dbt build --full-refresh` on a copy of the fixture's database (same raw.users, same ledger):
 * the checksum of every mart it builds.
 */
async function fullRefreshChecksums(fixture: PipelineFixture): Promise<Record<string, string>> {
  const source = new URL(fixture.db.url).pathname.slice(1);
  const copy = `${source}_full`;
  await using admin = disposable(connect(withDatabase(fixture.db.url, "postgres"), { max: 1 }));
  // A template must have no other connection: the fixture's pool reconnects on its next query.
  await admin.sql`
    select pg_terminate_backend(pid) from pg_stat_activity
    where datname = ${source} and pid <> pg_backend_pid()`;
  await admin.sql`create database ${admin.sql(copy)} template ${admin.sql(source)}`;
  try {
    const url = withDatabase(fixture.db.url, copy);
    assertExit(await fixture.run("dbt_build", ["--full-refresh"], { DATABASE_URL: url }), 0);
    await using copied = disposable(connect(url, { max: 1 }));
    return await martChecksums(copied.sql);
  } finally {
    await admin.sql`drop database if exists ${admin.sql(copy)} with (force)`;
  }
}

function disposable(sql: ReturnType<typeof connect>) {
  return { sql, [Symbol.asyncDispose]: () => sql.end() };
}

/** An incremental transform, then the marts compared with a full rebuild's. */
async function transformAndCompare(fixture: PipelineFixture, ds: string): Promise<void> {
  assertExit(await fixture.run("dbt_build", ["--ds", ds]), 0);
  const incremental = await martChecksums(fixture.db.sql);
  assert.ok(Object.keys(incremental).length >= 10, "the marts were not built");
  assert.deepEqual(incremental, await fullRefreshChecksums(fixture));
}

async function extractLoad(fixture: PipelineFixture, ds: string, users: number) {
  assertExit(await fixture.run("extract", ["--ds", ds, "--users", String(users)]), 0);
  assertExit(await fixture.run("load", ["--ds", ds]), 0);
}

async function countWhere(fixture: PipelineFixture, query: string): Promise<number> {
  const [row] = await fixture.db.sql.unsafe<{ n: number }[]>(
    `select count(*)::int as n from ${query}`,
  );
  return row?.n ?? -1;
}

Deno.test("incremental transforms leave every mart as a full rebuild of the same raw.users would", async (t) => {
  await using fixture = await createPipelineFixture();
  assertExit(await fixture.run("migrate"), 0);
  const [day0, day1, day2, day3] = ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04"];

  await t.step("a first day, built whole", async () => {
    await extractLoad(fixture, day1, 300);
    await transformAndCompare(fixture, day1);
    assert.equal(await countWhere(fixture, "meta.transformed_batches"), 1);
  });

  const first = await readCsv(fixture.files(day1).csv);
  const uuid = column(first.header, "login_uuid");
  const returning = first.rows.slice(0, 20);
  const returningIds = returning.map((row) => `'${row[uuid]}'`).join(",");

  await t.step("users of the first day reappear on the next: the marts move them", async () => {
    assertExit(await fixture.run("extract", ["--ds", day2, "--users", "300"]), 0);
    const second = await readCsv(fixture.files(day2).csv);
    await writeDelivered(fixture.files(day2), second.header, [...second.rows, ...returning]);
    assertExit(await fixture.run("load", ["--ds", day2]), 0);
    await transformAndCompare(fixture, day2);
    assert.equal(
      await countWhere(
        fixture,
        `analytics.dim_user where user_id in (${returningIds}) and load_date = '${day2}'`,
      ),
      20,
    );
    assert.equal(await countWhere(fixture, "analytics.fct_registrations"), 600);
  });

  await t.step("the first day reloaded with edited values moves them back", async () => {
    const city = column(first.header, "location_city");
    const edited = first.rows.map((row, i) =>
      i % 10 === 5 ? row.map((value, c) => c === city ? `${value} (renamed)` : value) : row
    );
    await writeDelivered(fixture.files(day1), first.header, edited);
    assertExit(await fixture.run("load", ["--ds", day1]), 0);
    await transformAndCompare(fixture, day1);
    assert.equal(
      await countWhere(
        fixture,
        `analytics.dim_user where user_id in (${returningIds}) and load_date = '${day1}'`,
      ),
      20,
    );
    assert.equal(
      await countWhere(fixture, "analytics.dim_geography where city like '% (renamed)'"),
      await countWhere(
        fixture,
        "(select distinct location_country, location_state, location_city from raw.users where location_city like '% (renamed)') as places",
      ),
    );
  });

  await t.step("the first day re-extracted with fewer users: the marts lose the rest", async () => {
    await extractLoad(fixture, day1, 200);
    const removed = await countWhere(fixture, "raw.user_deletions");
    assert.ok(removed > 0, "the reload removed no user");
    await transformAndCompare(fixture, day1);
    assert.equal(
      await countWhere(
        fixture,
        "analytics.dim_user where user_id in (select id from raw.user_deletions)",
      ),
      0,
    );
  });

  await t.step("an older day loaded late, after newer ones were built", async () => {
    await extractLoad(fixture, day0, 300);
    await transformAndCompare(fixture, day0);
    const [asOf] = await fixture.db.sql<{ day: string }[]>`
      select as_of_date::text as day from analytics.as_of_date`;
    assert.equal(asOf?.day, day2);
  });

  await t.step("a transform that failed takes its batches in again when retried", async () => {
    assertExit(await fixture.run("extract", ["--ds", day3, "--users", "300"]), 0);
    const delivered = await readCsv(fixture.files(day3).csv);
    const latitude = column(delivered.header, "location_coordinates_latitude");
    const broken = delivered.rows.map((row, i) =>
      i === 7 ? row.map((value, c) => c === latitude ? "123.5" : value) : row
    );
    await writeDelivered(fixture.files(day3), delivered.header, broken);
    assertExit(await fixture.run("load", ["--ds", day3]), 0);
    const failed = await fixture.run("dbt_build", ["--ds", day3]);
    assertExit(failed, 3);
    assert.match(failed.stderr, /accepted_range_stg_randomuser__users_latitude/);
    // Its batch is not taken in: the retry builds it again.
    assert.equal(
      await countWhere(
        fixture,
        `meta.transformed_batches join meta.load_batches using (batch_id) where ds = '${day3}'`,
      ),
      0,
    );
    await writeDelivered(fixture.files(day3), delivered.header, delivered.rows);
    assertExit(await fixture.run("load", ["--ds", day3]), 0);
    await transformAndCompare(fixture, day3);
    assert.equal(
      await countWhere(fixture, "meta.load_batches where status = 'succeeded'"),
      await countWhere(fixture, "meta.transformed_batches"),
    );
  });
});
