/**
 * One page of the Random User API as bytes, and what makes a body the page that was asked for:
 * JSON, a `results` array of the requested length, and (when present) `info` naming the same
 * seed and page. A body that is not is a {@linkcode PageError}: the client retries the request.
 *
 * @example
 * ```ts
 * const results = parseApiPage(body, { seed: "s", page: 1, results: 5000 });
 * ```
 *
 * @module
 */
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

/** The `results` of a page body, checked against the request; throws {@linkcode PageError}. */
export function parseApiPage(body: Uint8Array, request: PageRequest): unknown[] {
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(body));
  } catch (error) {
    throw new PageError(`the response body is not valid JSON (${errorMessage(error)})`);
  }
  if (typeof json !== "object" || json === null || !("results" in json)) {
    const apiError = typeof json === "object" && json !== null && "error" in json
      ? `: ${String(json.error)}`
      : "";
    throw new PageError(`the response has no "results" array${apiError}`);
  }
  const { results } = json;
  if (!Array.isArray(results)) throw new PageError(`"results" is not an array`);
  if (results.length !== request.results) {
    throw new PageError(`the page has ${results.length} users, expected ${request.results}`);
  }
  const info = "info" in json && typeof json.info === "object" && json.info !== null
    ? json.info as Record<string, unknown>
    : undefined;
  if (info && (info.seed !== request.seed || Number(info.page) !== request.page)) {
    throw new PageError(
      `the response is for seed ${String(info.seed)} page ${String(info.page)}, ` +
        `expected seed ${request.seed} page ${request.page}`,
    );
  }
  return results;
}
