/**
 * The Metabase stand-in (tests/fake_metabase) refuses what Metabase refuses, with Metabase's
 * status codes and messages, for every call provisioning makes — so a provisioning test that
 * passes against it has not merely met a lenient server. Its connection checks and schema syncs
 * reach a real test database.
 */
import assert from "node:assert/strict";
import { startFakeMetabase } from "./fake_metabase/server.ts";
import { createTestDatabase } from "./helpers/test_warehouse.ts";

const ADMIN = { email: "admin@example.com", password: "Admin-pass-123" };

/** A small client for the stand-in: JSON in, status and JSON (or text) out. */
function caller(base: string) {
  let session: string | undefined;
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(new URL(path, base), {
      method,
      headers: {
        "content-type": "application/json",
        ...(session ? { "x-metabase-session": session } : {}),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    let json: unknown = text;
    try {
      json = JSON.parse(text);
    } catch {
      // plain-text answer
    }
    return { status: response.status, body: json as Record<string, unknown> & unknown };
  };
  return {
    call,
    async login() {
      const answer = await call("POST", "/api/session", {
        username: ADMIN.email,
        password: ADMIN.password,
      });
      assert.equal(answer.status, 200);
      session = String(answer.body.id);
    },
  };
}

/** `POST /api/database`'s body for the test database at `databaseUrl`. */
function databaseBody(databaseUrl: string, extra: Record<string, string> = {}) {
  const url = new URL(databaseUrl);
  return {
    engine: "postgres",
    name: "warehouse",
    details: {
      host: url.hostname,
      port: Number(url.port),
      dbname: url.pathname.slice(1),
      user: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
      ...extra,
    },
  };
}

function setupBody(token: unknown, overrides: Record<string, unknown> = {}) {
  return {
    token,
    user: { email: ADMIN.email, password: ADMIN.password, first_name: "P", last_name: "A" },
    prefs: { site_name: "randomuser-elt", site_locale: "en" },
    ...overrides,
  };
}

Deno.test("the stand-in's setup refuses what Metabase refuses, and clears its token once used", async () => {
  await using metabase = startFakeMetabase();
  const { call } = caller(metabase.url);
  const token = (await call("GET", "/api/session/properties")).body["setup-token"];
  assert.equal(typeof token, "string");
  const user = (change: Record<string, string>) => ({
    user: { ...setupBody(token).user, ...change },
  });
  const tooCommon = "password is too common.";
  const refused: Array<[string, Record<string, unknown>, string, string]> = [
    ["no site name", { prefs: { site_locale: "en" } }, "site_name", "non-blank string"],
    ["an invalid email", user({ email: "admin@" }), "email", "valid email address"],
    ["a password without a digit", user({ password: "Metabase-admin" }), "password", tooCommon],
    ["a password under 6 characters", user({ password: "ab1" }), "password", tooCommon],
    ["a common password", user({ password: "Password1" }), "password", tooCommon],
    ["a wrong token", { token: crypto.randomUUID() }, "token", "does not match the setup token"],
  ];
  for (const [what, overrides, key, message] of refused) {
    const answer = await call("POST", "/api/setup", setupBody(token, overrides));
    assert.equal(answer.status, 400, what);
    const errors = answer.body.errors as Record<string, string>;
    assert.ok(errors[key]?.includes(message), `${what}: ${JSON.stringify(answer.body)}`);
  }
  assert.equal((await call("GET", "/api/session/properties")).body["has-user-setup"], false);

  const done = await call("POST", "/api/setup", setupBody(token));
  assert.equal(done.status, 200);
  const after = (await call("GET", "/api/session/properties")).body;
  assert.deepEqual([after["setup-token"], after["has-user-setup"]], [null, true]);
  // The old token no longer matches anything: a second setup is refused.
  const again = await call("POST", "/api/setup", setupBody(token));
  assert.equal(again.status, 400);
  assert.match(JSON.stringify(again.body), /does not match the setup token/);
});

Deno.test("the stand-in stores cards as MBQL 5, refuses blank descriptions and off-grid dashcards", async () => {
  await using db = await createTestDatabase();
  await using metabase = startFakeMetabase({ admin: ADMIN });
  const client = caller(metabase.url);
  await client.login();
  const { call } = client;
  const database = await call("POST", "/api/database", databaseBody(db.url));
  assert.equal(database.status, 200, JSON.stringify(database.body));
  const databaseId = Number(database.body.id);
  const card = (overrides: Record<string, unknown>) => ({
    name: "Users",
    display: "bar",
    visualization_settings: {},
    dataset_query: {
      "lib/type": "mbql/query",
      database: databaseId,
      stages: [{ "lib/type": "mbql.stage/native", native: "select 1 as users" }],
    },
    ...overrides,
  });

  const blank = await call("POST", "/api/card", card({ description: "" }));
  assert.equal(blank.status, 400);
  assert.match(JSON.stringify(blank.body), /"description":"nullable value must be a non-blank/);
  const noName = await call("POST", "/api/card", card({ name: " " }));
  assert.deepEqual([noName.status, (noName.body.errors as Record<string, string>).name], [
    400,
    "value must be a non-blank string.",
  ]);
  const badStage = await call(
    "POST",
    "/api/card",
    card({
      dataset_query: {
        "lib/type": "mbql/query",
        database: databaseId,
        stages: [{ "lib/type": "mbql.stage/native", query: "select 1" }],
      },
    }),
  );
  assert.equal(badStage.status, 400);
  assert.match(JSON.stringify(badStage.body), /not allowed in a native query stage: query/);

  const mbql5 = await call("POST", "/api/card", card({}));
  assert.equal(mbql5.status, 200, JSON.stringify(mbql5.body));
  const legacy = await call(
    "POST",
    "/api/card",
    card({
      dataset_query: {
        type: "native",
        database: databaseId,
        native: { query: "select 2 as users", "template-tags": {} },
      },
    }),
  );
  assert.equal(legacy.status, 200);
  // Both come back the way Metabase 0.57+ returns them: MBQL 5, an empty template-tags dropped.
  assert.deepEqual((await call("GET", `/api/card/${legacy.body.id}`)).body.dataset_query, {
    "lib/type": "mbql/query",
    database: databaseId,
    stages: [{ "lib/type": "mbql.stage/native", native: "select 2 as users" }],
  });

  const dashboard = await call("POST", "/api/dashboard", { name: "Users" });
  assert.equal(dashboard.status, 200);
  const dashcard = (overrides: Record<string, unknown>) => ({
    dashcards: [{
      id: -1,
      card_id: mbql5.body.id,
      row: 0,
      col: 0,
      size_x: 12,
      size_y: 8,
      ...overrides,
    }],
  });
  const geometry: Array<[Record<string, unknown>, RegExp]> = [
    [{ size_x: 0 }, /size_x.*greater than zero/],
    [{ size_y: -2 }, /size_y.*greater than zero/],
    [{ row: -1 }, /row.*greater or equal/],
    [{ col: 16 }, /runs past the 24-column grid/],
    [{ size_x: 2, size_y: 2 }, /a bar card is at least 4×3/],
  ];
  for (const [overrides, message] of geometry) {
    const answer = await call("PUT", `/api/dashboard/${dashboard.body.id}`, dashcard(overrides));
    assert.equal(answer.status, 400, JSON.stringify(overrides));
    assert.match(JSON.stringify(answer.body), message);
  }
  assert.equal(
    (await call("PUT", `/api/dashboard/${dashboard.body.id}`, dashcard({}))).status,
    200,
  );
  // The deprecated dashboard list is not there; the collection's items are the way.
  assert.equal((await call("GET", "/api/dashboard")).status, 404);
  const collection = await call("POST", "/api/collection", { name: "Questions" });
  const misspelt = await call(
    "GET",
    `/api/collection/${collection.body.id}/items?models=dashboards`,
  );
  assert.equal(misspelt.status, 400);
  assert.match(JSON.stringify(misspelt.body), /unknown models: dashboards/);
});

Deno.test("the stand-in syncs the warehouse's tables and refuses a blank field description", async () => {
  await using db = await createTestDatabase();
  await db.sql`create schema analytics`;
  await db.sql`create table analytics.dim_thing (thing_key int primary key, label text)`;
  await db.sql`create table public.hidden (x int)`;
  await using metabase = startFakeMetabase({ admin: ADMIN });
  const client = caller(metabase.url);
  await client.login();
  const database = await client.call(
    "POST",
    "/api/database",
    databaseBody(db.url, {
      "schema-filters-type": "inclusion",
      "schema-filters-patterns": "analytics",
    }),
  );
  assert.equal(database.status, 200);
  let tables: Array<Record<string, unknown>> = [];
  for (let i = 0; i < 100 && tables.length === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    const metadata = await client.call("GET", `/api/database/${database.body.id}/metadata`);
    tables = metadata.body.tables as Array<Record<string, unknown>>;
  }
  assert.deepEqual(tables.map((t) => `${t.schema}.${t.name}`), ["analytics.dim_thing"]);
  const fields = tables[0]?.fields as Array<Record<string, unknown>>;
  assert.deepEqual(fields.map((f) => [f.name, f.base_type]), [
    ["thing_key", "type/Integer"],
    ["label", "type/Text"],
  ]);
  const field = fields[1]?.id;
  const blank = await client.call("PUT", `/api/field/${field}`, { description: "  " });
  assert.deepEqual([blank.status, (blank.body.errors as Record<string, string>).description], [
    400,
    "nullable value must be a non-blank string.",
  ]);
  assert.equal(
    (await client.call("PUT", `/api/field/${field}`, { description: "A label." })).status,
    200,
  );
  const state = await (await fetch(`${metabase.url}/_fake/state`)).json();
  assert.equal(state.tables[0].fields[1].description, "A label.");
  assert.equal(state.databases[0].details.password, "***");
});
