/**
 * One page of the Random User API as bytes, and what makes a body the page that was asked for:
 * JSON, a `results` array of the requested length, and (when present) `info` naming the same
 * seed and page. A body that is not is a {@linkcode PageError}: the client retries the request.
 *
 * {@linkcode readApiPage} hands out the records one at a time, decoded and parsed by `JSON.parse`
 * a few dozen at a time straight from the body's bytes (JSON's structure is ASCII, so it is found
 * in the UTF-8 bytes): neither the page's records nor its text ever live whole. Parsed whole, a 5 000-user
 * page became an 11 MB string and ~40 MB of objects that outlived the young generation, and each
 * worker's heap grew past 100 MB (issue 18).
 *
 * @example
 * ```ts
 * for (const record of readApiPage(body, { seed: "s", page: 1, results: 5000 })) use(record);
 * ```
 *
 * @module
 */
import {
  BACKSLASH,
  CLOSE_BRACE,
  CLOSE_BRACKET,
  COLON,
  COMMA,
  OPEN_BRACE,
  OPEN_BRACKET,
  QUOTE,
} from "./ascii.ts";
import { errorMessage } from "../shared/errors.ts";

/** One request: a page of `results` users for `seed`. */
export interface PageRequest {
  readonly seed: string;
  readonly page: number;
  readonly results: number;
}

/** A response body that is not the page asked for (truncated, malformed, short, another page). */
export class PageError extends Error {
  override name = "PageError";
}

const decoder = new TextDecoder("utf-8", { fatal: true });
/** Bytes of records parsed at once. */
const BATCH_BYTES = 64 * 1024;

/** A malformed body, in `JSON.parse`'s manner. */
function malformed(detail: string): PageError {
  return new PageError(`the response body is not valid JSON (${detail})`);
}

function isSpace(code: number): boolean {
  return code === 32 || code === 10 || code === 13 || code === 9;
}

function skipSpace(bytes: Uint8Array, at: number): number {
  while (at < bytes.length && isSpace(bytes[at]!)) at++;
  return at;
}

/** The index just past the string that starts (with its quote) at `at`. */
function stringEnd(bytes: Uint8Array, at: number): number {
  // A plain loop: most strings here are a few bytes long, shorter than a call to indexOf costs.
  for (let i = at + 1; i < bytes.length; i++) {
    const code = bytes[i];
    if (code === QUOTE) return i + 1;
    if (code === BACKSLASH) i++;
  }
  throw malformed("Unterminated string in JSON");
}

/** The index just past the JSON value that starts at `at` (its validity is JSON.parse's job). */
function valueEnd(bytes: Uint8Array, at: number): number {
  const first = bytes[at];
  if (first === QUOTE) return stringEnd(bytes, at);
  if (first !== OPEN_BRACE && first !== OPEN_BRACKET) {
    // A number or a literal: up to the next structural character or space.
    let end = at;
    while (end < bytes.length) {
      const code = bytes[end]!;
      if (code === COMMA || code === CLOSE_BRACKET || code === CLOSE_BRACE || isSpace(code)) break;
      end++;
    }
    if (end === at) throw malformed(`Unexpected token at position ${at}`);
    return end;
  }
  let depth = 0;
  const length = bytes.length;
  for (let i = at; i < length; i++) {
    const code = bytes[i];
    if (code === QUOTE) {
      // The string's bytes, inline (this loop sees every byte of the page).
      for (i++; i < length; i++) {
        const inner = bytes[i];
        if (inner === QUOTE) break;
        if (inner === BACKSLASH) i++;
      }
    } else if (code === OPEN_BRACE || code === OPEN_BRACKET) depth++;
    else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) {
      if (--depth === 0) return i + 1;
    }
  }
  throw malformed("Unexpected end of JSON input");
}

/** The records between `start` and `end` (values and the commas between them) as an array. */
function parseBatch(bytes: Uint8Array, start: number, end: number): unknown[] {
  try {
    return JSON.parse(`[${decoder.decode(bytes.subarray(start, end))}]`);
  } catch (error) {
    throw malformed(errorMessage(error));
  }
}

function parseValue(bytes: Uint8Array, start: number, end: number): unknown {
  try {
    return JSON.parse(decoder.decode(bytes.subarray(start, end)));
  } catch (error) {
    throw malformed(errorMessage(error));
  }
}

function expect(bytes: Uint8Array, at: number, code: number): number {
  if (bytes[at] !== code) {
    throw malformed(
      at >= bytes.length
        ? "Unexpected end of JSON input"
        : `Expected '${String.fromCharCode(code)}' at position ${at}`,
    );
  }
  return at + 1;
}

/** What {@linkcode readApiPage} hands out for a record its `take` took from the bytes. */
export const TAKEN: unique symbol = Symbol("taken");

/**
 * Reads a record straight from the body's bytes, starting at `start`: returns where it ends, or
 * -1 to have it parsed instead. A record it takes must be valid JSON (it is not parsed).
 */
export type TakeRecord = (body: Uint8Array, start: number) => number;

/**
 * The records of a page body, one at a time, checked against the request: a {@linkcode
 * PageError} when the body is not JSON, has no `results` array, holds another number of records
 * than asked for, or names another seed or page — raised, for the last checks, once the records
 * are read (a caller discards what it made of them). Before each record is handed out,
 * `read.end` is where its bytes end: the body before that is read and may be written over.
 *
 * With `take`, each record is offered to it first; the ones it takes are handed out as
 * {@linkcode TAKEN}, the others are parsed one at a time.
 */
export function* readApiPage(
  body: Uint8Array,
  request: PageRequest,
  read: { end: number } = { end: 0 },
  take?: TakeRecord,
): Generator<unknown> {
  let at = expect(body, skipSpace(body, 0), OPEN_BRACE);
  const fields: Record<string, unknown> = {};
  let records = -1;
  at = skipSpace(body, at);
  if (body[at] === CLOSE_BRACE) at++;
  else {
    for (;;) {
      at = skipSpace(body, at);
      if (body[at] !== QUOTE) throw malformed(`Expected a key at position ${at}`);
      const keyEnd = stringEnd(body, at);
      const key = parseValue(body, at, keyEnd) as string;
      at = skipSpace(body, expect(body, skipSpace(body, keyEnd), COLON));
      if (key === "results" && body[at] === OPEN_BRACKET) {
        if (records >= 0) throw new PageError(`the response has "results" twice`);
        records = 0;
        at = skipSpace(body, at + 1);
        if (body[at] === CLOSE_BRACKET) at++;
        else if (take) {
          for (;;) {
            let end = take(body, at);
            let record: unknown = TAKEN;
            if (end < 0) {
              end = valueEnd(body, at);
              record = parseValue(body, at, end);
            }
            read.end = end;
            records++;
            yield record;
            at = skipSpace(body, end);
            if (body[at] === CLOSE_BRACKET) {
              at++;
              break;
            }
            at = skipSpace(body, expect(body, at, COMMA));
          }
        } else {
          // Records go through JSON.parse a batch at a time (~64 KB: a few dozen records), as the
          // array their bytes already form: one call per batch, and objects that die young.
          let closed = false;
          while (!closed) {
            const batchStart = at;
            let batchEnd = at;
            while (batchEnd - batchStart < BATCH_BYTES) {
              batchEnd = valueEnd(body, at);
              at = skipSpace(body, batchEnd);
              if (body[at] === CLOSE_BRACKET) {
                at++;
                closed = true;
                break;
              }
              at = skipSpace(body, expect(body, at, COMMA));
            }
            const batch = parseBatch(body, batchStart, batchEnd);
            read.end = batchEnd;
            for (const record of batch) {
              records++;
              yield record;
            }
          }
        }
      } else {
        const end = valueEnd(body, at);
        fields[key] = parseValue(body, at, end);
        at = end;
      }
      at = skipSpace(body, at);
      if (body[at] === CLOSE_BRACE) {
        at++;
        break;
      }
      at = expect(body, at, COMMA);
    }
  }
  if (skipSpace(body, at) !== body.length) {
    throw malformed(`Unexpected non-whitespace character after JSON at position ${at}`);
  }
  // Every byte went through the strict decoder but those between values: spaces and punctuation.
  checkPage(fields, { records, request });
}

function checkPage(
  fields: Record<string, unknown>,
  { records, request }: { records: number; request: PageRequest },
): void {
  if (records < 0) {
    if ("results" in fields) throw new PageError(`"results" is not an array`);
    const apiError = "error" in fields ? `: ${String(fields.error)}` : "";
    throw new PageError(`the response has no "results" array${apiError}`);
  }
  if (records !== request.results) {
    throw new PageError(`the page has ${records} users, expected ${request.results}`);
  }
  const info = typeof fields.info === "object" && fields.info !== null
    ? fields.info as Record<string, unknown>
    : undefined;
  if (info && (info.seed !== request.seed || Number(info.page) !== request.page)) {
    throw new PageError(
      `the response is for seed ${String(info.seed)} page ${String(info.page)}, ` +
        `expected seed ${request.seed} page ${request.page}`,
    );
  }
}

/** Every record of a page body at once (for callers that keep them all anyway). */
export function parseApiPage(body: Uint8Array, request: PageRequest): unknown[] {
  return [...readApiPage(body, request)];
}
