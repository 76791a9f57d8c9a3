import assert from "node:assert/strict";
import {
  parseRetryAfter,
  RandomUserClient,
  type RetryEvent,
} from "../tasks/extract/randomuser_client.ts";
import { TerminalError, TransientError } from "../tasks/shared/errors.ts";
import { startFakeRandomUser } from "../tasks/stand_in/randomuser_server.ts";

Deno.test("Retry-After decides the wait before the retry", async () => {
  await using api = await startFakeRandomUser();
  api.faults.add({ fault: { kind: "status", status: 429, retryAfter: 1 } });
  api.faults.add({
    fault: { kind: "status", status: 503, retryAfter: new Date(Date.now() + 60_000).toUTCString() },
  });
  const events: RetryEvent[] = [];
  const client = new RandomUserClient({
    baseUrl: api.url,
    retryBaseDelayMs: 1,
    maxRetryDelayMs: 1_500,
    onRetry: (event) => events.push(event),
  });
  const page = await client.fetchPage({ seed: "s", page: 1, results: 3 });
  assert.equal(page.results.length, 3);
  assert.equal(events[0]?.delayMs, 1_000);
  // An HTTP-date a minute away is honoured up to maxRetryDelayMs.
  assert.equal(events[1]?.delayMs, 1_500);
  assert.deepEqual(api.requests.map((r) => r.status), [429, 503, 200]);
});

Deno.test("a 4xx other than 408/425/429 is terminal and not retried", async () => {
  await using api = await startFakeRandomUser();
  const client = new RandomUserClient({
    baseUrl: api.url.replace("/api/", "/nope/"),
    retryBaseDelayMs: 1,
  });
  await assert.rejects(client.fetchPage({ seed: "s", page: 1, results: 1 }), (error: Error) => {
    assert.ok(error instanceof TerminalError);
    assert.match(
      error.message,
      /^page 1: the API answered 404 Not Found for http:\/\/127\.0\.0\.1:\d+\/nope\/; check RANDOMUSER_API_URL$/,
    );
    return true;
  });
});

Deno.test("an unreachable API fails after the retries with a transient error", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const client = new RandomUserClient({
    baseUrl: `http://127.0.0.1:${port}/api/`,
    retries: 2,
    retryBaseDelayMs: 1,
  });
  await assert.rejects(client.fetchPage({ seed: "s", page: 1, results: 1 }), (error: Error) => {
    assert.ok(error instanceof TransientError);
    assert.match(
      error.message,
      new RegExp(
        `^page 1: cannot reach the Random User API at http://127\\.0\\.0\\.1:${port}/api/: ` +
          "request failed: .*\\(gave up after 3 attempts; set RANDOMUSER_API_URL to an API " +
          "this machine can reach, or run `deno task demo`",
      ),
    );
    return true;
  });
});

Deno.test("pages arrive in page order with the last page asking for the remainder", async () => {
  await using api = await startFakeRandomUser();
  api.faults.add({ page: 1, fault: { kind: "delay", ms: 300 } });
  const client = new RandomUserClient({ baseUrl: api.url });
  const pages = [];
  for await (const page of client.pages({ seed: "s", users: 25, pageSize: 10, concurrency: 3 })) {
    pages.push([page.page, page.results.length]);
  }
  assert.deepEqual(pages, [[1, 10], [2, 10], [3, 5]]);
});

Deno.test("a wrong seed or page in the answer is not accepted", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () =>
      Response.json({
        results: [{}],
        info: { seed: "other", results: 1, page: 1, version: "1.4" },
      }),
  );
  const client = new RandomUserClient({
    baseUrl: `http://127.0.0.1:${server.addr.port}/api/`,
    retries: 0,
  });
  await assert.rejects(
    client.fetchPage({ seed: "mine", page: 1, results: 1 }),
    /the response is for seed other page 1, expected seed mine page 1/,
  );
  await server.shutdown();
});

Deno.test("Retry-After parses seconds and HTTP dates", () => {
  assert.equal(parseRetryAfter("3"), 3_000);
  assert.equal(parseRetryAfter(null), undefined);
  assert.equal(parseRetryAfter("soon"), undefined);
  const inTenSeconds = parseRetryAfter(new Date(Date.now() + 10_000).toUTCString()) ?? 0;
  assert.ok(inTenSeconds > 8_000 && inTenSeconds <= 10_000);
});

Deno.test("cancelling the page stream aborts the requests in flight", async () => {
  await using api = await startFakeRandomUser();
  api.faults.add({ page: 2, fault: { kind: "delay", ms: 30_000 } });
  const client = new RandomUserClient({ baseUrl: api.url });
  const reader = client.pages({ seed: "s", users: 30, pageSize: 10, concurrency: 2 }).getReader();
  const first = await reader.read();
  assert.equal(first.value?.page, 1);
  while (!api.requests.some((r) => r.page === 3)) await new Promise((r) => setTimeout(r, 20));
  await reader.cancel(new Error("stop"));
  // The delayed page-2 request ends as soon as the client goes away (logged as 499).
  while (!api.requests.some((r) => r.page === 2)) await new Promise((r) => setTimeout(r, 20));
  assert.equal(api.requests.find((r) => r.page === 2)?.status, 499);
});
