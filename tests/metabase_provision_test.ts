/**
 * Provisioning against the Metabase stand-in (tests/fake_metabase), which is as strict as Metabase
 * for the calls we make (tests/fake_metabase_test.ts shows it) — not a real Metabase, which
 * cannot run here. The warehouse side is real: the stand-in logs in as the analyst and syncs the
 * marts that a real pipeline run built, and the descriptions come from dbt's own manifest.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadAnalyses } from "../tasks/analytics/analyses.ts";
import { connect } from "../tasks/warehouse/sql_client.ts";
import { type FakeMetabase, startFakeMetabase } from "./fake_metabase/server.ts";
import { analysisQuestions } from "./helpers/analysis_questions.ts";
import {
  assertExit,
  assertStderrLine,
  createPipelineFixture,
  type PipelineFixture,
} from "./helpers/pipeline_fixture.ts";
import { testServerUrl } from "./helpers/test_warehouse.ts";

const ANALYST_PASSWORD = "analyst-pass-1";
const ADMIN = {
  METABASE_ADMIN_EMAIL: "admin@example.com",
  METABASE_ADMIN_PASSWORD: "Admin-pass-123",
};

/**
 * What each analysis' card must say about its chart: the same roles as the report's chart (the
 * first label column on the axis, the series, the measure and its companion), by name.
 */
const EXPECTED_CHARTS: Record<string, { display: string; settings: Record<string, unknown> }> = {
  population_by_age_group: {
    display: "bar",
    settings: { "graph.dimensions": ["age_group"], "graph.metrics": ["users"] },
  },
  gender_split_by_nationality: {
    display: "bar",
    settings: {
      "graph.dimensions": ["country", "gender"],
      "graph.metrics": ["share_pct"],
      "stackable.stack_type": "stacked",
    },
  },
  age_by_nationality: {
    display: "bar",
    settings: { "graph.dimensions": ["country"], "graph.metrics": ["average_age", "median_age"] },
  },
  registrations_by_year: {
    display: "line",
    settings: { "graph.dimensions": ["registration_year"], "graph.metrics": ["registrations"] },
  },
  age_distribution_by_gender: {
    display: "bar",
    settings: { "graph.dimensions": ["age_group", "gender"], "graph.metrics": ["users"] },
  },
  top_countries: {
    display: "bar",
    settings: { "graph.dimensions": ["country"], "graph.metrics": ["users"] },
  },
  top_cities: {
    display: "bar",
    settings: { "graph.dimensions": ["city"], "graph.metrics": ["users"] },
  },
  long_registered_share_by_nationality: {
    display: "bar",
    settings: { "graph.dimensions": ["country"], "graph.metrics": ["share_pct"] },
  },
  users_by_region: {
    display: "pie",
    settings: { "pie.dimension": "region", "pie.metric": "users" },
  },
  users_by_load_date: {
    display: "line",
    settings: { "graph.dimensions": ["load_date"], "graph.metrics": ["users"] },
  },
};

const NUMBER_TYPES = new Set([20, 21, 23, 700, 701, 1700]);

async function migrate(fixture: PipelineFixture) {
  assertExit(await fixture.run("migrate", [], { ANALYST_PASSWORD }), 0);
}

function provision(fixture: PipelineFixture, env: Record<string, string>, args: string[] = []) {
  return fixture.run("metabase_provision", args, { ...ADMIN, ANALYST_PASSWORD, ...env });
}

function since(metabase: FakeMetabase, start: number): string[] {
  return metabase.requests.slice(start);
}

/** The dimension and metric columns a card's settings name. */
function chartColumns(settings: Record<string, unknown>): { dims: string[]; metrics: string[] } {
  const list = (value: unknown) =>
    (Array.isArray(value) ? value : value ? [value] : []) as string[];
  return {
    dims: [...list(settings["graph.dimensions"]), ...list(settings["pie.dimension"])],
    metrics: [...list(settings["graph.metrics"]), ...list(settings["pie.metric"])],
  };
}

/** dbt's descriptions of the marts, read from the manifest apart from the code under test. */
async function manifestDescriptions(dataDir: string) {
  const manifest = JSON.parse(
    await Deno.readTextFile(join(dataDir, "dbt", "target", "manifest.json")),
  ) as {
    nodes: Record<string, {
      resource_type: string;
      name: string;
      schema: string;
      description: string;
      columns: Record<string, { name: string; description: string }>;
    }>;
  };
  return Object.values(manifest.nodes).filter((node) =>
    node.schema === "analytics" && ["model", "seed"].includes(node.resource_type)
  );
}

Deno.test("provisioning draws every analysis as the report does, syncs dbt's descriptions, and follows each transform", async (t) => {
  await using fixture = await createPipelineFixture();
  await using metabase = startFakeMetabase({ unhealthyChecks: 2 });
  const passwordFile = join(fixture.workspace.dir, "metabase-setup", "admin_password");
  const env = {
    METABASE_URL: metabase.url,
    METABASE_ADMIN_PASSWORD: "",
    METABASE_ADMIN_PASSWORD_FILE: passwordFile,
    METABASE_WAIT: "30s",
    ANALYST_PASSWORD,
  };
  const analyses = await loadAnalyses();

  await t.step("a transform before Metabase's setup leaves Metabase alone", async () => {
    const run = await fixture.cli(["run", "all", "--ds", "2026-01-02"], {
      ...env,
      METABASE_SYNC: "true",
      USERS_PER_RUN: "2000",
      TASK_RETRY_DELAY: "50ms",
    });
    assertExit(run, 0);
    assert.ok(metabase.requests.includes("GET /api/session/properties"), "the task ran");
    assert.deepEqual(metabase.requests.filter((r) => !r.startsWith("GET")), []);
    await assert.rejects(Deno.stat(passwordFile), Deno.errors.NotFound);
  });

  await t.step("setup generates the admin password into the password file", async () => {
    const first = await provision(fixture, env);
    assertExit(first, 0);
    assert.match(
      first.stdout,
      new RegExp(
        `setup=completed admin_password=.*generated into .*admin_password.* ` +
          `cards_created=${analyses.length} cards_updated=0 cards_unchanged=0 .*` +
          `dashcards=${analyses.length}`,
      ),
    );
    const stat = await Deno.stat(passwordFile);
    assert.equal((stat.mode ?? 0) & 0o777, 0o600, "only its owner reads the password");
    const password = (await Deno.readTextFile(passwordFile)).trim();
    assert.ok(password.length >= 20 && /\d/.test(password), "a long password with a digit");
    assert.ok(!first.stdout.includes(password) && !first.stderr.includes(password), "leaked");
    const properties = await (await fetch(`${metabase.url}/api/session/properties`)).json();
    assert.deepEqual([properties["has-user-setup"], properties["setup-token"]], [true, null]);
  });

  await t.step(
    "every card names result columns the analysis returns, as its chart needs",
    async () => {
      const questions = await analysisQuestions();
      assert.equal(metabase.databases.size, 1);
      const [database] = metabase.databases.values();
      assert.deepEqual(
        [database?.name, (database?.details as Record<string, unknown>).user],
        ["randomuser-elt warehouse", "analyst"],
      );
      assert.equal(metabase.collections.size, 1);
      assert.equal(metabase.cards.size, analyses.length);
      assert.deepEqual(Object.keys(EXPECTED_CHARTS).sort(), analyses.map((a) => a.name).sort());
      const cards = [...metabase.cards.values()];
      for (const analysis of analyses) {
        const source = `dbt_project/analyses/${analysis.name}.sql`;
        const card = cards.find((c) => String(c.description).endsWith(`(${source})`));
        assert.ok(card, `no card for ${analysis.name}`);
        assert.equal(card.name, questions.get(analysis.name)?.question);
        // Stored as Metabase 0.57+ stores it: MBQL 5 with one native stage.
        assert.deepEqual(card.dataset_query, {
          "lib/type": "mbql/query",
          database: database?.id,
          stages: [{ "lib/type": "mbql.stage/native", native: analysis.sql }],
        });
        const expected = EXPECTED_CHARTS[analysis.name];
        const settings = card.visualization_settings as Record<string, unknown>;
        assert.equal(card.display, expected?.display, analysis.name);
        for (const [key, value] of Object.entries(expected?.settings ?? {})) {
          assert.deepEqual(settings[key], value, `${analysis.name}: ${key}`);
        }
        // The named columns are what the warehouse says the query returns.
        const described = await fixture.db.sql.unsafe(analysis.sql).describe();
        const types = new Map(described.columns.map((c) => [c.name, c.type]));
        const { dims, metrics } = chartColumns(settings);
        assert.ok(dims.length > 0 && metrics.length > 0, `${analysis.name} has both`);
        for (const column of [...dims, ...metrics]) {
          assert.ok(types.has(column), `${analysis.name}: ${column} is not a result column`);
        }
        for (const column of metrics) {
          assert.ok(
            NUMBER_TYPES.has(types.get(column) ?? 0),
            `${analysis.name}: ${column} numeric`,
          );
        }
      }
    },
  );

  await t.step("the dashboard is found through its collection and fits the grid", () => {
    assert.equal(metabase.dashboards.size, 1);
    const [dashboard] = metabase.dashboards.values();
    assert.equal(dashboard?.dashcards.length, analyses.length);
    assert.deepEqual(
      new Set(dashboard?.dashcards.map((d) => d.card_id)),
      new Set([...metabase.cards.keys()]),
    );
    for (const dashcard of dashboard?.dashcards ?? []) {
      assert.ok(Number(dashcard.col) + Number(dashcard.size_x) <= 24);
    }
    assert.ok(!metabase.requests.includes("GET /api/dashboard"), "the deprecated list");
  });

  await t.step("the marts' tables and columns carry dbt's descriptions", async () => {
    const nodes = await manifestDescriptions(fixture.workspace.dataDir);
    assert.ok(nodes.length >= 7, "the marts are in the manifest");
    const tables = [...metabase.tables.values()];
    let described = 0;
    for (const node of nodes) {
      const table = tables.find((t) => t.schema === "analytics" && t.name === node.name);
      assert.ok(table, `Metabase synced analytics.${node.name}`);
      if (node.description.trim()) assert.equal(table.description, node.description.trim());
      for (const column of Object.values(node.columns)) {
        if (!column.description.trim()) continue;
        const field: Record<string, unknown> | undefined = table.fields.find((f) =>
          f.name === column.name
        );
        assert.equal(field?.description, column.description.trim(), `${node.name}.${column.name}`);
        described++;
      }
    }
    assert.ok(described > 50, `${described} described columns`);
    const state = await (await fetch(`${metabase.url}/_fake/state`)).json();
    const fact = state.tables.find((table: { name: string }) => table.name === "fct_registrations");
    assert.match(fact.description, /Grain/);
  });

  await t.step(
    "the next transform provisions again, changing nothing that is unchanged",
    async () => {
      const start = metabase.requests.length;
      const run = await fixture.cli(["run", "transform", "--ds", "2026-01-02"], {
        ...env,
        METABASE_SYNC: "true",
      });
      assertExit(run, 0);
      const requests = since(metabase, start);
      assert.ok(requests.includes("POST /api/session"), "logged in with the password file");
      assert.ok(requests.includes("POST /api/database/1/sync_schema"), "synced again");
      assert.deepEqual(
        requests.filter((r) => /^(POST \/api\/(setup|card)|PUT \/api\/(card|table|field))/.test(r)),
        [],
      );
      const again = await provision(fixture, env);
      assertExit(again, 0);
      assert.match(
        again.stdout,
        new RegExp(
          `setup="already done" .*cards_created=0 cards_updated=0 cards_unchanged=${analyses.length}` +
            ` .*tables_described=0 fields_described=0 descriptions_unchanged=\\d+`,
        ),
      );
      assert.deepEqual([metabase.cards.size, metabase.dashboards.size], [analyses.length, 1]);
    },
  );

  await t.step("two provisionings at once create each card once", async () => {
    await using fresh = startFakeMetabase({
      admin: { email: ADMIN.METABASE_ADMIN_EMAIL, password: ADMIN.METABASE_ADMIN_PASSWORD },
    });
    const runs = await Promise.all(
      [0, 1].map(() => provision(fixture, { ...env, METABASE_URL: fresh.url, ...ADMIN })),
    );
    for (const run of runs) assertExit(run, 0);
    assert.deepEqual([fresh.cards.size, fresh.dashboards.size], [analyses.length, 1]);
  });

  await t.step("a Metabase before 0.57 gets its cards in legacy MBQL", async () => {
    await using old = startFakeMetabase({ version: "v0.50.3" });
    assertExit(await provision(fixture, { ...env, METABASE_URL: old.url, ...ADMIN }), 0);
    const [card] = old.cards.values();
    assert.equal((card?.dataset_query as { type: string }).type, "native");
  });
});

Deno.test("an admin password Metabase would refuse is a usage error before setup, naming the rule", async () => {
  await using fixture = await createPipelineFixture();
  await migrate(fixture);
  await using metabase = startFakeMetabase();
  const cases: Array<[string, RegExp]> = [
    ["Metabase-admin", /it has no digit/],
    ["ab1cd", /it has fewer than 6 characters/],
  ];
  for (const [password, rule] of cases) {
    const result = await provision(fixture, {
      METABASE_URL: metabase.url,
      METABASE_ADMIN_PASSWORD: password,
    });
    assertExit(result, 2);
    assertStderrLine(
      result.stderr,
      new RegExp(
        `^error: METABASE_ADMIN_PASSWORD would be refused by Metabase's setup: ${rule.source}`,
      ),
    );
    assert.ok(!result.stderr.includes(password), "the password leaked");
  }
  assert.deepEqual(metabase.requests.filter((r) => !r.startsWith("GET")), []);
  assert.equal(metabase.state().hasUserSetup, false);
});

Deno.test("with --if-set-up a Metabase that has not had its setup is left alone", async () => {
  await using fixture = await createPipelineFixture();
  await migrate(fixture);
  await using metabase = startFakeMetabase();
  const result = await provision(fixture, { METABASE_URL: metabase.url }, ["--if-set-up"]);
  assertExit(result, 0);
  assert.match(result.stdout, /setup=skipped/);
  assert.deepEqual(metabase.requests.filter((r) => !r.startsWith("GET")), []);
});

Deno.test("a Metabase set up already, with no password given or stored, is a clear error", async () => {
  await using fixture = await createPipelineFixture();
  await migrate(fixture);
  await using metabase = startFakeMetabase({
    admin: { email: "admin@example.com", password: "another-password-1" },
  });
  const file = join(fixture.workspace.dir, "nowhere", "admin_password");
  const result = await provision(fixture, {
    METABASE_URL: metabase.url,
    METABASE_ADMIN_PASSWORD: "",
    METABASE_ADMIN_PASSWORD_FILE: file,
  });
  assertExit(result, 3);
  assertStderrLine(
    result.stderr,
    /^error: Metabase is already set up, but .*admin_password \(METABASE_ADMIN_PASSWORD_FILE\) holds no password: set METABASE_ADMIN_PASSWORD/,
  );
  await assert.rejects(Deno.stat(file), Deno.errors.NotFound, "no password was invented");
});

Deno.test("a wrong admin password is a clear error and changes nothing", async () => {
  await using fixture = await createPipelineFixture();
  await migrate(fixture);
  await using metabase = startFakeMetabase({
    admin: { email: "admin@example.com", password: "another-password-1" },
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
  await migrate(fixture);
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
  await migrate(fixture);
  await using metabase = startFakeMetabase({ version: "v0.41.2" });
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
  await migrate(fixture);
  // The stand-in logs in for real; it can only refuse where the server checks passwords.
  const url = new URL(fixture.db.url);
  url.username = "analyst";
  url.password = "wrong-password-9";
  const probe = connect(url.href, { max: 1 });
  const checksPasswords = await probe`select 1`.then(() => false, () => true);
  await probe.end();
  if (!checksPasswords) return; // a trust-auth TEST_DATABASE_URL accepts any password
  await using metabase = startFakeMetabase();
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
    [
      { METABASE_ADMIN_PASSWORD: "" },
      /^error: METABASE_ADMIN_PASSWORD or METABASE_ADMIN_PASSWORD_FILE is required/,
    ],
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

Deno.test("metabase:database creates Metabase's database once and finds it after", async () => {
  await using fixture = await createPipelineFixture();
  const name = `mb_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  const server = connect(await testServerUrl(), { max: 1 });
  try {
    const first = await fixture.run("metabase_database", [], { METABASE_DB_NAME: name });
    assertExit(first, 0);
    assert.match(first.stdout, new RegExp(`database=${name} state=created`));
    const [row] = await server`select 1 as found from pg_database where datname = ${name}`;
    assert.equal(row?.found, 1);
    const second = await fixture.run("metabase_database", [], { METABASE_DB_NAME: name });
    assertExit(second, 0);
    assert.match(second.stdout, new RegExp(`database=${name} state=exists`));
  } finally {
    await server`drop database if exists ${server(name)} with (force)`;
    await server.end();
  }
});
