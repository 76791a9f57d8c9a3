import assert from "node:assert/strict";
import {
  assertExit,
  assertStderrLine,
  createPipelineFixture,
  type PipelineFixture,
} from "./helpers/pipeline_fixture.ts";
import { USER_COLUMNS } from "../tasks/extract/user_fields.ts";
import { idleInTransaction, rawUsersState } from "./helpers/raw_users.ts";

const DS = "2026-01-01";

function rawUsers(fixture: PipelineFixture) {
  return rawUsersState(fixture.db.sql);
}

async function extractAndLoad(fixture: PipelineFixture, users: number, ds = DS) {
  assertExit(await fixture.run("migrate"), 0);
  assertExit(await fixture.run("extract", ["--ds", ds, "--users", String(users)]), 0);
  const load = await fixture.run("load", ["--ds", ds]);
  assertExit(load, 0);
  return load;
}

Deno.test("the slice loads every extracted user into raw.users and records the batch", async () => {
  await using fixture = await createPipelineFixture();
  const load = await extractAndLoad(fixture, 12_000);
  assert.match(load.stdout, /^load ds=2026-01-01 rows=12000 inserted=12000 updated=0 deleted=0/m);
  const users = await rawUsers(fixture);
  assert.deepEqual([users.rows, users.ids], [12_000, 12_000]);
  const [batch] = await fixture.db.sql`
    select status, rows_in_file::int, inserted::int, bytes::bigint > 0 as has_bytes,
           sha256 ~ '^[0-9a-f]{64}$' as has_checksum, ds::text
    from meta.load_batches`;
  assert.deepEqual(batch, {
    status: "succeeded",
    rows_in_file: 12_000,
    inserted: 12_000,
    has_bytes: true,
    has_checksum: true,
    ds: DS,
  });
  const [meta] = await fixture.db.sql`
    select count(*)::int as mismatched from raw.users
    where _ds <> ${DS}::date or _batch_id is null or id <> login_uuid`;
  assert.deepEqual(meta?.mismatched, 0);
});

Deno.test("load is idempotent for the same ds", async () => {
  await using fixture = await createPipelineFixture();
  await extractAndLoad(fixture, 6_000);
  const before = await rawUsers(fixture);
  const again = await fixture.run("load", ["--ds", DS]);
  assertExit(again, 0);
  assert.match(again.stdout, /inserted=0 updated=0 deleted=0 unchanged=6000/);
  assert.deepEqual(await rawUsers(fixture), before);
  // Extracting the same ds again fetches the same users: still nothing changes.
  assertExit(await fixture.run("extract", ["--ds", DS, "--users", "6000"]), 0);
  assertExit(await fixture.run("load", ["--ds", DS]), 0);
  assert.deepEqual(await rawUsers(fixture), before);
});

Deno.test("a reload rewrites exactly the rows that differ from the file, and no other", async () => {
  await using fixture = await createPipelineFixture();
  await extractAndLoad(fixture, 3_000);
  const before = await rawUsers(fixture);
  const { sql } = fixture.db;
  // 40 rows edited, 25 moved to another ds, 10 with a value made NULL: 75 differ from the file.
  const ids = (await sql`select id from raw.users where id_value is not null order by id limit 75`)
    .map((row) => row.id as string);
  await sql`update raw.users set name_first = 'edited' where id = any(${ids.slice(0, 40)}::uuid[])`;
  await sql`update raw.users set _ds = '2025-12-31' where id = any(${ids.slice(40, 65)}::uuid[])`;
  await sql`update raw.users set id_value = null where id = any(${ids.slice(65)}::uuid[])`;
  const untouched = await sql`
    select id, xmin::text as xmin from raw.users where id <> all(${ids}::uuid[])`;
  const load = await fixture.run("load", ["--ds", DS]);
  assertExit(load, 0);
  assert.match(load.stdout, /inserted=0 updated=75 deleted=0 unchanged=2925 /);
  // Every value is the file's again, down to the row's ds.
  const after = await rawUsers(fixture);
  assert.deepEqual([after.rows, after.ids], [before.rows, before.ids]);
  const [content] = await sql`
    select md5(string_agg(md5((${sql(USER_COLUMNS)}, _ds)::text), '' order by id)) as sum
    from raw.users`;
  await using fresh = await createPipelineFixture();
  await extractAndLoad(fresh, 3_000);
  const [expected] = await fresh.db.sql`
    select md5(string_agg(md5((${sql(USER_COLUMNS)}, _ds)::text), '' order by id)) as sum
    from raw.users`;
  assert.equal(content?.sum, expected?.sum);
  // The rows that did not differ were not written: same row versions.
  const [rewritten] = await sql`
    select count(*)::int as n from raw.users as u
    join (select * from unnest(${untouched.map((row) => row.id)}::uuid[],
                               ${untouched.map((row) => row.xmin)}::text[]) as t(id, xmin)) as t
      on t.id = u.id
    where u.xmin::text <> t.xmin`;
  assert.equal(untouched.length, 2_925);
  assert.equal(rewritten?.n, 0);
});

Deno.test("a reload of a ds whose file shrank removes the users it no longer has", async () => {
  await using fixture = await createPipelineFixture();
  await extractAndLoad(fixture, 3_000, DS);
  await extractAndLoad(fixture, 2_000, "2026-01-02");
  assertExit(await fixture.run("extract", ["--ds", DS, "--users", "1000"]), 0);
  const load = await fixture.run("load", ["--ds", DS]);
  assertExit(load, 0);
  assert.match(load.stdout, /deleted=2000/);
  const counts = await fixture.db.sql`
    select _ds::text as ds, count(*)::int as n from raw.users group by 1 order by 1`;
  assert.deepEqual([...counts], [{ ds: DS, n: 1_000 }, { ds: "2026-01-02", n: 2_000 }]);
});

Deno.test("load refuses a CSV with the wrong header and leaves raw.users unchanged", async () => {
  await using fixture = await createPipelineFixture();
  await extractAndLoad(fixture, 500);
  const before = await rawUsers(fixture);
  const file = fixture.files(DS).csv;
  const text = await Deno.readTextFile(file);
  await Deno.writeTextFile(file, text.replace("name_first,", "first_name,"));
  const result = await fixture.run("load", ["--ds", DS]);
  assertExit(result, 3);
  assert.match(
    result.stderr,
    /error: the CSV header of .*random_user\.csv does not match raw\.users \(missing name_first; unexpected first_name\)/,
  );
  assert.deepEqual(await rawUsers(fixture), before);
});

Deno.test("a row that COPY rejects fails the load without hanging and changes nothing", async () => {
  await using fixture = await createPipelineFixture();
  await extractAndLoad(fixture, 500);
  const before = await rawUsers(fixture);
  const file = fixture.files(DS).csv;
  const lines = (await Deno.readTextFile(file)).split("\r\n");
  // The last data row gets a latitude that numeric cannot take: the error arrives after the
  // last chunk was sent, the case where postgres.js would otherwise never settle.
  const last = lines.length - 2;
  lines[last] = lines[last]!.replace(/,(-?\d+\.\d+),(-?\d+\.\d+),/, ",north,$2,");
  await Deno.writeTextFile(file, lines.join("\r\n"));
  // Edited by hand, so no manifest vouches for it: only --unvouched takes it as far as COPY.
  const result = await fixture.run("load", ["--ds", DS, "--unvouched"]);
  assertExit(result, 3);
  assert.match(
    result.stderr,
    /error: loading .*random_user\.csv into raw\.users failed: invalid input syntax for type numeric: "north" \(COPY users_stage, line 501, column location_coordinates_latitude: "north"\); raw\.users is unchanged\. Re-run `deno task extract`/,
  );
  assert.deepEqual(await rawUsers(fixture), before);
  const [failed] = await fixture.db.sql`
    select count(*)::int as n from meta.load_batches where status = 'failed' and error like '%north%'`;
  assert.deepEqual(failed?.n, 1);
  assert.equal(await idleInTransaction(fixture.db.sql), 0);
});

Deno.test("load without an extract says which command to run", async () => {
  await using fixture = await createPipelineFixture();
  assertExit(await fixture.run("migrate"), 0);
  const result = await fixture.run("load", ["--ds", "2026-03-04"]);
  assertExit(result, 3);
  assert.match(
    result.stderr,
    /error: no CSV at .*ds=2026-03-04\/random_user\.csv; run `deno task extract`/,
  );
});

Deno.test("load before migrate says to migrate", async () => {
  await using fixture = await createPipelineFixture();
  assertExit(await fixture.run("extract", ["--ds", DS, "--users", "10"]), 0);
  const result = await fixture.run("load", ["--ds", DS]);
  assertExit(result, 3);
  assert.match(result.stderr, /raw\.users does not exist; run `deno task migrate` first/);
});

Deno.test("an unreachable warehouse is a clear error that hides the password", async () => {
  await using fixture = await createPipelineFixture();
  await extractAndLoad(fixture, 10);
  const before = await rawUsers(fixture);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const url = `postgres://pipeline:s3cret-pw@127.0.0.1:${port}/warehouse`;
  for (const task of ["migrate", "load"]) {
    const result = await fixture.run(task, ["--ds", DS].slice(task === "load" ? 0 : 2), {
      DATABASE_URL: url,
    });
    assertExit(result, 1);
    assert.match(
      result.stderr,
      new RegExp(
        `error: cannot reach the warehouse at postgres://pipeline:\\*\\*\\*@127\\.0\\.0\\.1:${port}/warehouse`,
      ),
    );
    assert.ok(!(result.stdout + result.stderr).includes("s3cret-pw"), "the password leaked");
  }
  assert.deepEqual(await rawUsers(fixture), before);
});

Deno.test("load against an HTTP server says it is not PostgreSQL and leaves raw.users unchanged", async () => {
  await using fixture = await createPipelineFixture();
  await extractAndLoad(fixture, 10);
  const before = await rawUsers(fixture);
  // The Random User stand-in is an HTTP server: what a DATABASE_URL with the API's port reaches.
  const { port } = new URL(fixture.api.url);
  const result = await fixture.run("load", ["--ds", DS], {
    DATABASE_URL: `postgres://pipeline:s3cret-pw@127.0.0.1:${port}/warehouse`,
  });
  assertExit(result, 3);
  assertStderrLine(
    result.stderr,
    new RegExp(
      `^error: the server at postgres://pipeline:\\*\\*\\*@127\\.0\\.0\\.1:${port}/warehouse is not ` +
        `PostgreSQL: it answered "HTTP/1\\.1 400 Bad Request" to the startup handshake; `,
    ),
  );
  assert.ok(!(result.stdout + result.stderr).includes("s3cret-pw"), "the password leaked");
  assert.deepEqual(await rawUsers(fixture), before);
});

Deno.test("hostile text round-trips byte for byte, and text PostgreSQL cannot hold is rejected", async () => {
  await using fixture = await createPipelineFixture();
  const hostile = [
    `O'Brien, "Jr."`,
    "line\nbreak",
    "carriage\r\nreturn",
    "tab\there",
    "back\\slash \\. \\N",
    "\\.",
    "x\n\\.\ny",
    "",
    "  spaced  ",
    "Robert'); drop table raw.users; --",
    "emoji 👩‍👩‍👧 and astral 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "עברית right-to-left مرحبا",
    "x".repeat(100_000),
  ];
  fixture.api.faults.add({
    page: 1,
    fault: {
      kind: "patch",
      patches: [
        ...hostile.map((value, index) => ({
          index,
          set: {
            "name.first": value,
            "location.city": value,
            "id.value": index % 2 ? null : value,
          },
        })),
        { index: hostile.length, set: { "name.last": "nul\u0000byte" } },
      ],
    },
  });
  await extractAndLoad(fixture, 200);
  const rejects = (await Deno.readTextFile(fixture.files(DS).rejects)).trim().split("\n");
  assert.deepEqual(rejects.length, 1);
  assert.match(JSON.parse(rejects[0]!).reason, /name\.last: contains a NUL character/);
  const rows = await fixture.db.sql<
    { name_first: string; location_city: string; id_value: string | null }[]
  >`
    select name_first, location_city, id_value from raw.users
    where name_first = any(${hostile})`;
  assert.deepEqual(rows.length, hostile.length);
  const byName = new Map(rows.map((row) => [row.name_first, row]));
  hostile.forEach((value, index) => {
    const row = byName.get(value);
    assert.deepEqual(row?.location_city, value);
    assert.deepEqual(row?.id_value, index % 2 ? null : value);
  });
  assert.deepEqual((await rawUsers(fixture)).rows, 199);
});

Deno.test("a bad row in the middle of a multi-megabyte file fails fast and changes nothing", async () => {
  await using fixture = await createPipelineFixture();
  await extractAndLoad(fixture, 20_000);
  const before = await rawUsers(fixture);
  const file = fixture.files(DS).csv;
  const lines = (await Deno.readTextFile(file)).split("\r\n");
  lines[10_000] = lines[10_000]!.replace(/,(-?\d+\.\d+),(-?\d+\.\d+),/, ",north,$2,");
  await Deno.writeTextFile(file, lines.join("\r\n"));
  const result = await fixture.run("load", ["--ds", DS, "--unvouched"]);
  assertExit(result, 3);
  assert.match(
    result.stderr,
    /invalid input syntax for type numeric: "north" \(COPY users_stage, line 10001/,
  );
  assert.deepEqual(await rawUsers(fixture), before);
});

Deno.test("a missing database is a clear error naming it", async () => {
  await using fixture = await createPipelineFixture();
  const url = new URL(fixture.db.url);
  url.pathname = "/no_such_database";
  const result = await fixture.run("migrate", [], { DATABASE_URL: url.href });
  assertExit(result, 3);
  assert.match(
    result.stderr,
    /^error: the warehouse at .*\/no_such_database has no such database: database "no_such_database" does not exist\. Create it, or fix the database name in DATABASE_URL\./m,
  );
});

Deno.test("numbers and timestamps arrive by value, text exactly as the API sent it", async () => {
  await using fixture = await createPipelineFixture();
  await extractAndLoad(fixture, 300);
  const csv = (await Deno.readTextFile(fixture.files(DS).csv)).split("\r\n");
  assert.deepEqual(csv[0]!.split(","), [...USER_COLUMNS]);
  // Ask the API for the same page and compare every user field by field.
  const api = new URL(fixture.api.url);
  api.search = new URLSearchParams({ results: "300", seed: `randomuser-elt-${DS}`, page: "1" })
    .toString();
  const { results } = await (await fetch(api)).json();
  const rows = await fixture.db.sql`
    select id::text, location_coordinates_latitude::text as latitude,
           location_coordinates_longitude::text as longitude, location_postcode as postcode,
           location_street_number as street_number, dob_date, registered_date, dob_age,
           id_value, name_first, email, location_timezone_offset as tz
    from raw.users`;
  const byId = new Map(rows.map((row) => [row.id, row]));
  assert.equal(byId.size, 300);
  for (const user of results) {
    const row = byId.get(user.login.uuid);
    assert.ok(row, `user ${user.login.uuid} missing`);
    assert.deepEqual(
      [row.latitude, row.longitude, row.postcode, row.street_number, row.dob_age, row.id_value],
      [
        user.location.coordinates.latitude,
        user.location.coordinates.longitude,
        String(user.location.postcode),
        user.location.street.number,
        user.dob.age,
        user.id.value,
      ],
    );
    assert.equal(row.dob_date.getTime(), Date.parse(user.dob.date));
    assert.equal(row.registered_date.getTime(), Date.parse(user.registered.date));
    assert.deepEqual([row.name_first, row.email, row.tz], [
      user.name.first,
      user.email,
      user.location.timezone.offset,
    ]);
  }
});
