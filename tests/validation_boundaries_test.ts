/**
 * Validation as strict as the warehouse: whatever the extract accepts, `raw.users` accepts. A
 * property test asks PostgreSQL itself about values drawn at and around each boundary of the
 * columns' types; an end-to-end test drives records at and just past each boundary through the
 * stand-in API, the extract and the load.
 */
import assert from "node:assert/strict";
import {
  assertExit,
  createPipelineFixture,
  type PipelineFixture,
} from "./helpers/pipeline_fixture.ts";
import { createTestDatabase } from "./helpers/test_warehouse.ts";
import { BOUNDARY_VALUES } from "./helpers/boundary_values.ts";
import { parseUser } from "../tasks/extract/user_schema.ts";
import { generatePage } from "../tasks/stand_in/user_generator.ts";
import { Random } from "../tasks/stand_in/seeded_random.ts";
import type { Sql } from "../tasks/warehouse/sql_client.ts";

const DS = "2026-02-01";

/** A field of the record, the PostgreSQL type of its column, and values drawn for it. */
interface Probe {
  readonly path: string;
  readonly type: "timestamptz" | "numeric" | "integer" | "uuid" | "text";
  readonly draw: (random: Random) => string | number;
}

const pad = (value: number, width: number) => String(value).padStart(width, "0");

function drawTimestamp(random: Random): string {
  const year = random.pick([0, 1, 2, 1969, 2000, 9998, 9999]);
  const month = 1 + random.int(12);
  const day = 1 + random.int(28);
  const fraction = random.int(10);
  const offset = random.int(4) === 0
    ? "Z"
    : `${random.pick(["+", "-"])}${pad(random.pick([0, 1, 14, 15, 16, 23]), 2)}:` +
      pad(random.pick([0, 30, 59]), 2);
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${pad(random.int(24), 2)}:` +
    `${pad(random.int(60), 2)}:${pad(random.int(60), 2)}` +
    (fraction ? "." + "123456789".slice(0, fraction) : "") + offset;
}

function drawDecimal(random: Random): string {
  const whole = random.pick([0, 1, 3, 131_071, 131_072, 131_073]);
  const fraction = random.pick([-1, 0, 2, 16_382, 16_383, 16_384]);
  const zeros = "0".repeat(random.int(3));
  const digits = whole === 0 ? "" : "7" + "3".repeat(whole - 1);
  const sign = random.pick(["", "-", "+"]);
  const point = fraction < 0 ? "" : "." + "5".repeat(fraction);
  const text = `${sign}${zeros}${digits}${point}`;
  return /\d/.test(text) ? text : "0";
}

function drawInteger(random: Random): number {
  const edge = random.pick([2 ** 31, -(2 ** 31), 0, 150]);
  return edge + random.pick([-2, -1, 0, 1]);
}

function drawUuid(random: Random): string {
  const hex = () => random.next().toString(16).padStart(8, "0");
  const uuid = `${hex()}-${hex().slice(0, 4)}-${hex().slice(0, 4)}-${hex().slice(0, 4)}-` +
    `${hex()}${hex().slice(0, 4)}`;
  return random.pick([
    uuid,
    uuid.toUpperCase(),
    uuid.slice(1),
    uuid.replaceAll("-", ""),
    `${uuid}0`,
  ]);
}

function drawText(random: Random): string {
  return random.pick(["plain", "", "nul\u0000inside", "lone \ud800 surrogate", "pair 😀", "\\."]);
}

const PROBES: readonly Probe[] = [
  { path: "dob.date", type: "timestamptz", draw: drawTimestamp },
  { path: "registered.date", type: "timestamptz", draw: drawTimestamp },
  { path: "location.coordinates.latitude", type: "numeric", draw: drawDecimal },
  { path: "location.coordinates.longitude", type: "numeric", draw: drawDecimal },
  { path: "dob.age", type: "integer", draw: drawInteger },
  { path: "location.street.number", type: "integer", draw: drawInteger },
  { path: "login.uuid", type: "uuid", draw: drawUuid },
  { path: "name.first", type: "text", draw: drawText },
];

function withValue(record: unknown, path: string, value: unknown): unknown {
  const copy = structuredClone(record) as Record<string, unknown>;
  const keys = path.split(".");
  let node = copy;
  for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>;
  node[keys.at(-1)!] = value;
  return copy;
}

/** Whether PostgreSQL's input function for `type` takes `value`. */
async function postgresAccepts(sql: Sql, value: string | number, type: Probe["type"]) {
  const text = String(value);
  const casts = {
    timestamptz: () => sql`select ${text}::text::timestamptz`,
    numeric: () => sql`select ${text}::text::numeric`,
    integer: () => sql`select ${text}::text::integer`,
    uuid: () => sql`select ${text}::text::uuid`,
    text: () => sql`select ${text}::text`,
  };
  try {
    await casts[type]();
    return true;
  } catch (error) {
    if (error instanceof Error && error.name === "PostgresError") return false;
    throw error;
  }
}

Deno.test("whatever the extract accepts, PostgreSQL accepts: a property test at the boundaries", async () => {
  await using db = await createTestDatabase();
  const [base] = generatePage({ seed: "boundaries", page: 1, results: 1 }).results;
  const random = new Random(2026, 12, 2, 15);
  const outcomes = { accepted: 0, refusedByBoth: 0, refusedByUsOnly: 0 };
  for (let i = 0; i < 1_200; i++) {
    const probe = PROBES[i % PROBES.length]!;
    const value = probe.draw(random);
    const ours = parseUser(withValue(base, probe.path, value));
    const theirs = await postgresAccepts(db.sql, value, probe.type);
    if (ours.ok) {
      assert.ok(
        theirs,
        `the extract accepts ${probe.path}=${String(value).slice(0, 80)}, PostgreSQL refuses it`,
      );
      outcomes.accepted++;
    } else {
      assert.match(ours.reason, new RegExp(`^${probe.path.replaceAll(".", "\\.")}: `));
      outcomes[theirs ? "refusedByUsOnly" : "refusedByBoth"]++;
    }
  }
  // Both sides of the boundaries were reached.
  assert.ok(outcomes.accepted > 300 && outcomes.refusedByBoth > 300, JSON.stringify(outcomes));
});

async function boundaryRows(fixture: PipelineFixture) {
  return await fixture.db.sql<Record<string, unknown>[]>`
    select name_last, location_city, location_coordinates_latitude::text as latitude,
           location_coordinates_longitude::text as longitude, dob_age, location_street_number,
           extract(epoch from dob_date)::text as dob_epoch,
           extract(epoch from registered_date)::text as registered_epoch
    from raw.users order by id`;
}

Deno.test("records at each boundary load as sent, records just past it are rejected by name", async () => {
  await using fixture = await createPipelineFixture();
  const patches = BOUNDARY_VALUES.flatMap(([path, at, past], i) => [
    { index: 2 * i, set: { [path]: at } },
    { index: 2 * i + 1, set: { [path]: past } },
  ]);
  fixture.api.faults.add({ page: 1, fault: { kind: "patch", patches } });
  const users = 100;
  assertExit(await fixture.run("migrate"), 0);
  const extract = await fixture.run("extract", ["--ds", DS, "--users", String(users)], {
    MAX_REJECT_RATE: "0.2",
  });
  assertExit(extract, 0);
  assert.match(
    extract.stdout,
    new RegExp(`users=${users - BOUNDARY_VALUES.length} rejects=${BOUNDARY_VALUES.length} `),
  );
  const rejects = (await Deno.readTextFile(fixture.files(DS).rejects)).trim().split("\n")
    .map((line) => JSON.parse(line) as { index: number; reason: string });
  assert.deepEqual(
    rejects.map((reject) => [reject.index, reject.reason.split(":")[0]]),
    BOUNDARY_VALUES.map(([path], i) => [2 * i + 1, path]),
  );
  // Zero load failures: every accepted value is one raw.users takes.
  const load = await fixture.run("load", ["--ds", DS]);
  assertExit(load, 0);
  assert.match(load.stdout, new RegExp(`rows=${users - BOUNDARY_VALUES.length} inserted=`));
  const rows = await boundaryRows(fixture);
  const has = (column: string, value: unknown) => rows.some((row) => row[column] === value);
  assert.ok(has("dob_epoch", String(Date.parse("0001-01-01T00:00:00.000Z") / 1000) + ".000000"));
  assert.ok(
    has("registered_epoch", String(Date.parse("2001-02-03T04:05:06+15:59") / 1000) + ".000000"),
  );
  assert.ok(has("registered_epoch", "1286705410.123456"));
  assert.ok(has("latitude", "9".repeat(131_072)));
  assert.ok(has("longitude", "-0." + "1".repeat(16_383)));
  assert.ok(has("dob_age", 2_147_483_647));
  assert.ok(has("location_street_number", -2_147_483_648));
  assert.ok(has("name_last", "tab\tand \\N"));
  assert.ok(has("location_city", "pair 😀"));
});
