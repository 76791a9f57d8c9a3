/**
 * `DATABASE_URL` read as libpq reads it (issue 23): a bracketed IPv6 host connects; a password in
 * the query string is used as the password, never sent as a startup parameter nor printed; an
 * unknown or misspelt parameter is a usage error (exit 2) naming it; `sslmode=require` against a
 * server without TLS is terminal (exit 3) and says so. The warehouse is unchanged by each failure.
 */
import assert from "node:assert/strict";
import { assertExit, assertStderrLine, errorLine } from "../helpers/pipeline_fixture.ts";
import { startPlainProxy } from "../helpers/plain_proxy.ts";
import { warehouseState } from "../helpers/warehouse_state.ts";
import { recordChaos } from "./chaos_report.ts";
import { createChaosFixture, secondsSince } from "./chaos_fixture.ts";

const SECRET = "Query-secret-4242";

Deno.test("a DATABASE_URL with an IPv6 host in brackets connects, and the pipeline runs through it", async () => {
  const started = performance.now();
  await using fixture = await createChaosFixture();
  const direct = new URL(fixture.db.url);
  await using proxy = startPlainProxy({
    hostname: "::1",
    target: { hostname: direct.hostname, port: Number(direct.port || 5432) },
  });
  const url = new URL(fixture.db.url);
  url.host = `[::1]:${proxy.port}`;
  assert.match(url.href, /@\[::1\]:\d+\//);
  const env = { DATABASE_URL: url.href, USERS_PER_RUN: "200", API_PAGE_SIZE: "100" };
  assertExit(await fixture.run("migrate", [], env), 0);
  assertExit(await fixture.cli(["run", "extract_load", "--ds", "2026-09-10"], env), 0);
  assert.ok(proxy.connections > 0, "no connection went through [::1]");
  const rows = (await fixture.rawUsers()).rows;
  assert.equal(rows, 200);
  await recordChaos("warehouse", {
    scenario: "DATABASE_URL with a bracketed IPv6 host: migrate and extract_load through it",
    faultsInjected: 1,
    rowsExpected: 200,
    rowsFound: rows,
    seconds: secondsSince(started),
  });
});

Deno.test("connection parameters in the query: a password is used and never shown, a misspelt one is exit 2, sslmode=require without TLS exit 3", async () => {
  const started = performance.now();
  await using fixture = await createChaosFixture();
  assertExit(
    await fixture.cli(["run", "extract_load", "--ds", "2026-09-11"], {
      USERS_PER_RUN: "100",
    }),
    0,
  );
  const before = await warehouseState(fixture.db.sql);
  const base = new URL(fixture.db.url);
  const password = decodeURIComponent(base.password);
  base.password = "";
  const withQuery = (query: string) => `${base.href}?${query}`;
  const outputs: string[] = [];

  // The password in the query string is the password: the server would refuse an unknown
  // startup parameter named `password` (and a server that checks passwords, a missing one).
  const given = await fixture.run("migrate", [], {
    DATABASE_URL: withQuery(`password=${encodeURIComponent(password || SECRET)}`),
  });
  assertExit(given, 0);

  // Unreachable, with a secret in the query: exit 1, the secret hidden in the one error line.
  const unreachable = new URL(base.href);
  unreachable.port = "1";
  const hidden = await fixture.run("migrate", [], {
    DATABASE_URL: `${unreachable.href}?sslpassword=${SECRET}&password=${SECRET}&passfile=/x`,
  });
  assertExit(hidden, 1);
  assert.match(
    errorLine(hidden.stderr),
    /^error: cannot reach the warehouse at postgres:\/\/[^ ]*\?sslpassword=\*\*\*&password=\*\*\*&passfile=\*\*\*: /,
  );
  outputs.push(hidden.stdout, hidden.stderr);

  // A misspelt parameter: a usage error naming it and the likely one, never its value.
  const misspelt = await fixture.run("migrate", [], {
    DATABASE_URL: withQuery(`passwrd=${SECRET}`),
  });
  assertExit(misspelt, 2);
  assert.equal(
    errorLine(misspelt.stderr),
    'error: invalid configuration: DATABASE_URL has an unknown connection parameter "passwrd" (did you mean ' +
      '"password"?); libpq knows no such parameter: fix or remove it',
  );
  outputs.push(misspelt.stdout, misspelt.stderr);
  const unknown = await fixture.run("migrate", [], { DATABASE_URL: withQuery("colour=blue") });
  assertExit(unknown, 2);
  assertStderrLine(
    unknown.stderr,
    /^error: invalid configuration: DATABASE_URL has an unknown connection parameter "colour"; /,
  );
  const notHonoured = await fixture.run("migrate", [], { DATABASE_URL: withQuery("service=x") });
  assertExit(notHonoured, 2);
  assertStderrLine(
    notHonoured.stderr,
    /^error: invalid configuration: DATABASE_URL has the connection parameter "service", which randomuser-elt does not honour \(it reads host, port, .*\); remove it$/,
  );

  // sslmode=require against a server that declines TLS: terminal, and the message says so.
  await using proxy = startPlainProxy({
    hostname: "127.0.0.1",
    target: { hostname: base.hostname, port: Number(base.port || 5432) },
  });
  const plain = new URL(fixture.db.url);
  plain.port = String(proxy.port);
  const requireTls = await fixture.run("migrate", [], {
    DATABASE_URL: `${plain.href}?sslmode=require`,
  });
  assertExit(requireTls, 3);
  assert.match(
    errorLine(requireTls.stderr),
    /^error: the server at postgres:\/\/\S+\?sslmode=require does not accept TLS connections \(it declined the SSLRequest\), and DATABASE_URL asks for TLS \(sslmode=require\): turn ssl on in the server's postgresql.conf, or set sslmode=prefer in DATABASE_URL$/,
  );
  outputs.push(requireTls.stdout, requireTls.stderr);

  assert.deepEqual(await warehouseState(fixture.db.sql), before);
  const leaked = outputs.filter((text) => text.includes(SECRET)).length;
  assert.equal(leaked, 0, "a query-string secret was printed");
  await recordChaos("warehouse", {
    scenario: "DATABASE_URL query parameters: password used, secrets hidden, misspelt exit 2, " +
      "sslmode=require without TLS exit 3",
    faultsInjected: 5,
    rowsExpected: 100,
    rowsFound: (await fixture.rawUsers()).rows,
    secretsLeaked: leaked,
    seconds: secondsSince(started),
  });
});
