/**
 * HTTP server that is the project's stand-in for https://randomuser.me/api/ (unreachable here):
 * it answers `GET /api/` on 127.0.0.1 in the v1.4 JSON shape and serves the faults a test queues.
 */

import { Readable } from "node:stream";
import zlib, { createBrotliCompress, createGzip } from "node:zlib";
import type { Nationality } from "./nationality_profiles.ts";
import {
  generatePage,
  generatePageBody,
  MAX_PAGE,
  MAX_RESULTS,
  parseNationalities,
  randomSeed,
} from "./user_generator.ts";
import {
  applyDataFault,
  type Fault,
  type FaultKind,
  FaultPlan,
  type FaultRule,
  parseFaultRules,
} from "./faults.ts";

/** How to start the fake: `port` 0 (the default) picks a free one; `now` pins the clock for ages. */
export interface FakeRandomUserOptions {
  /** Address to listen on; default 127.0.0.1 (a container gives 0.0.0.0). */
  hostname?: string;
  port?: number;
  now?: Date;
  /** Aborting it closes the server. */
  signal?: AbortSignal;
}

/** One `/api/` request as the fake answered it (`status` 499 when the client left during a delay). */
export interface RequestLogEntry {
  readonly page: number;
  readonly results: number;
  readonly seed: string;
  readonly status: number;
  readonly fault?: FaultKind;
}

/** A running fake randomuser.me. */
export interface FakeRandomUser extends AsyncDisposable {
  /** The API base, e.g. "http://127.0.0.1:8787/api/". */
  readonly url: string;
  readonly port: number;
  /** Faults to serve on upcoming `/api/` requests. */
  readonly faults: FaultPlan;
  /** Every `/api/` request so far, oldest first (the last 10 000). */
  readonly requests: readonly RequestLogEntry[];
  /** The most `/api/` requests it was answering at once, since it started or `resetPeakInFlight`. */
  readonly peakInFlight: number;
  resetPeakInFlight(): void;
  /** Stops listening, cuts short pending delays and waits for in-flight requests. */
  close(): Promise<void>;
}

/** randomuser.me's own error text, served with 5xx faults. */
export const UPSTREAM_ERROR =
  "Uh oh, something has gone wrong. Please tell us on twitter or GitHub or try again later.";

const API_PATH = /^\/api(?:\/1\.4)?\/?$/;
const LOG_LIMIT = 10_000;
const CACHE_LIMIT = 8;
const JSON_TYPE = "application/json; charset=utf-8";
const encoder = new TextEncoder();

/** Starts the fake (on 127.0.0.1 by default); throws with advice when the port cannot be bound. */
export async function startFakeRandomUser(
  options: FakeRandomUserOptions = {},
): Promise<FakeRandomUser> {
  const faults = new FaultPlan();
  const requests: RequestLogEntry[] = [];
  const inFlight = { now: 0, peak: 0 };
  const cache = new Map<string, Uint8Array<ArrayBuffer>>();
  const stopping = new AbortController();
  const requestedPort = options.port ?? 0;
  const hostname = options.hostname ?? "127.0.0.1";

  const log = (entry: RequestLogEntry) => {
    requests.push(entry);
    if (requests.length > LOG_LIMIT) requests.splice(0, requests.length - LOG_LIMIT);
  };

  /** The page's bytes; pages for a given seed are kept in a small LRU so retries are cheap. */
  const pageBody = (query: ApiQuery): Uint8Array<ArrayBuffer> => {
    const now = options.now ?? new Date();
    // With a live clock, ages may tick over during a day; a cached page stays as first served.
    const clock = options.now === undefined ? now.toISOString().slice(0, 10) : now.getTime();
    const key = [query.seed, query.page, query.results, query.nat.join(","), clock].join("\u0000");
    const cacheable = query.seedGiven;
    const hit = cacheable ? cache.get(key) : undefined;
    if (hit !== undefined) {
      cache.delete(key);
      cache.set(key, hit);
      return hit;
    }
    const body = generatePageBody({ ...query, now });
    if (cacheable) {
      cache.set(key, body);
      const oldest = cache.keys().next();
      if (cache.size > CACHE_LIMIT && oldest.done !== true) cache.delete(oldest.value);
    }
    return body;
  };

  const api = async (request: Request, url: URL): Promise<Response> => {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return jsonError(405, `${request.method} is not served; the fake randomuser.me answers GET`);
    }
    const query = parseApiQuery(url.searchParams);
    const fault = faults.take(query.page, query.seed);
    inFlight.now++;
    inFlight.peak = Math.max(inFlight.peak, inFlight.now);
    const response = await answer(query, fault, request).finally(() => inFlight.now--);
    log({
      page: query.page,
      results: query.results,
      seed: query.seed,
      status: response.status,
      ...(fault === undefined ? {} : { fault: fault.kind }),
    });
    return response;
  };

  const answer = async (
    query: ApiQuery,
    fault: Fault | undefined,
    request: Request,
  ): Promise<Response> => {
    switch (fault?.kind) {
      case undefined:
        return jsonBody(200, pageBody(query));
      case "status": {
        const headers = new Headers({ "content-type": JSON_TYPE });
        if (fault.retryAfter !== undefined) headers.set("retry-after", String(fault.retryAfter));
        const message = fault.status === 429
          ? "Too many requests; slow down and retry after the Retry-After interval."
          : UPSTREAM_ERROR;
        return new Response(JSON.stringify({ error: message }), {
          status: fault.status,
          headers,
        });
      }
      case "delay": {
        // request.signal is read only here: Deno warns about its legacy abort-after-success.
        const waited = await sleep(fault.ms, [request.signal, stopping.signal]);
        if (!waited) {
          return jsonError(
            request.signal.aborted ? 499 : 503,
            "the fake randomuser.me stopped waiting",
          );
        }
        return jsonBody(200, pageBody(query));
      }
      case "truncate":
        return truncated(pageBody(query));
      case "compressed":
        return await compressed(pageBody(query), fault);
      case "malformed":
        return new Response(
          '{"results":[{"gender":"female","name":{"title":"Miss","first":"Jen' +
            "\n<html><body>502 Bad Gateway</body></html>",
          { status: 200, headers: { "content-type": JSON_TYPE } },
        );
      case "wrong_types":
      case "patch":
      case "empty": {
        const page = generatePage({ ...query, now: options.now ?? new Date() });
        return jsonBody(200, encoder.encode(JSON.stringify(applyDataFault(page, fault))));
      }
    }
  };

  const control = async (request: Request, url: URL): Promise<Response> => {
    const route = `${request.method} ${url.pathname.replace(/\/$/, "")}`;
    switch (route) {
      case "POST /_fake/faults": {
        let body: unknown;
        try {
          body = await request.json();
        } catch (error) {
          return jsonError(400, `fault rules must be sent as a JSON body: ${describe(error)}`);
        }
        let rules: FaultRule[];
        try {
          rules = parseFaultRules(body);
        } catch (error) {
          return jsonError(400, describe(error));
        }
        for (const rule of rules) faults.add(rule);
        return Response.json({ added: rules.length }, { status: 201 });
      }
      case "GET /_fake/faults":
        return Response.json(
          faults.pending.map((rule) => ({
            ...rule,
            times: rule.times === Infinity ? "always" : rule.times,
          })),
        );
      case "DELETE /_fake/faults":
        faults.clear();
        return Response.json({ cleared: true });
      case "GET /_fake/requests":
        return Response.json(requests);
      case "DELETE /_fake/requests":
        requests.length = 0;
        return Response.json({ cleared: true });
      default:
        return jsonError(
          404,
          `no control route ${route}; use POST|GET|DELETE /_fake/faults or GET|DELETE /_fake/requests`,
        );
    }
  };

  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve(
      { hostname, port: requestedPort, onListen() {} },
      (request) => {
        const url = new URL(request.url);
        if (url.pathname.startsWith("/_fake/")) return control(request, url);
        if (API_PATH.test(url.pathname)) return api(request, url);
        return jsonError(
          404,
          `no route ${url.pathname}; the fake randomuser.me serves GET /api/?results=N&seed=S&page=P`,
        );
      },
    );
  } catch (error) {
    throw new Error(
      `fake randomuser.me could not listen on ${hostname}:${requestedPort} (${describe(error)}); ` +
        "pick another port, or 0 for a free one",
      { cause: error },
    );
  }

  const port = server.addr.port;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      options.signal?.removeEventListener("abort", onAbort);
      stopping.abort();
      await server.shutdown();
      await server.finished;
    })();
    return closing;
  };
  const onAbort = () => void close();
  if (options.signal?.aborted) await close();
  else options.signal?.addEventListener("abort", onAbort, { once: true });

  return {
    url: `http://${hostname === "0.0.0.0" ? "127.0.0.1" : hostname}:${port}/api/`,
    port,
    faults,
    requests,
    get peakInFlight() {
      return inFlight.peak;
    },
    resetPeakInFlight: () => {
      inFlight.peak = inFlight.now;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

interface ApiQuery {
  seed: string;
  seedGiven: boolean;
  page: number;
  results: number;
  nat: Nationality[];
}

/** Reads the query like randomuser.me: garbage or < 1 means 1, results above 5000 mean 5000. */
function parseApiQuery(params: URLSearchParams): ApiQuery {
  const given = params.get("seed");
  const seedGiven = given !== null && given !== "";
  return {
    seed: seedGiven ? given : randomSeed(),
    seedGiven,
    page: clampInteger(params.get("page"), MAX_PAGE),
    results: clampInteger(params.get("results"), MAX_RESULTS),
    nat: parseNationalities(params.get("nat")),
  };
}

function clampInteger(value: string | null, max: number): number {
  const parsed = Number.parseInt(value ?? "", 10);
  if (!Number.isFinite(parsed) || parsed < 1) return 1;
  return Math.min(parsed, max);
}

function jsonBody(status: number, body: Uint8Array<ArrayBuffer>): Response {
  return new Response(body, {
    status,
    headers: { "content-type": JSON_TYPE, "access-control-allow-origin": "*" },
  });
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function jsonError(status: number, message: string): Response {
  return Response.json({ error: message }, { status });
}

/** 200 promising the full length but closing the stream after half: the connection drops mid-body. */
function truncated(body: Uint8Array<ArrayBuffer>): Response {
  let sent = false;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent) {
        controller.close();
        return;
      }
      sent = true;
      controller.enqueue(body.slice(0, Math.floor(body.length / 2)));
    },
  });
  return new Response(stream, {
    status: 200,
    headers: { "content-type": JSON_TYPE, "content-length": String(body.length) },
  });
}

/** Bytes of padding compressed at a time. */
const PADDING_CHUNK = 1 << 20;

/**
 * The page gzip- or br-coded as a server or proxy would send it, with the `Content-Length` of the
 * coded bytes (or none: chunked), and `padding` spaces after the JSON, compressed a chunk at a
 * time (a 300 MB padding takes about 0.3 MB of gzip, 30 kB of br).
 */
async function compressed(
  body: Uint8Array<ArrayBuffer>,
  fault: Extract<Fault, { kind: "compressed" }>,
): Promise<Response> {
  const compressor = fault.encoding === "gzip"
    ? createGzip()
    : createBrotliCompress({ params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4 } });
  const padding = fault.padding ?? 0;
  const spaces = new Uint8Array(Math.min(padding, PADDING_CHUNK)).fill(0x20);
  async function* plain() {
    yield body;
    for (let left = padding; left > 0; left -= spaces.length) {
      yield left >= spaces.length ? spaces : spaces.subarray(0, left);
    }
  }
  const parts: Uint8Array[] = [];
  for await (const part of Readable.from(plain()).pipe(compressor)) parts.push(part);
  const coded = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let at = 0;
  for (const part of parts) {
    coded.set(part, at);
    at += part.length;
  }
  const headers = { "content-type": JSON_TYPE, "content-encoding": fault.encoding };
  return fault.contentLength ?? true
    ? new Response(coded, { headers: { ...headers, "content-length": String(coded.length) } })
    // A stream has no length to send: the body goes chunked.
    : new Response(ReadableStream.from([coded]), { headers });
}

/** Resolves true after `ms`, or false as soon as any signal aborts (clearing the timer). */
function sleep(ms: number, signals: readonly AbortSignal[]): Promise<boolean> {
  return new Promise((resolve) => {
    if (signals.some((signal) => signal.aborted)) return resolve(false);
    const finish = (completed: boolean) => {
      clearTimeout(timer);
      for (const signal of signals) signal.removeEventListener("abort", onAbort);
      resolve(completed);
    };
    const onAbort = () => finish(false);
    const timer = setTimeout(() => finish(true), ms);
    for (const signal of signals) signal.addEventListener("abort", onAbort, { once: true });
  });
}
