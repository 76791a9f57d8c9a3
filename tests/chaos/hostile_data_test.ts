/**
 * Hostile data: names and addresses built to break CSV, COPY, SQL and UTF-8 handling travel
 * from the API through the whole pipeline (extract, load, dbt build) and must arrive byte for
 * byte in `raw.users` and in the marts — or, for what PostgreSQL text cannot hold, be rejected
 * with a reason.
 */
import assert from "node:assert/strict";
import { parse } from "csv-parse/sync";
import { assertExit } from "../helpers/pipeline_fixture.ts";
import { USER_COLUMNS } from "../../tasks/extract/user_fields.ts";
import { recordChaos } from "./chaos_report.ts";
import { createChaosFixture, secondsSince } from "./chaos_fixture.ts";
import { HOSTILE_TEXT as HOSTILE } from "../helpers/hostile_text.ts";

const DS = "2026-05-01";
const USERS = 300;

/** Values PostgreSQL text cannot hold: rejected with a reason, never loaded. */
const UNSTORABLE = [
  { field: "name.last", value: "nul\u0000byte" },
  { field: "location.city", value: "lone \uD83D surrogate" },
] as const;

Deno.test("hostile names and addresses arrive byte for byte in raw.users and the marts; what text cannot hold is rejected with a reason", async () => {
  const started = performance.now();
  await using fixture = await createChaosFixture();
  // The users of the page as the API serves it, to find each patched user by its id.
  const url = new URL(fixture.api.url);
  url.search = new URLSearchParams({
    results: String(USERS),
    seed: `randomuser-elt-${DS}`,
    page: "1",
  }).toString();
  const served = (await (await fetch(url)).json()).results as Array<{ login: { uuid: string } }>;
  const idOf = (index: number) => served[index]?.login.uuid ?? "";
  fixture.api.faults.add({
    page: 1,
    fault: {
      kind: "patch",
      patches: [
        ...HOSTILE.map((value, index) => ({
          index,
          set: {
            "name.first": value,
            "name.last": value,
            "location.city": value,
            "location.street.name": value,
          },
        })),
        ...UNSTORABLE.map(({ field, value }, i) => ({
          index: HOSTILE.length + i,
          set: { [field]: value },
        })),
      ],
    },
  });

  const result = await fixture.cli(["run", "all", "--ds", DS], {
    USERS_PER_RUN: String(USERS),
    TASK_RETRIES: "0",
  });
  assertExit(result, 0);
  const expected = USERS - UNSTORABLE.length;

  // The CSV is well formed: a header and one record of every column per user.
  const records = parse(await Deno.readTextFile(fixture.files(DS).csv)) as string[][];
  assert.deepEqual(records[0], [...USER_COLUMNS]);
  assert.equal(records.length, 1 + expected);
  assert.ok(records.every((record) => record.length === USER_COLUMNS.length));

  const rejects = (await Deno.readTextFile(fixture.files(DS).rejects)).trim().split("\n")
    .map((line) => JSON.parse(line) as { index: number; reason: string });
  assert.deepEqual(rejects.map((reject) => reject.index), [HOSTILE.length, HOSTILE.length + 1]);
  assert.match(rejects[0]?.reason ?? "", /^name\.last: contains a NUL character/);
  assert.match(rejects[1]?.reason ?? "", /^location\.city: .*unpaired surrogate/);

  const ids = HOSTILE.map((_, index) => idOf(index));
  const raw = await fixture.db.sql<
    {
      id: string;
      name_first: string;
      name_last: string;
      location_city: string;
      location_street_name: string;
      bytes: number;
    }[]
  >`
    select id::text, name_first, name_last, location_city, location_street_name,
           octet_length(name_first) as bytes
    from raw.users where id = any(${ids}::uuid[])`;
  const marts = await fixture.db.sql<
    { id: string; first_name: string; last_name: string; city: string; street_name: string }[]
  >`
    select f.user_id::text as id, s.first_name, s.last_name, g.city, s.street_name
    from analytics.fct_registrations as f
    join analytics.dim_geography as g using (geography_key)
    -- Names and streets stay in staging, where the analyst cannot read them.
    join staging.stg_randomuser__users as s on s.user_id = f.user_id
    where f.user_id = any(${ids}::uuid[])`;
  const rawById = new Map(raw.map((row) => [row.id, row]));
  const martById = new Map(marts.map((row) => [row.id, row]));
  const encoder = new TextEncoder();
  let exact = 0;
  HOSTILE.forEach((value, index) => {
    const what = `hostile value #${index} (${JSON.stringify(value.slice(0, 40))})`;
    const row = rawById.get(idOf(index));
    assert.ok(row, `${what} is missing from raw.users`);
    assert.deepEqual(
      [row.name_first, row.name_last, row.location_city, row.location_street_name],
      [value, value, value, value],
      `${what} changed on its way to raw.users`,
    );
    assert.equal(row.bytes, encoder.encode(value).length, what);
    const mart = martById.get(idOf(index));
    assert.ok(mart, `${what} is missing from the marts`);
    assert.deepEqual(
      [mart.first_name, mart.last_name, mart.city, mart.street_name],
      [value, value, value, value],
      `${what} changed on its way to the marts`,
    );
    exact++;
  });

  const users = await fixture.rawUsers();
  assert.deepEqual([users.rows, users.ids], [expected, expected]);
  const [facts] = await fixture.db.sql`select count(*)::int as n from analytics.fct_registrations`;
  assert.equal(facts?.n, expected);
  assert.equal(exact, HOSTILE.length);
  await recordChaos("hostile", {
    scenario: `${HOSTILE.length} hostile values through raw.users and the marts, ` +
      `${UNSTORABLE.length} unstorable ones rejected`,
    faultsInjected: HOSTILE.length + UNSTORABLE.length,
    runsRecovered: 0,
    rowsExpected: expected,
    rowsFound: users.rows,
    seconds: secondsSince(started),
  });
});
