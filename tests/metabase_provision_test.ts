/**
 * Provisioning against the Metabase stand-in (tests/fake_metabase), which follows Metabase's
 * documented API for the calls we make — not a real Metabase, which cannot run here. The
 * warehouse side is real: the stand-in checks the analyst login against the test database.
 */
import assert from "node:assert/strict";
import { loadAnalyses } from "../tasks/analytics/analyses.ts";
import { connect } from "../tasks/warehouse/sql_client.ts";
import { type FakeMetabaseOptions, startFakeMetabase } from "./fake_metabase/server.ts";
import { analysisQuestions } from "./helpers/analysis_questions.ts";
import {
  assertExit,
  assertStderrLine,
  createPipelineFixture,
  type PipelineFixture,
} from "./helpers/pipeline_fixture.ts";

const ANALYST_PASSWORD = "analyst-pass-1";
const ADMIN = {
  METABASE_ADMIN_EMAIL: "admin@example.com",
  METABASE_ADMIN_PASSWORD: "Admin-pass-123",
};

/** A stand-in whose connection check logs in to the test database as the analyst, for real. */
function standIn(options: FakeMetabaseOptions = {}) {
  return startFakeMetabase({
    checkConnection: async (details) => {
      const url = new URL("postgres://localhost");
      url.hostname = String(details.host);
      url.port = String(details.port);
      url.pathname = `/${details.dbname}`;
      url.username = String(details.user);
      url.password = String(details.password);
      const sql = connect(url.href, { max: 1 });
      try {
        await sql`select 1 from analytics.fct_probe limit 1`;
      } finally {
        await sql.end();
      }
    },
    ...options,
  });
}

async function prepare(fixture: PipelineFixture) {
  assertExit(await fixture.run("migrate", [], { ANALYST_PASSWORD }), 0);
  await fixture.db.sql`create table analytics.fct_probe as select 1 as x`;
}

function provision(fixture: PipelineFixture, env: Record<string, string>) {
  return fixture.run("metabase_provision", [], { ...ADMIN, ANALYST_PASSWORD, ...env });
}

Deno.test("provisioning twice leaves one database, one collection, one card per analysis and one dashboard", async () => {
  await using fixture = await createPipelineFixture();
  await prepare(fixture);
  await using metabase = standIn({ unhealthyChecks: 2 });
  const analyses = await loadAnalyses();
  const first = await provision(fixture, { METABASE_URL: metabase.url, METABASE_WAIT: "30s" });
  assertExit(first, 0);
  assert.match(
    first.stdout,
    new RegExp(
      `setup=completed .*cards_created=${analyses.length} cards_updated=0 .*dashcards=${analyses.length}`,
    ),
  );
  const second = await provision(fixture, { METABASE_URL: metabase.url });
  assertExit(second, 0);
  assert.match(
    second.stdout,
    new RegExp(`setup="already done" .*cards_created=0 cards_updated=${analyses.length}`),
  );

  assert.equal(metabase.databases.size, 1);
  const [database] = metabase.databases.values();
  assert.deepEqual(
    [database?.name, (database?.details as Record<string, unknown>).user],
    ["randomuser-elt warehouse", "analyst"],
  );
  assert.equal(metabase.collections.size, 1);
  assert.equal(metabase.cards.size, analyses.length);
  // The question and chart as _analyses.yml gives them, read apart from the loader.
  const questions = await analysisQuestions();
  assert.equal(questions.size, analyses.length);
  const cards = [...metabase.cards.values()];
  for (const analysis of analyses) {
    const card = cards.find((c) => c.description === `dbt_project/analyses/${analysis.name}.sql`);
    assert.ok(card, `no card for ${analysis.name}`);
    const expected = questions.get(analysis.name);
    assert.ok(expected, `${analysis.name} is in _analyses.yml`);
    assert.equal(card.name, expected.question);
    assert.equal((card.dataset_query as { native: { query: string } }).native.query, analysis.sql);
    assert.equal(card.display, { line: "line", pie: "pie" }[expected.chart] ?? "bar");
  }
  assert.equal(metabase.dashboards.size, 1);
  const [dashboard] = metabase.dashboards.values();
  assert.equal(dashboard?.dashcards.length, analyses.length);
  assert.deepEqual(
    new Set(dashboard?.dashcards.map((d) => d.card_id)),
    new Set(cards.map((c) => c.id)),
  );
});

Deno.test("a wrong admin password is a clear error and changes nothing", async () => {
  await using fixture = await createPipelineFixture();
  await prepare(fixture);
  await using metabase = standIn({
    admin: { email: "admin@example.com", password: "another-password" },
  });
  const result = await provision(fixture, { METABASE_URL: metabase.url });
  assertExit(result, 3);
  assert.match(
    result.stderr,
    /^error: Metabase refused the admin login for admin@example\.com: check METABASE_ADMIN_EMAIL and METABASE_ADMIN_PASSWORD$/m,
  );
  assert.ok(!result.stderr.includes("Admin-pass-123"), "the password leaked");
  assert.deepEqual([metabase.databases.size, metabase.cards.size, metabase.dashboards.size], [
    0,
    0,
    0,
  ]);
});

Deno.test("an unreachable Metabase fails after METABASE_WAIT with a clear error", async () => {
  await using fixture = await createPipelineFixture();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const result = await provision(fixture, {
    METABASE_URL: `http://127.0.0.1:${port}`,
    METABASE_WAIT: "1s",
  });
  assertExit(result, 1);
  assert.match(
    result.stderr,
    new RegExp(
      `^error: Metabase at http://127\\.0\\.0\\.1:${port} was not healthy after 1 s \\(last answer: .*\\); is it running, and is METABASE_URL right\\?`,
      "m",
    ),
  );
});

Deno.test("a Metabase version the client does not know is refused before anything is written", async () => {
  await using fixture = await createPipelineFixture();
  await prepare(fixture);
  await using metabase = standIn({ version: "v0.41.2" });
  const result = await provision(fixture, { METABASE_URL: metabase.url });
  assertExit(result, 3);
  assert.match(
    result.stderr,
    /error: Metabase v0\.41\.2 is not a version this provisioning knows: it follows the API of v0\.47 and newer/,
  );
  assert.deepEqual(metabase.requests.filter((r) => !r.startsWith("GET")), []);
});

Deno.test("a wrong analyst password is refused by the connection check", async () => {
  await using fixture = await createPipelineFixture();
  await prepare(fixture);
  // The stand-in logs in for real; it can only refuse where the server checks passwords.
  const url = new URL(fixture.db.url);
  url.username = "analyst";
  url.password = "wrong-password-9";
  const probe = connect(url.href, { max: 1 });
  const checksPasswords = await probe`select 1`.then(() => false, () => true);
  await probe.end();
  if (!checksPasswords) return; // a trust-auth TEST_DATABASE_URL accepts any password
  await using metabase = standIn();
  const result = await provision(fixture, {
    METABASE_URL: metabase.url,
    ANALYST_PASSWORD: "wrong-password-9",
  });
  assertExit(result, 3);
  assert.match(
    result.stderr,
    /error: Metabase answered 400 to POST \/api\/database: .*Couldn't connect to the database/,
  );
  assert.equal(metabase.databases.size, 0);
});

Deno.test("missing settings are usage errors", async () => {
  await using fixture = await createPipelineFixture();
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ METABASE_ADMIN_PASSWORD: "" }, /^error: METABASE_ADMIN_PASSWORD is required/],
    [{ ANALYST_PASSWORD: "" }, /^error: ANALYST_PASSWORD is required/],
    [
      { METABASE_URL: "not a url" },
      /^error: invalid configuration: METABASE_URL must be an http\(s\) URL/,
    ],
  ];
  for (const [env, message] of cases) {
    const result = await provision(fixture, env);
    assertExit(result, 2);
    assertStderrLine(result.stderr, message);
  }
});
