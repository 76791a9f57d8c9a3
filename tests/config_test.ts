import assert from "node:assert/strict";
import {
  configSecrets,
  loadConfig,
  MAX_USERS_PER_RUN,
  parseDuration,
} from "../tasks/shared/config.ts";
import { parseUserCount } from "../tasks/shared/task_command.ts";
import { redactUrl } from "../tasks/shared/redact_url.ts";
import { UsageError } from "../tasks/shared/errors.ts";

Deno.test("defaults match the documented configuration", async () => {
  const config = await loadConfig({ env: {}, envFile: null });
  assert.deepEqual(
    {
      databaseUrl: config.warehouse.url,
      apiUrl: config.api.baseUrl,
      usersPerRun: config.extract.users,
      apiPageSize: config.extract.pageSize,
      apiConcurrency: config.extract.concurrency,
      dataDir: config.dataDir,
      dbtRunner: config.dbt.runner,
      taskRetries: config.retryPolicy.retries,
      taskRetryDelayMs: config.retryPolicy.retryDelayMs,
      catchup: config.schedule.catchup,
      alerts: config.alerts,
      freshness: config.freshness,
    },
    {
      databaseUrl: undefined,
      apiUrl: "https://randomuser.me/api/",
      usersPerRun: 10_000,
      apiPageSize: 5_000,
      apiConcurrency: 4,
      dataDir: "./data",
      dbtRunner: "auto",
      taskRetries: 3,
      taskRetryDelayMs: 180_000,
      catchup: false,
      alerts: { webhookUrl: undefined, staleAfterMs: 6 * 3_600_000 },
      freshness: { warnAfterMinutes: 26 * 60, errorAfterMinutes: 50 * 60 },
    },
  );
});

Deno.test(".env fills what the environment leaves unset, and flags win over both", async () => {
  const dir = await Deno.makeTempDir();
  const envFile = `${dir}/.env`;
  await Deno.writeTextFile(
    envFile,
    "USERS_PER_RUN=123\nAPI_CONCURRENCY=2\n# comment\nDATA_DIR=/srv/x\n",
  );
  const config = await loadConfig({
    env: { API_CONCURRENCY: "3" },
    envFile,
    overrides: { DATA_DIR: "/override" },
  });
  assert.deepEqual([config.extract.users, config.extract.concurrency, config.dataDir], [
    123,
    3,
    "/override",
  ]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("an invalid variable is a usage error naming it and the expected form", async () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [
      { API_PAGE_SIZE: "9000" },
      /^invalid configuration: API_PAGE_SIZE must be at most 5000 \(got "9000"\)$/,
    ],
    [
      { TASK_RETRY_DELAY: "3 minutes" },
      /TASK_RETRY_DELAY must be a duration such as 500ms, 10s, 3m or 1h/,
    ],
    [{ DBT_RUNNER: "podman" }, /DBT_RUNNER must be auto, docker or local/],
    [{ PIPELINE_START_DATE: "2026-02-30" }, /PIPELINE_START_DATE must be a real calendar date/],
    [
      { PIPELINE_START_DATE: "1999-12-31" },
      /^invalid configuration: PIPELINE_START_DATE must be 2000-01-01 or later \(got "1999-12-31"\)$/,
    ],
    [
      { API_TIMEOUT: "0s" },
      /^invalid configuration: API_TIMEOUT must be more than 0, such as 500ms, 10s, 3m or 1h/,
    ],
    // Rounded to whole milliseconds, a tenth of one is no time at all.
    [{ API_TIMEOUT: "0.1ms" }, /^invalid configuration: API_TIMEOUT must be more than 0/],
    [{ METABASE_WAIT: "0m" }, /^invalid configuration: METABASE_WAIT must be more than 0/],
    [{ CATCHUP: "maybe" }, /CATCHUP must be true or false/],
    [
      { CONSOLE_PORT: "65536" },
      /^invalid configuration: CONSOLE_PORT must be a port number from 0 to 65535, or off \(got "65536"\)$/,
    ],
    [{ CONSOLE_PORT: "on" }, /CONSOLE_PORT must be a port number from 0 to 65535, or off/],
    [{ CONSOLE_HOST: "127.0.0.1:8080" }, /CONSOLE_HOST must be a host name or an IP address/],
    // A token is a secret: never echoed back, not even a short one.
    [
      { CONSOLE_TOKEN: "hunter2" },
      /^invalid configuration: CONSOLE_TOKEN must be at least 16 characters \(openssl rand -hex 16 makes one\)$/,
    ],
    [{ STALE_AFTER: "six hours" }, /^invalid configuration: STALE_AFTER must be a duration/],
    [
      { FRESHNESS_WARN_AFTER: "90s" },
      /^invalid configuration: FRESHNESS_WARN_AFTER must be a whole number of minutes, such as 90m or 26h \(got "90s"\)$/,
    ],
    [
      { FRESHNESS_WARN_AFTER: "2h", FRESHNESS_ERROR_AFTER: "2h" },
      /^invalid configuration: FRESHNESS_ERROR_AFTER must be longer than FRESHNESS_WARN_AFTER \(got 120m and 120m\)$/,
    ],
    // The webhook URL is a secret: named, never echoed.
    [
      { ALERT_WEBHOOK_URL: "hooks.slack.com/services/T0/B0/key" },
      /^invalid configuration: ALERT_WEBHOOK_URL must be an http\(s\) URL of a Slack- or Mattermost-compatible incoming webhook$/,
    ],
  ];
  for (const [env, message] of cases) {
    await assert.rejects(loadConfig({ env, envFile: null }), (error: Error) => {
      assert.ok(error instanceof UsageError);
      assert.match(error.message, message);
      return true;
    });
  }
});

Deno.test("the console listens on 127.0.0.1:8080 by default, read-only; off turns it off", async () => {
  const config = async (env: Record<string, string>) =>
    (await loadConfig({ env, envFile: null })).console;
  assert.deepEqual(await config({}), { host: "127.0.0.1", port: 8080, token: undefined });
  assert.deepEqual(await config({ CONSOLE_PORT: "OFF" }), {
    host: "127.0.0.1",
    port: "off",
    token: undefined,
  });
  assert.deepEqual(
    await config({ CONSOLE_HOST: "[::1]", CONSOLE_PORT: "0", CONSOLE_TOKEN: "t".repeat(16) }),
    { host: "::1", port: 0, token: "t".repeat(16) },
  );
});

Deno.test("configSecrets lists every secret the configuration holds, the URL's password both ways", async () => {
  const config = await loadConfig({
    env: {
      DATABASE_URL: "postgres://app:p%40ss@db/x",
      ANALYST_PASSWORD: "analyst-secret",
      METABASE_ADMIN_PASSWORD: "metabase-secret-1",
      CONSOLE_TOKEN: "console-token-0123456789",
    },
    envFile: null,
  });
  assert.deepEqual(configSecrets(config).sort(), [
    "analyst-secret",
    "console-token-0123456789",
    "metabase-secret-1",
    "p%40ss",
    "p@ss",
  ]);
  assert.deepEqual(configSecrets(await loadConfig({ env: {}, envFile: null })), []);
});

Deno.test("retry delays may be zero: a retry at once, still bounded by the retry counts", async () => {
  const config = await loadConfig({
    env: { API_RETRY_DELAY: "0ms", TASK_RETRY_DELAY: "0s" },
    envFile: null,
  });
  assert.equal(config.api.retryBaseDelayMs, 0);
  assert.equal(config.retryPolicy.retryDelayMs, 0);
});

Deno.test("USERS_PER_RUN and the --users flags share one cap", async () => {
  const config = await loadConfig({
    env: { USERS_PER_RUN: String(MAX_USERS_PER_RUN) },
    envFile: null,
  });
  assert.equal(config.extract.users, 10_000_000);
  assert.equal(parseUserCount(String(MAX_USERS_PER_RUN)), MAX_USERS_PER_RUN);
  await assert.rejects(
    loadConfig({ env: { USERS_PER_RUN: String(MAX_USERS_PER_RUN + 1) }, envFile: null }),
    /USERS_PER_RUN must be at most 10000000/,
  );
  assert.throws(
    () => parseUserCount(String(MAX_USERS_PER_RUN + 1)),
    /expected a whole number from 1 to 10000000 \(the cap of USERS_PER_RUN\)/,
  );
});

Deno.test("a bad DATABASE_URL is reported without its password", async () => {
  await assert.rejects(
    loadConfig({ env: { DATABASE_URL: "mysql://app:hunter2@db/x" }, envFile: null }),
    (error: Error) => {
      assert.match(error.message, /DATABASE_URL must be a URL such as postgres:\/\//);
      assert.ok(!error.message.includes("hunter2"));
      assert.match(error.message, /mysql:\/\/app:\*\*\*@db\/x/);
      return true;
    },
  );
});

Deno.test("durations and redaction", () => {
  assert.deepEqual(["500ms", "10s", "3m", "1h", "1.5s", "3"].map(parseDuration), [
    500,
    10_000,
    180_000,
    3_600_000,
    1_500,
    undefined,
  ]);
  assert.equal(
    redactUrl("see postgres://u:p%40ss@h:5432/db now"),
    "see postgres://u:***@h:5432/db now",
  );
  assert.equal(redactUrl("postgres://u@h/db"), "postgres://u@h/db");
  assert.equal(redactUrl("at postgres://app:pa ss@h/db"), "at postgres://app:***@h/db");
  assert.equal(redactUrl("postgres://app:p@ss:w@h:5432/db x"), "postgres://app:***@h:5432/db x");
  assert.equal(
    redactUrl("a postgres://app:s3cret@h b postgres://x:y@z/w"),
    "a postgres://app:***@h b postgres://x:***@z/w",
  );
});
