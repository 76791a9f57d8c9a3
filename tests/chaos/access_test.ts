/**
 * Access: the analyst role reads the marts and nothing else, no credential and no personal data; the warehouse password never shows
 * in anything the pipeline prints, logs or records; the sources build no SQL out of values; the
 * containers run as a non-root user.
 */
import assert from "node:assert/strict";
import { relative } from "node:path";
import { parse as parseYaml } from "yaml";
import { assertExit } from "../helpers/pipeline_fixture.ts";
import { testServerUrl } from "../helpers/test_warehouse.ts";
import { connect } from "../../tasks/warehouse/sql_client.ts";
import { recordChaos } from "./chaos_report.ts";
import { personalDataAnalystReads } from "../helpers/analyst_exposure.ts";
import { type ChaosFixture, createChaosFixture, delay, secondsSince } from "./chaos_fixture.ts";
import { PROJECT_ROOT, projectPath } from "../../tasks/shared/paths.ts";

const DS = "2026-06-01";
const FAST = { USERS_PER_RUN: "300", TASK_RETRY_DELAY: "10ms", TASK_RETRIES: "0" };

/** A login role made for one test, with a password that only it knows; dropped on dispose. */
interface SecretRole extends AsyncDisposable {
  readonly name: string;
  readonly password: string;
  /** 32 random hex digits inside the password: any form of the password that leaks holds it. */
  readonly token: string;
  /** `url` (a database of the test server) as this role, the password percent-encoded. */
  urlFor(url: string): string;
}

async function createSecretRole(): Promise<SecretRole> {
  const token = crypto.randomUUID().replaceAll("-", "");
  const name = `chaos_${token.slice(0, 12)}`;
  // Characters that must be percent-encoded in a URL, so every redaction path is exercised.
  const password = `Chaos-${token}-p@ss:w/rd?#%&= x`;
  const admin = connect(await testServerUrl(), { max: 1 });
  try {
    await admin.begin(async (tx) => {
      await tx`
        select set_config('chaos.role', ${name}, true), set_config('chaos.password', ${password}, true)`;
      await tx`
        do $$
        begin
          execute format('create role %I login superuser password %L',
                         current_setting('chaos.role'), current_setting('chaos.password'));
        end
        $$`;
    });
  } finally {
    await admin.end({ timeout: 1 });
  }
  return {
    name,
    password,
    token,
    urlFor(url) {
      const withRole = new URL(url);
      withRole.username = name;
      withRole.password = encodeURIComponent(password);
      return withRole.href;
    },
    async [Symbol.asyncDispose]() {
      const cleanup = connect(await testServerUrl(), { max: 1 });
      try {
        await cleanup`drop role if exists ${cleanup(name)}`;
      } finally {
        await cleanup.end({ timeout: 1 });
      }
    },
  };
}

/** A TCP port on 127.0.0.1 that nothing listens on. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Every file under `dir`, recursively. */
async function* filesUnder(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* filesUnder(path);
    else if (entry.isFile) yield path;
  }
}

/** Where `token` shows: captured output, files in the workspace, rows of `meta`. */
async function leaksOf(fixture: ChaosFixture, token: string): Promise<string[]> {
  const places: string[] = [];
  fixture.captured.forEach((text, index) => {
    if (text.includes(token)) {
      const at = text.indexOf(token);
      places.push(`captured output #${index}: …${text.slice(Math.max(0, at - 80), at + 120)}…`);
    }
  });
  const needle = new TextEncoder().encode(token);
  for await (const path of filesUnder(fixture.workspace.dir)) {
    const bytes = await Deno.readFile(path);
    if (indexOfBytes(bytes, needle) >= 0) places.push(relative(fixture.workspace.dir, path));
  }
  const tables = await fixture.db.sql<{ name: string }[]>`
    select table_name as name from information_schema.tables
    where table_schema = 'meta' order by 1`;
  for (const { name } of tables) {
    const [row] = await fixture.db.sql<{ n: number }[]>`
      select count(*)::int as n from ${fixture.db.sql("meta")}.${fixture.db.sql(name)} as t
      where to_jsonb(t)::text like ${`%${token}%`}`;
    if ((row?.n ?? 0) > 0) places.push(`meta.${name} (${row?.n} rows)`);
  }
  return places;
}

function indexOfBytes(haystack: Uint8Array, needle: Uint8Array): number {
  const first = needle[0];
  outer: for (
    let i = haystack.indexOf(first ?? 0);
    i >= 0;
    i = haystack.indexOf(first ?? 0, i + 1)
  ) {
    if (i + needle.length > haystack.length) return -1;
    for (let j = 1; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** Command lines of every process on the machine that holds `token`. */
async function processesShowing(token: string): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const cmdline = await Deno.readTextFile(`/proc/${entry.name}/cmdline`).catch(() => "");
    if (cmdline.includes(token)) found.push(cmdline.replaceAll("\0", " "));
  }
  return found;
}

Deno.test("the analyst role reads the marts and cannot read raw or meta or write anywhere", async () => {
  const started = performance.now();
  await using fixture = await createChaosFixture();
  const analystPassword = `analyst-${crypto.randomUUID()}`;
  assertExit(
    await fixture.cli(["run", "all", "--ds", DS], { ...FAST, ANALYST_PASSWORD: analystPassword }),
    0,
  );
  const url = new URL(fixture.db.url);
  url.username = "analyst";
  url.password = encodeURIComponent(analystPassword);
  const analyst = connect(url.href, { max: 1 });
  const refused: string[] = [];
  try {
    const [facts] = await analyst`select count(*)::int as n from analytics.fct_registrations`;
    assert.equal(facts?.n, 300);
    const [users] = await analyst`select count(*)::int as n from analytics.dim_user`;
    assert.equal(users?.n, 300);
    const attempts = {
      "read raw.users": analyst`select count(*) from raw.users`,
      "read meta.pipeline_runs": analyst`select count(*) from meta.pipeline_runs`,
      "read meta.task_tries": analyst`select count(*) from meta.task_tries`,
      "read meta.task_try_output": analyst`select count(*) from meta.task_try_output`,
      "read meta.load_batches": analyst`select count(*) from meta.load_batches`,
      "read meta.dbt_runs": analyst`select count(*) from meta.dbt_runs`,
      "read meta.schema_migrations": analyst`select count(*) from meta.schema_migrations`,
      "read the staging view": analyst`select count(*) from staging.stg_randomuser__users`,
      "read names and emails in staging":
        analyst`select first_name, last_name, email from staging.stg_randomuser__users`,
      "insert into a mart": analyst`insert into analytics.dim_gender (gender_key, gender)
        values ('x', 'x')`,
      "update a mart": analyst`update analytics.dim_user set title = 'x'`,
      "delete from a mart": analyst`delete from analytics.fct_registrations`,
      "truncate a mart": analyst`truncate analytics.fct_registrations`,
      "alter a mart": analyst`alter table analytics.fct_registrations add column x int`,
      "drop a mart": analyst`drop table analytics.dim_user cascade`,
      "create in analytics": analyst`create table analytics.mine (x int)`,
      "create in public": analyst`create table public.mine (x int)`,
      "create in raw": analyst`create table raw.mine (x int)`,
      "create in meta": analyst`create table meta.mine (x int)`,
      "create a schema": analyst`create schema mine`,
      "write raw.users": analyst`insert into raw.users (login_uuid, _ds, _batch_id, _loaded_at)
        values (gen_random_uuid(), current_date, 'x', now())`,
    };
    for (const [what, attempt] of Object.entries(attempts)) {
      await assert.rejects(attempt, /permission denied|must be owner/, `the analyst could ${what}`);
      refused.push(what);
    }
  } finally {
    await analyst.end({ timeout: 1 });
  }
  // And from the catalog, for every relation and schema there is (marts included).
  const grants = await fixture.db.sql<
    { relation: string; can_read: boolean; can_write: boolean }[]
  >`
    select format('%I.%I', n.nspname, c.relname) as relation,
           has_table_privilege('analyst', c.oid, 'select') as can_read,
           has_table_privilege('analyst', c.oid,
             'insert, update, delete, truncate, references, trigger') as can_write
    from pg_class as c join pg_namespace as n on n.oid = c.relnamespace
    where c.relkind in ('r', 'v', 'm', 'p', 'f', 'S')
      and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_'`;
  assert.ok(grants.some((grant) => grant.relation.startsWith("raw.")));
  assert.deepEqual(grants.filter((grant) => grant.can_write).map((grant) => grant.relation), []);
  assert.deepEqual(
    grants.filter((grant) => grant.can_read && !grant.relation.startsWith("analytics."))
      .map((grant) => grant.relation),
    [],
  );
  // Nor any credential or personal data, by column name or by value, in any schema it reads.
  assert.deepEqual(await personalDataAnalystReads(fixture.db.sql), []);
  const [creates] = await fixture.db.sql<{ schemas: string[]; database: boolean }[]>`
    select array(select nspname::text from pg_namespace
                 where has_schema_privilege('analyst', oid, 'create')) as schemas,
           has_database_privilege('analyst', current_database(), 'create') as database`;
  assert.deepEqual(creates, { schemas: [], database: false });
  await recordChaos("access", {
    scenario: "analyst: marts only (denied statements + catalog audit)",
    faultsInjected: refused.length,
    seconds: secondsSince(started),
  });
});

Deno.test("the warehouse password never shows in output, status, logs, the ledger or error messages", async () => {
  const started = performance.now();
  await using role = await createSecretRole();
  await using fixture = await createChaosFixture();
  const secretUrl = role.urlFor(fixture.db.url);
  const env = { ...FAST, DATABASE_URL: secretUrl };
  const downUrl = new URL(secretUrl);
  downUrl.port = String(closedPort());
  const noDatabaseUrl = new URL(secretUrl);
  noDatabaseUrl.pathname = "/no_such_database";
  const wrongPasswordUrl = new URL(secretUrl);
  wrongPasswordUrl.password = encodeURIComponent(`${role.password}-wrong`);

  // The happy path, watching the command lines of every process while it runs.
  const processes: string[] = [];
  let stop = false;
  const watching = (async () => {
    while (!stop) {
      processes.push(...await processesShowing(role.token));
      await delay(200);
    }
  })();
  try {
    assertExit(await fixture.cli(["run", "all", "--ds", DS], env), 0);
  } finally {
    stop = true;
    await watching;
  }
  assert.deepEqual(processes, [], "a command line holds the password");
  assertExit(await fixture.cli(["status"], env), 0);
  assertExit(await fixture.cli(["status", "--json"], env), 0);
  assertExit(await fixture.run("migrate", [], env), 0);
  assertExit(await fixture.run("load", ["--ds", DS], env), 0);

  // Failures, each with its own message.
  const failures: Array<[string, () => Promise<{ code: number }>]> = [
    ["load of a ds without a CSV", () => fixture.run("load", ["--ds", "2026-06-09"], env)],
    [
      "transform before extract_load",
      () => fixture.cli(["run", "transform", "--ds", "2026-06-09"], env),
    ],
    ["extract_load against a failing API", () => {
      fixture.api.faults.add({ times: Infinity, fault: { kind: "status", status: 503 } });
      return fixture.cli(["run", "extract_load", "--ds", "2026-06-10"], {
        ...env,
        API_RETRIES: "0",
      });
    }],
    ["a load that COPY rejects", async () => {
      fixture.api.faults.clear();
      const csv = fixture.files(DS).csv;
      const text = await Deno.readTextFile(csv);
      await Deno.writeTextFile(csv, text.replace(/,(-?\d+\.\d+),(-?\d+\.\d+),/, ",north,$2,"));
      return fixture.run("load", ["--ds", DS, "--unvouched"], env);
    }],
    ["a failing dbt test", async () => {
      // A hand edit of raw.users is no load batch: only a full refresh takes it in.
      await fixture.db.sql`
        update raw.users set dob_age = 200 where id = (select id from raw.users limit 1)`;
      return fixture.run("dbt_build", ["--ds", DS, "--full-refresh"], env);
    }],
    [
      "cli run with the warehouse down",
      () =>
        fixture.cli(["run", "extract_load", "--ds", DS], { ...env, DATABASE_URL: downUrl.href }),
    ],
    [
      "migrate with the warehouse down",
      () => fixture.run("migrate", [], { ...env, DATABASE_URL: downUrl.href }),
    ],
    [
      "status with the warehouse down",
      () => fixture.cli(["status"], { ...env, DATABASE_URL: downUrl.href }),
    ],
    [
      "migrate into a missing database",
      () => fixture.run("migrate", [], { ...env, DATABASE_URL: noDatabaseUrl.href }),
    ],
  ];
  for (const [what, attempt] of failures) {
    const result = await attempt();
    assert.notEqual(result.code, 0, `${what} did not fail`);
  }
  // With a wrong password: refused where the server checks passwords, accepted under trust.
  const wrong = await fixture.run("migrate", [], { ...env, DATABASE_URL: wrongPasswordUrl.href });
  assert.ok(wrong.code === 0 || /refused the login/.test(wrong.stderr), wrong.stderr);

  const leaks = await leaksOf(fixture, role.token);
  await recordChaos("access", {
    scenario: "a dedicated role's password through runs, status, logs, ledger and " +
      `${failures.length + 1} failures`,
    faultsInjected: failures.length + 1,
    secretsLeaked: leaks.length,
    seconds: secondsSince(started),
  });
  assert.deepEqual(leaks, [], "the password leaked");
});

Deno.test("a DATABASE_URL mistyped around its password is refused without printing the password", async () => {
  const started = performance.now();
  await using fixture = await createChaosFixture();
  const token = crypto.randomUUID().replaceAll("-", "");
  const port = closedPort();
  // Common mistakes: a password not percent-encoded, a slash too few, no scheme at all.
  const urls = [
    `postgres://pipeline:${token}#1@127.0.0.1:${port}/warehouse`,
    `postgres://pipeline:${token}/1@127.0.0.1:${port}/warehouse`,
    `postgres://pipeline:${token}?1@127.0.0.1:${port}/warehouse`,
    `postgres:/pipeline:${token}@127.0.0.1:${port}/warehouse`,
    `pipeline:${token}@127.0.0.1:${port}/warehouse`,
  ];
  const leaked: string[] = [];
  for (const url of urls) {
    for (const command of [["migrate"], ["cli", "run", "extract_load", "--ds", DS]]) {
      const result = command[0] === "cli"
        ? await fixture.cli(command.slice(1), { DATABASE_URL: url })
        : await fixture.run(command[0] ?? "migrate", [], { DATABASE_URL: url });
      assert.notEqual(result.code, 0, `${command.join(" ")} with ${url} succeeded`);
      const output = result.stdout + result.stderr;
      if (output.includes(token)) {
        leaked.push(
          `${command.join(" ")} with ${url.replace(token, "<password>")}: ${
            output.trim().split("\n").at(-1)?.replace(token, "<password>")
          }`,
        );
      }
    }
  }
  await recordChaos("access", {
    scenario: "mistyped DATABASE_URLs: config and connection errors",
    faultsInjected: urls.length * 2,
    secretsLeaked: leaked.length,
    seconds: secondsSince(started),
  });
  assert.deepEqual(leaked, [], "error messages printed the password");
});

/** SQL-shaped text: a statement or clause, not just a word that happens to be a keyword. */
const SQL_TEXT =
  /\b(select\b[\s\S]*\bfrom\b|insert\s+into\b|update\s+[\w."]+\s+set\b|delete\s+from\b|create\s+(temp(orary)?\s+|unique\s+)?(table|schema|role|index|view|database|function)\b|alter\s+(table|role|schema|database|default)\b|drop\s+(table|schema|role|database|view|index|owned)\b|grant\s+\w+|revoke\s+\w+|copy\s+[\w."]+\s*(\(|from\b|to\b)|truncate\s+[\w."]+|set\s+(local\s+|session\s+)?role\b|where\s+[\w."]+\s*(=|<|>|\bin\b|\blike\b|\bis\b))/i;

/**
 * Places where SQL text is passed to `unsafe()` on purpose, each reviewed: the SQL is a file of
 * this repository (migrations, and the dbt analyses the report runs as the read-only analyst),
 * never a value.
 */
const REVIEWED_UNSAFE = new Set([
  // Migrations are reviewed .sql files of the repository, run as simple (multi-statement) queries.
  "tasks/warehouse/migrations.ts: tx.unsafe(migration.sql)",
  // The analyses are dbt's compiled .sql files of the repository, run read-only as the analyst.
  "tasks/analytics/report_questions.ts: tx.unsafe(analysis.sql)",
  "tasks/analytics/analysis_columns.ts: tx.unsafe(analysis.sql)",
]);

const sqlBuildingRule: Deno.lint.Plugin = {
  name: "chaos",
  rules: {
    "sql-from-values": {
      create(context) {
        const text = (node: Deno.lint.Node) => context.sourceCode.getText(node);
        /** The operands of a chain of `+`, left to right. */
        const operands = (node: Deno.lint.Expression | Deno.lint.PrivateIdentifier) => {
          const found: Array<Deno.lint.Expression | Deno.lint.PrivateIdentifier> = [];
          const walk = (part: Deno.lint.Expression | Deno.lint.PrivateIdentifier) => {
            if (part.type === "BinaryExpression" && part.operator === "+") {
              walk(part.left);
              walk(part.right);
            } else found.push(part);
          };
          walk(node);
          return found;
        };
        return {
          TemplateLiteral(node) {
            if (node.parent.type === "TaggedTemplateExpression") return;
            if (node.expressions.length === 0) return;
            const statics = node.quasis.map((quasi) => quasi.cooked ?? quasi.raw).join(" ? ");
            if (SQL_TEXT.test(statics)) {
              context.report({ node, message: `SQL built in an untagged template: ${text(node)}` });
            }
          },
          BinaryExpression(node) {
            if (node.operator !== "+" || node.parent.type === "BinaryExpression") return;
            const parts = operands(node);
            const literal = parts.filter((part) =>
              (part.type === "Literal" && typeof part.value === "string") ||
              part.type === "TemplateLiteral"
            );
            const sqlText = literal.map((part) => text(part)).join(" ");
            if (literal.length < parts.length && SQL_TEXT.test(sqlText)) {
              context.report({ node, message: `SQL built by concatenation: ${text(node)}` });
            }
          },
          CallExpression(node) {
            const callee = node.callee;
            if (callee.type !== "MemberExpression" || callee.property.type !== "Identifier") return;
            if (callee.property.name !== "unsafe") return;
            const file = relative(PROJECT_ROOT, context.filename);
            if (REVIEWED_UNSAFE.has(`${file}: ${text(node)}`)) return;
            context.report({
              node,
              message: `unsafe() outside the reviewed places: ${text(node)}`,
            });
          },
        };
      },
    },
  },
};

Deno.test("no SQL is built from values in tasks/ or pipelines/", async () => {
  const started = performance.now();
  const findings: string[] = [];
  let files = 0;
  for (const dir of ["tasks", "pipelines"]) {
    for await (const path of filesUnder(projectPath(dir))) {
      if (!path.endsWith(".ts")) continue;
      files++;
      const source = await Deno.readTextFile(path);
      for (const diagnostic of Deno.lint.runPlugin(sqlBuildingRule, path, source)) {
        const line = source.slice(0, diagnostic.range[0]).split("\n").length;
        findings.push(
          `${relative(PROJECT_ROOT, path)}:${line}: ${diagnostic.message.replace(/\s+/g, " ")}`,
        );
      }
    }
  }
  assert.ok(files >= 10, `read only ${files} source files`);
  await recordChaos("access", {
    scenario: `${files} source files scanned for SQL built from values`,
    faultsInjected: 0,
    seconds: secondsSince(started),
  });
  assert.deepEqual(findings, []);
});

Deno.test("the rule that finds SQL built from values finds it", () => {
  const source = [
    "const a = sql`select * from t where id = ${id}`;", // tagged: a parameter, fine
    "const b = `select * from t where id = ${id}`;",
    "const c = 'delete from t where id = ' + id;",
    "const d = sql.unsafe(query);",
    "const e = `page ${n} of ${m}: select a file`;", // a message, not SQL
    "const f = tx<{ n: number }[]>`select count(*) from ${tx(table)}`;",
  ].join("\n");
  const lines = Deno.lint.runPlugin(sqlBuildingRule, projectPath("tasks", "example.ts"), source)
    .map((diagnostic) => source.slice(0, diagnostic.range[0]).split("\n").length);
  assert.deepEqual(lines.sort(), [2, 3, 4]);
});

Deno.test("the containers run as a non-root user", async () => {
  const dockerfile = await Deno.readTextFile(projectPath("Dockerfile"));
  const instructions = dockerfile.split("\n").map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"));
  const finalStage = instructions.slice(
    instructions.findLastIndex((line) => /^FROM\s/i.test(line)),
  );
  const user = finalStage.filter((line) => /^USER\s/i.test(line)).at(-1)?.split(/\s+/)[1];
  assert.ok(user, "the final stage of the Dockerfile sets no USER: it runs as root");
  assert.doesNotMatch(user, /^(root|0)(:|$)/, `the image runs as ${user}`);

  const compose = parseYaml(await Deno.readTextFile(projectPath("docker-compose.yml"))) as {
    services: Record<string, { user?: string | number; build?: unknown; image?: string }>;
  };
  const root = Object.entries(compose.services)
    .filter(([, service]) =>
      service.user !== undefined && /^(root|0)(:|$)/.test(String(service.user))
    )
    .map(([name]) => name);
  assert.deepEqual(root, [], "compose services that run as root");
  const built = Object.entries(compose.services).filter(([, service]) =>
    service.build !== undefined || service.image === "randomuser-elt:latest"
  );
  assert.ok(built.length >= 1, "no compose service runs the project's image");
  await recordChaos("access", { scenario: `Dockerfile USER ${user}; compose without root` });
});
