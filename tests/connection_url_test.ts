import assert from "node:assert/strict";
import { parseConnectionUrl } from "../tasks/shared/connection_url.ts";
import { urlPasswords } from "../tasks/shared/config.ts";
import { redactUrl } from "../tasks/shared/redact_url.ts";
import { dbtConnection } from "../tasks/transform/dbt_runner.ts";

Deno.test("a connection URL is read as libpq reads it: brackets, several hosts, query parameters", () => {
  assert.deepEqual(parseConnectionUrl("postgres://u@[::1]:5433/db"), {
    hosts: [{ host: "::1", port: 5433 }],
    user: "u",
    password: undefined,
    database: "db",
    params: {},
  });
  const many = parseConnectionUrl(
    "postgresql://a%40b:p%3Ass@h1,[fe80::1]:6000/d%20b?sslmode=require",
  );
  assert.deepEqual(many.hosts, [{ host: "h1", port: 5432 }, { host: "fe80::1", port: 6000 }]);
  assert.equal(many.user, "a@b");
  assert.equal(many.password, "p:ss");
  assert.equal(many.database, "d b");
  assert.deepEqual(many.params, { sslmode: "require" });
  const query = parseConnectionUrl("postgres:///db?host=/run/pg&port=5499&user=x&password=y");
  assert.deepEqual(query.hosts, [{ host: "/run/pg", port: 5499 }]);
  assert.equal(query.user, "x");
  assert.equal(query.password, "y");
  assert.deepEqual(query.params, {});
});

Deno.test("a connection URL with an unknown, unhonoured or bad part is refused naming it, not its value", () => {
  const refused: Array<[string, RegExp]> = [
    [
      "postgres://h/db?sslpasword=hunter2",
      /unknown connection parameter "sslpasword" \(did you mean "sslpassword"\?\)/,
    ],
    ["postgres://h/db?service=x", /"service", which randomuser-elt does not honour/],
    ["postgres://h/db?sslmode=always", /sslmode=always; it must be one of disable, allow/],
    ["postgres://h:99999/db", /a port that is not a number from 1 to 65535/],
    ["postgres://[nope]/db", /in brackets that is not an IPv6 address/],
    ["mysql://h/db", /must be a URL such as postgres:/],
    ["postgres://u:hunter2/1@h/db", /a port that is not a number/],
    ["postgres://u:hunter2?1@h/db", /a query string that is not name=value pairs/],
  ];
  for (const [url, pattern] of refused) {
    assert.throws(() => parseConnectionUrl(url), (error: Error) => {
      assert.ok(error instanceof RangeError);
      assert.match(error.message, pattern);
      assert.ok(!error.message.includes("hunter2"));
      return true;
    });
  }
});

Deno.test("every credential of a URL is hidden where it is printed and known as a secret", () => {
  const url = "postgres://app:p%40ss@[::1]:5432/db?sslpassword=k3y&password=q%2Bw&passfile=/etc/pw";
  assert.equal(
    redactUrl(`cannot reach ${url}: refused`),
    "cannot reach postgres://app:***@[::1]:5432/db?sslpassword=***&password=***&passfile=***: refused",
  );
  assert.deepEqual(urlPasswords(url).sort(), ["k3y", "p%40ss", "p@ss", "q%2Bw", "q+w"].sort());
});

Deno.test("dbt connects to an IPv6 host without its brackets", () => {
  const env = dbtConnection("postgres://app:pw@[::1]:5433/warehouse?sslmode=require");
  assert.deepEqual(env, {
    DBT_HOST: "::1",
    DBT_PORT: "5433",
    DBT_USER: "app",
    DBT_PASSWORD: "pw",
    DBT_DBNAME: "warehouse",
    DBT_SSLMODE: "require",
  });
});
