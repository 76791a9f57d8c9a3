/**
 * A webhook receiver for tests: a real HTTP server on loopback that records every POST it gets
 * (body as sent, parsed JSON) and answers as a Slack incoming webhook does (`200 ok`), or — as
 * the test sets it — with a status of its own, or after a delay. Its URL carries a secret-looking
 * path, as Slack's do, so a test can check that no body or log line shows it.
 *
 * @example
 * ```ts
 * await using receiver = await startWebhookReceiver();
 * // … run something with ALERT_WEBHOOK_URL = receiver.url …
 * assert.equal(receiver.posts.length, 1);
 * ```
 *
 * @module
 */

/** One POST the receiver got. */
export interface ReceivedPost {
  readonly path: string;
  readonly contentType: string | null;
  /** The body as sent. */
  readonly raw: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  readonly json: Record<string, unknown> | undefined;
}

/** A running receiver; stopped by `Symbol.asyncDispose`. */
export interface WebhookReceiver extends AsyncDisposable {
  /** `http://127.0.0.1:<port>/services/<secret>`. */
  readonly url: string;
  /** The secret part of `url`, which no alert may show. */
  readonly secret: string;
  /** Every POST, in order. */
  readonly posts: ReceivedPost[];
  /** Posts of `kind` (the body's `kind` field). */
  of(kind: string): ReceivedPost[];
  /** How it answers from now on: a status (default 200), after a delay (default none). */
  answer(options: { status?: number; delayMs?: number }): void;
}

/** Starts a receiver on a free loopback port (listening when it returns). */
export function startWebhookReceiver(): Promise<WebhookReceiver> {
  const secret = `T0SECRET/B0SECRET/${crypto.randomUUID().replaceAll("-", "")}`;
  const posts: ReceivedPost[] = [];
  let status = 200;
  let delayMs = 0;
  const stopping = new AbortController();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: stopping.signal,
    onListen: () => {},
  }, async (request) => {
    if (request.method !== "POST") return new Response("method not allowed", { status: 405 });
    const raw = await request.text();
    let json: Record<string, unknown> | undefined;
    try {
      json = JSON.parse(raw);
    } catch {
      json = undefined;
    }
    posts.push({
      path: new URL(request.url).pathname,
      contentType: request.headers.get("content-type"),
      raw,
      json,
    });
    if (delayMs > 0) {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
    return new Response(status === 200 ? "ok" : "receiver failure", { status });
  });
  return Promise.resolve({
    url: `http://127.0.0.1:${server.addr.port}/services/${secret}`,
    secret,
    posts,
    of: (kind) => posts.filter((post) => post.json?.kind === kind),
    answer(options) {
      status = options.status ?? 200;
      delayMs = options.delayMs ?? 0;
    },
    async [Symbol.asyncDispose]() {
      stopping.abort();
      await server.finished;
    },
  });
}
