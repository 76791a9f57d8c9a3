import assert from "node:assert/strict";
import { assertExit, assertStderrLine, createPipelineFixture } from "./helpers/pipeline_fixture.ts";
import type { TaskResult } from "./helpers/task_process.ts";
import {
  type Impostor,
  IMPOSTOR_PASSWORD as PASSWORD,
  startImpostor,
} from "./helpers/impostor_server.ts";
import { TransientError } from "../tasks/shared/errors.ts";
import { sleep } from "../tasks/shared/sleep.ts";
import { CONNECT_TIMEOUT_SECONDS } from "../tasks/warehouse/sql_client.ts";
import { openWarehouse } from "../tasks/warehouse/warehouse.ts";

/** Runs `deno task migrate` against `impostor`, failing the test if it hangs. */
async function migrateAgainst(impostor: Impostor): Promise<TaskResult> {
  await using fixture = await createPipelineFixture();
  const started = performance.now();
  const result = await fixture.run("migrate", [], { DATABASE_URL: impostor.url });
  // A hang guard with a generous margin, not a benchmark: before the probe, this never returned.
  const seconds = (performance.now() - started) / 1000;
  assert.ok(seconds < CONNECT_TIMEOUT_SECONDS + 50, `migrate took ${seconds.toFixed(1)} s`);
  assert.ok(!(result.stdout + result.stderr).includes(PASSWORD), "the password leaked");
  return result;
}

/** `promise`, or a failure if it has not settled well after the connect timeout. */
async function withHangGuard<T>(promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("it hung")), (CONNECT_TIMEOUT_SECONDS + 50) * 1000);
  });
  try {
    return await Promise.race([promise, hung]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("migrate against an HTTP server says it is not PostgreSQL and quotes its answer", async () => {
  await using server = startImpostor("http");
  const result = await migrateAgainst(server);
  assertExit(result, 3);
  assertStderrLine(
    result.stderr,
    new RegExp(
      `^error: the server at ${server.shown} is not PostgreSQL: it answered ` +
        `"HTTP/1\\.1 400 Bad Request" to the startup handshake; check the host and port in DATABASE_URL$`,
    ),
  );
  assert.ok(
    server.connections >= 1 && server.connections <= 5,
    `${server.connections} connections`,
  );
});

Deno.test("migrate against a server that closes every connection gives up after a few tries", async () => {
  await using server = startImpostor("close");
  const result = await migrateAgainst(server);
  assertExit(result, 3);
  assertStderrLine(
    result.stderr,
    new RegExp(
      `^error: the server at ${server.shown} closed the connection during the startup handshake ` +
        `\\(\\d tries\\), which PostgreSQL never does: it is not PostgreSQL, or a proxy with no ` +
        "server behind it; check the host and port in DATABASE_URL$",
    ),
  );
  assert.ok(
    server.connections >= 2 && server.connections <= 5,
    `${server.connections} connections`,
  );
});

Deno.test("migrate against a server that never answers fails as transient at the connect timeout", async () => {
  await using server = startImpostor("silent");
  const result = await migrateAgainst(server);
  assertExit(result, 1);
  assertStderrLine(
    result.stderr,
    new RegExp(
      `^error: the server at ${server.shown} accepted the connection but did not answer the ` +
        `startup handshake within ${CONNECT_TIMEOUT_SECONDS} s; a PostgreSQL under load may ` +
        "answer on a retry, another service never will: check the host and port in DATABASE_URL$",
    ),
  );
  assert.ok(
    server.connections >= 1 && server.connections <= 5,
    `${server.connections} connections`,
  );
});

Deno.test("a server that passes the handshake but never lets the first query through is given up at the deadline, and the pool stops", async () => {
  await using server = startImpostor("hang-up-after-ssl");
  await assert.rejects(
    withHangGuard(openWarehouse({ url: server.url, embeddedDir: "unused" }, { max: 1 })),
    (error: unknown) => {
      assert.ok(error instanceof TransientError);
      assert.match(
        error.message,
        new RegExp(
          `^the warehouse at ${server.shown} answered the startup handshake but did not finish ` +
            `connecting within ${CONNECT_TIMEOUT_SECONDS} s`,
        ),
      );
      return true;
    },
  );
  // postgres.js reconnects at once while its first query waits (porsager/postgres#1193): the
  // deadline bounds that in time, and ending the pool stops it (a reconnect already under way
  // may still land).
  await sleep(250);
  const connections = server.connections;
  await sleep(1_000);
  assert.equal(server.connections, connections, "the pool kept reconnecting after it failed");
});
