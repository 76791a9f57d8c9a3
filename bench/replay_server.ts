/**
 * A replay of the Random User API for benchmarks: pages pre-generated once by the fake API's
 * generator, held in memory as bytes and served over HTTP on 127.0.0.1, so that a benchmark
 * measures the client and not the generator.
 *
 * Only `distinctPages` pages are generated (5.4 MB each at 5 000 users); page `p` is served from
 * template `((p - 1) % distinctPages) + 1`. Pages of the first cycle are byte for byte what the
 * fake API sends; in later cycles the first 8 hex digits of every `login.uuid` are XORed with a
 * hash of the cycle number (and `info.page` is rewritten), so every served user keeps a distinct
 * id and the loader sees as many rows as the extract asked for.
 *
 * @example
 * ```ts
 * await using replay = await startReplayServer({ seed: "s", pages: 200, distinctPages: 20 });
 * const body = await (await fetch(`${replay.url}?seed=s&page=57&results=5000`)).json();
 * ```
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { fmix32 } from "../tasks/shared/fmix32.ts";
import { generatePageBody } from "../tasks/stand_in/user_generator.ts";

/** Options for {@linkcode startReplayServer}. */
export interface ReplayServerOptions {
  /** The only seed served; other seeds get a 404. */
  seed: string;
  /** Pages the benchmark will request; at most this many are generated. */
  pages: number;
  /** Templates to generate; default `min(pages, 20)` (about 108 MB at 5 000 users a page). */
  distinctPages?: number;
  /** Users per template page, at most 5 000; default 5 000. */
  pageSize?: number;
  /** The clock ages are computed against; default 2026-01-01. */
  now?: Date;
}

/** A running replay server. */
export interface ReplayServer extends AsyncDisposable {
  /** The API base, e.g. `http://127.0.0.1:40123/api/`. */
  readonly url: string;
  readonly distinctPages: number;
  readonly pageSize: number;
  /** Time spent generating the templates (not part of any measurement). */
  readonly generationMs: number;
  /** Bytes of the templates held in memory. */
  readonly templateBytes: number;
  close(): Promise<void>;
}

const JSON_TYPE = "application/json; charset=utf-8";
const USER_START = Buffer.from('{"gender":"');
const UUID_KEY = Buffer.from('"uuid":"');
const INFO_START = Buffer.from('],"info":');
const HEX = new TextEncoder().encode("0123456789abcdef");
const encoder = new TextEncoder();

/** One generated page, split where a served page needs patching. */
interface Template {
  /** `{"results":[user,user,…` up to (not including) the closing `]`. */
  readonly body: Uint8Array;
  /** Byte offset of each user's `{`; a prefix of `results` users ends before `starts[results]`. */
  readonly starts: Uint32Array;
  /** Byte offset of each user's `login.uuid` value. */
  readonly uuids: Uint32Array;
}

/** Generates the templates, then serves them until closed. */
export async function startReplayServer(options: ReplayServerOptions): Promise<ReplayServer> {
  const pageSize = options.pageSize ?? 5_000;
  const distinctPages = Math.max(1, Math.min(options.pages, options.distinctPages ?? 20));
  const now = options.now ?? new Date("2026-01-01T00:00:00Z");
  const started = performance.now();
  const templates: Template[] = [];
  for (let page = 1; page <= distinctPages; page++) {
    templates.push(
      splitTemplate(generatePageBody({ seed: options.seed, page, results: pageSize, now })),
    );
    // Let the event loop breathe between pages (a page takes a few hundred ms to generate).
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  const generationMs = performance.now() - started;

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const params = new URL(request.url).searchParams;
    const seed = params.get("seed");
    const page = Number(params.get("page") ?? "1");
    const results = Number(params.get("results") ?? "1");
    if (seed !== options.seed) {
      return Response.json(
        { error: `the replay serves seed ${options.seed} only, not ${seed}` },
        { status: 404 },
      );
    }
    if (!Number.isInteger(page) || page < 1 || !Number.isInteger(results) || results < 1) {
      return Response.json({ error: "page and results must be whole numbers ≥ 1" }, {
        status: 400,
      });
    }
    if (results > pageSize) {
      return Response.json({ error: `the replay holds pages of ${pageSize} users at most` }, {
        status: 400,
      });
    }
    const template = templates[(page - 1) % distinctPages];
    if (template === undefined) throw new RangeError(`no template for page ${page}`);
    const cycle = Math.floor((page - 1) / distinctPages);
    return new Response(servedPage(template, { seed, page, results, cycle }), {
      headers: { "content-type": JSON_TYPE },
    });
  });

  const close = async () => {
    await server.shutdown();
    await server.finished;
  };
  return {
    url: `http://127.0.0.1:${server.addr.port}/api/`,
    distinctPages,
    pageSize,
    generationMs,
    templateBytes: templates.reduce((sum, template) => sum + template.body.length, 0),
    close,
    [Symbol.asyncDispose]: close,
  };
}

function splitTemplate(page: Uint8Array): Template {
  const bytes = Buffer.from(page.buffer, page.byteOffset, page.byteLength);
  const end = bytes.lastIndexOf(INFO_START);
  if (end < 0) throw new SyntaxError("a generated page has no info object");
  const starts: number[] = [];
  const uuids: number[] = [];
  for (let at = bytes.indexOf(USER_START); at >= 0 && at < end;) {
    starts.push(at);
    const uuid = bytes.indexOf(UUID_KEY, at);
    if (uuid < 0) throw new SyntaxError(`the user at byte ${at} has no login.uuid`);
    uuids.push(uuid + UUID_KEY.length);
    at = bytes.indexOf(USER_START, at + 1);
  }
  starts.push(end + 1); // past the last user, as if a comma followed it
  // A copy, so the generator's larger buffer (with the info object) can be collected.
  return {
    body: page.slice(0, end),
    starts: Uint32Array.from(starts),
    uuids: Uint32Array.from(uuids),
  };
}

/** The first `results` users of `template` as page `page` of `seed`, ids patched for `cycle`. */
function servedPage(
  template: Template,
  request: { seed: string; page: number; results: number; cycle: number },
): Uint8Array<ArrayBuffer> {
  const { body, starts, uuids } = template;
  const usersEnd = (starts[Math.min(request.results, starts.length - 1)] ?? body.length + 1) - 1;
  const info = encoder.encode(
    `],"info":${
      JSON.stringify({
        seed: request.seed,
        results: Math.min(request.results, uuids.length),
        page: request.page,
        version: "1.4",
      })
    }}`,
  );
  const out = new Uint8Array(usersEnd + info.length);
  out.set(body.subarray(0, usersEnd));
  out.set(info, usersEnd);
  if (request.cycle > 0) {
    // Unsigned: a bijection on 32-bit integers, so distinct cycles give distinct masks.
    const mask = fmix32(request.cycle) >>> 0;
    const count = Math.min(request.results, uuids.length);
    for (let i = 0; i < count; i++) patchUuid(out, { at: uuids[i] ?? 0, mask });
  }
  return out;
}

/** XORs the first 8 hex digits of the UUID at `at` with `mask` (lower-case hex, in place). */
function patchUuid(bytes: Uint8Array, { at, mask }: { at: number; mask: number }): void {
  let word = 0;
  for (let i = 0; i < 8; i++) word = (word << 4) | hexValue(bytes[at + i] ?? 48);
  word = (word ^ mask) >>> 0;
  for (let i = 7; i >= 0; i--) {
    bytes[at + i] = HEX[word & 15] ?? 48;
    word >>>= 4;
  }
}

function hexValue(byte: number): number {
  if (byte >= 48 && byte <= 57) return byte - 48;
  if (byte >= 97 && byte <= 102) return byte - 87;
  if (byte >= 65 && byte <= 70) return byte - 55;
  throw new SyntaxError(`not a hex digit: ${String.fromCharCode(byte)}`);
}
