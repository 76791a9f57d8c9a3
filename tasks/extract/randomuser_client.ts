/**
 * A client for the Random User API (https://randomuser.me/documentation): fetches pages with
 * retries and backoff that honour `Retry-After`, and streams a run's pages, in page order, with
 * a bounded number of requests in flight.
 *
 * @example
 * ```ts
 * const client = new RandomUserClient({ baseUrl: "https://randomuser.me/api/" });
 * const pages = client.pages({ seed: seedFor("2026-01-01"), users: 10_000, pageSize: 5_000 });
 * for await (const page of pages) console.log(page.page, page.results.length);
 * ```
 *
 * @module
 */
import { errorMessage, TerminalError, TransientError } from "../shared/errors.ts";
import { sleep } from "../shared/sleep.ts";
import { PageError, type PageRequest, parseApiPage } from "./api_page.ts";

export type { PageRequest } from "./api_page.ts";

/** The most users the API returns per request. */
export const API_MAX_PAGE_SIZE = 5_000;

/**
 * The most JSON bytes one user of the API takes, with room to spare: randomuser.me's users take
 * about 1.1 kB, the stand-in's largest 1.2 kB (measured over 50 000 users).
 */
export const LARGEST_USER_BYTES = 1_500;
/** A page's decoded body may take this many times the largest page of its users, no more. */
export const PAGE_BYTES_MULTIPLE = 2;
/** Bytes of a page besides its users: the braces, `"results"`, `info`. */
const PAGE_FRAME_BYTES = 1_024;

/**
 * The most bytes a page may decode to when pages ask for `pageSize` users (`API_PAGE_SIZE`; 15
 * MB at 5 000), whatever the page asks for: past it the body is refused as a bad page, so a
 * compressed body that inflates without end (issue 23: a 0.3 MB gzip page of 300 MB) costs no
 * more memory than an honest page, and a short page may still carry the largest values
 * `raw.users` takes (a numeric of 131 072 digits).
 */
export function maxPageBytes(pageSize: number): number {
  return PAGE_BYTES_MULTIPLE * largestPageBytes(pageSize);
}

/** The most bytes an honest page of `results` users takes. */
function largestPageBytes(results: number): number {
  return results * LARGEST_USER_BYTES + PAGE_FRAME_BYTES;
}

/** The API seed for a logical date: the same ds always fetches the same users. */
export function seedFor(ds: string): string {
  return `randomuser-elt-${ds}`;
}

/** One page as the API sent it; `results` is not validated yet. */
export interface ApiPage {
  readonly page: number;
  readonly results: readonly unknown[];
  /** Size of the response body in bytes. */
  readonly bytes: number;
}

/**
 * Turns a page's body into what the stream of pages carries (it may take the body's buffer, e.g.
 * to transfer it to a worker). A {@linkcode PageError} means the body is not the page asked for:
 * the request is retried.
 */
export type PageDecoder<T> = (body: Uint8Array, request: PageRequest) => T | Promise<T>;

/** The default decoder: the page's records, parsed here, not validated yet. */
export const decodeApiPage: PageDecoder<ApiPage> = (body, request) => ({
  page: request.page,
  results: parseApiPage(body, request),
  bytes: body.length,
});

/** What {@linkcode RandomUserClient} reports before it retries a request. */
export interface RetryEvent {
  readonly page: number;
  readonly attempt: number;
  readonly delayMs: number;
  readonly error: Error;
}

/** Options for {@linkcode RandomUserClient}. */
export interface RandomUserClientOptions {
  /** The API base, e.g. `https://randomuser.me/api/`; its query parameters (`nat=`) are kept. */
  baseUrl: string;
  /** Retries per request after the first attempt; default 5. */
  retries?: number;
  /** Time limit of one request, body included; default 60 s. */
  timeoutMs?: number;
  /** First backoff delay, doubled per retry, with jitter; default 500 ms. */
  retryBaseDelayMs?: number;
  /** Upper bound of any wait, `Retry-After` included; default 5 minutes. */
  maxRetryDelayMs?: number;
  /** Called before each retry (for logs). */
  onRetry?: (event: RetryEvent) => void;
  /** Where response bodies are read into (a pool of reusable buffers); default: new ones. */
  allocate?: (size: number) => ArrayBuffer;
  /** The most bytes a body may decode to; default {@linkcode maxPageBytes} of 5 000 users. */
  maxPageBytes?: number;
}

/** Options for {@linkcode RandomUserClient.pages}. */
export interface PagesOptions {
  seed: string;
  /** Users in the whole run; the last page asks only for the remainder. */
  users: number;
  /** Users per request, at most {@linkcode API_MAX_PAGE_SIZE}. */
  pageSize: number;
  /** Requests in flight at once; default 4. */
  concurrency?: number;
  signal?: AbortSignal;
}

const TRANSIENT_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

/** Fetches pages of users from a Random User API (the real one or a compatible stand-in). */
export class RandomUserClient {
  readonly #baseUrl: URL;
  readonly #retries: number;
  readonly #timeoutMs: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #onRetry: ((event: RetryEvent) => void) | undefined;
  readonly #allocate: (size: number) => ArrayBuffer;
  readonly #maxPageBytes: number;

  constructor(options: RandomUserClientOptions) {
    this.#baseUrl = new URL(options.baseUrl);
    this.#retries = options.retries ?? 5;
    this.#timeoutMs = options.timeoutMs ?? 60_000;
    this.#baseDelayMs = options.retryBaseDelayMs ?? 500;
    this.#maxDelayMs = options.maxRetryDelayMs ?? 300_000;
    this.#onRetry = options.onRetry;
    this.#allocate = options.allocate ?? ((size) => new ArrayBuffer(size));
    this.#maxPageBytes = options.maxPageBytes ?? maxPageBytes(API_MAX_PAGE_SIZE);
  }

  /** Total pages of a run of `users` users at `pageSize` per page. */
  static pageCount(users: number, pageSize: number): number {
    return Math.ceil(users / pageSize);
  }

  /**
   * Fetches one page, retrying transient failures (network errors, timeouts, 408/429/5xx,
   * truncated or malformed bodies, short pages). Throws a {@linkcode TransientError} when the
   * retries run out and a {@linkcode TerminalError} for answers that retrying cannot fix.
   */
  fetchPage(request: PageRequest, signal?: AbortSignal): Promise<ApiPage>;
  /** The same, with the body decoded by `decode` (inside the retries). */
  fetchPage<T>(
    request: PageRequest,
    signal: AbortSignal | undefined,
    decode: PageDecoder<T>,
  ): Promise<T>;
  async fetchPage<T>(
    request: PageRequest,
    signal?: AbortSignal,
    decode: PageDecoder<T> = decodeApiPage as PageDecoder<unknown> as PageDecoder<T>,
  ): Promise<T> {
    for (let attempt = 1;; attempt++) {
      let retryAfterMs: number | undefined;
      try {
        const body = await this.#fetchOnce(request, signal);
        try {
          return await decode(body, request);
        } catch (error) {
          if (error instanceof PageError) throw new AttemptError(error.message);
          throw error;
        }
      } catch (error) {
        if (!(error instanceof AttemptError) || signal?.aborted) throw error;
        if (attempt > this.#retries) {
          const gaveUp = `gave up after ${attempt} attempts`;
          throw new TransientError(
            error.unreachable
              ? `page ${request.page}: cannot reach the Random User API at ` +
                `${this.#baseUrl.origin}${this.#baseUrl.pathname}: ${error.message} (${gaveUp}; ` +
                "set RANDOMUSER_API_URL to an API this machine can reach, or run " +
                "`deno task demo` to see the whole pipeline work offline with the stand-in API)"
              : `page ${request.page}: ${error.message} (${gaveUp}; ` +
                `check RANDOMUSER_API_URL or raise API_RETRIES)`,
            { cause: error },
          );
        }
        retryAfterMs = error.retryAfterMs;
        const delayMs = Math.min(this.#maxDelayMs, retryAfterMs ?? this.#backoff(attempt));
        this.#onRetry?.({ page: request.page, attempt, delayMs, error });
        await sleep(delayMs, signal);
      }
    }
  }

  /** Streams the pages of a run in page order, fetching up to `concurrency` at once. */
  pages(options: PagesOptions): ReadableStream<ApiPage>;
  /** The same, each page's body decoded by `decode` (which may run while others download). */
  pages<T>(options: PagesOptions, decode: PageDecoder<T>): ReadableStream<T>;
  pages<T>(
    options: PagesOptions,
    decode: PageDecoder<T> = decodeApiPage as PageDecoder<unknown> as PageDecoder<T>,
  ): ReadableStream<T> {
    if (options.pageSize < 1 || options.pageSize > API_MAX_PAGE_SIZE) {
      throw new RangeError(`pageSize must be 1 to ${API_MAX_PAGE_SIZE}, got ${options.pageSize}`);
    }
    const total = RandomUserClient.pageCount(options.users, options.pageSize);
    const concurrency = Math.max(1, options.concurrency ?? 4);
    const abort = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, abort.signal]) : abort.signal;
    const inFlight: Promise<T>[] = [];
    let next = 1;
    const launch = () => {
      while (inFlight.length < concurrency && next <= total) {
        const page = next++;
        const results = page < total
          ? options.pageSize
          : options.users - (total - 1) * options.pageSize;
        const pending = this.fetchPage({ seed: options.seed, page, results }, signal, decode);
        pending.catch(() => {}); // observed when its turn comes; avoids an unhandled rejection
        inFlight.push(pending);
      }
    };
    return new ReadableStream<T>({
      async pull(controller) {
        launch();
        const head = inFlight.shift();
        if (!head) return controller.close();
        try {
          controller.enqueue(await head);
        } catch (error) {
          abort.abort(error);
          throw error;
        }
        launch();
      },
      cancel(reason) {
        abort.abort(reason);
      },
    }, { highWaterMark: 0 });
  }

  /** One request's body; an {@linkcode AttemptError} for what a retry may fix. */
  async #fetchOnce(request: PageRequest, signal?: AbortSignal): Promise<Uint8Array> {
    const url = new URL(this.#baseUrl);
    url.searchParams.set("results", String(request.results));
    url.searchParams.set("seed", request.seed);
    url.searchParams.set("page", String(request.page));
    // A per-request controller whose timer and listener are released as soon as the body is
    // read: AbortSignal.timeout/any would keep each response reachable until the timeout fires.
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.#timeoutMs);
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    let response: Response;
    let body: Uint8Array;
    try {
      response = await fetch(url, {
        signal: controller.signal,
        headers: { accept: "application/json" },
      });
      body = await readBody(response, {
        allocate: this.#allocate,
        expectedBytes: largestPageBytes(request.results),
        maxBytes: this.#maxPageBytes,
      });
    } catch (error) {
      if (signal?.aborted) throw signal.reason ?? error;
      if (error instanceof AttemptError) throw error;
      if (timedOut) {
        throw new AttemptError(`timed out after ${this.#timeoutMs} ms`, { unreachable: true });
      }
      throw new AttemptError(`request failed: ${errorMessage(error)}`, { unreachable: true });
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    }
    if (!response.ok) {
      const detail = `${response.status} ${response.statusText}`.trim();
      if (!TRANSIENT_STATUS.has(response.status)) {
        throw new TerminalError(
          `page ${request.page}: the API answered ${detail} for ${url.origin}${url.pathname}; ` +
            "check RANDOMUSER_API_URL",
        );
      }
      const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"));
      throw new AttemptError(
        `the API answered ${detail}`,
        retryAfterMs === undefined ? {} : { retryAfterMs },
      );
    }
    return body;
  }

  #backoff(attempt: number): number {
    const exponential = this.#baseDelayMs * 2 ** (attempt - 1);
    return Math.round(exponential * (0.5 + Math.random() / 2));
  }
}

/** A failed attempt that may succeed when retried. */
class AttemptError extends Error {
  override name = "AttemptError";
  /** The server asked us to wait this long (`Retry-After`). */
  readonly retryAfterMs: number | undefined;
  /** No answer at all (a network error or a timeout), rather than a bad one. */
  readonly unreachable: boolean;
  constructor(message: string, options: { retryAfterMs?: number; unreachable?: boolean } = {}) {
    super(message);
    this.retryAfterMs = options.retryAfterMs;
    this.unreachable = options.unreachable ?? false;
  }
}

/**
 * The whole body, read into one buffer (from `allocate`, which may hand out a larger reused one)
 * by a BYOB reader: sized by `Content-Length` when the server sends it, else by `expectedBytes`,
 * and grown only past that. `fetch` decodes a gzip or br body (`Content-Encoding`), whose
 * `Content-Length` counts the bytes on the wire: fetch itself fails a coded body cut short, so
 * only a plain body is held to its length here. Read by chunks instead, a decoded body came as
 * 4 kB views of 64 kB buffers that waited for a collection: gzip pages took the extract from 128
 * to 190 MB at 20 000 users. A body past `maxBytes` decoded, or shorter than its
 * `Content-Length`, is an {@linkcode AttemptError}.
 */
async function readBody(
  response: Response,
  options: { allocate: (size: number) => ArrayBuffer; expectedBytes: number; maxBytes: number },
): Promise<Uint8Array> {
  const { allocate, maxBytes } = options;
  const coding = response.headers.get("content-encoding")?.trim().toLowerCase() ?? "identity";
  const length = Number(response.headers.get("content-length") ?? NaN);
  const declared = coding === "identity" && Number.isSafeInteger(length) && length >= 0
    ? length
    : undefined;
  if (!response.body) return new Uint8Array(0);
  const tooLarge = () => {
    const coded = coding === "identity" ? "" : ` (${coding} on the wire)`;
    return new AttemptError(
      `the body${coded} decodes to more than ${maxBytes} bytes, ${PAGE_BYTES_MULTIPLE} times ` +
        "the largest page the API sends at API_PAGE_SIZE; refused as a bad page",
    );
  };
  if (declared !== undefined && declared > maxBytes) {
    await response.body.cancel();
    throw tooLarge();
  }
  const reader = response.body.getReader({ mode: "byob" });
  // A byte more than the body needs: a read that finds the end finds room left, not a full buffer.
  let buffer = new Uint8Array(allocate((declared ?? options.expectedBytes) + 1));
  let read = 0;
  try {
    for (;;) {
      if (read === buffer.length) {
        // One byte past the cap tells a body that ends there from one that goes on.
        if (read > maxBytes) throw tooLarge();
        const grown = new Uint8Array(allocate(Math.min(maxBytes + 1, buffer.length * 2)));
        grown.set(buffer);
        free(buffer);
        buffer = grown;
      }
      const { done, value } = await reader.read(buffer.subarray(read));
      // The read moved the buffer into `value`, at the end too (with nothing read).
      if (value) buffer = new Uint8Array(value.buffer);
      if (done) break;
      read += value.length;
    }
    if (read > maxBytes) throw tooLarge();
    if (declared !== undefined && read !== declared) {
      throw new AttemptError(`the body ended after ${read} of its ${declared} bytes`);
    }
  } catch (error) {
    await reader.cancel().catch(() => {}); // the body is given up either way
    free(buffer); // a refused body's memory goes now, not at a collection that may be far off
    throw error;
  }
  return buffer.subarray(0, read);
}

/** Frees the memory of `bytes` at once (its buffer is this reader's own). */
function free(bytes: Uint8Array): void {
  const buffer = bytes.buffer as ArrayBuffer;
  if (!buffer.detached) buffer.transfer(0);
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date; `undefined` when absent. */
export function parseRetryAfter(value: string | null): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}
