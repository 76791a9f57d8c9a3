/**
 * The reference an extract is measured against: a plain `fetch` + `response.json()` loop over
 * the same pages, with the same number of requests in flight, that does nothing with the users.
 * No extract can be faster than this on the same machine; `bench/main.ts` runs it as a
 * subprocess, like the extract, and prints one summary line.
 *
 * @example
 * ```sh
 * deno run -A bench/fetch_reference.ts --url http://127.0.0.1:8787/api/ --seed s --users 50000
 * ```
 *
 * @module
 */
import { Command, InvalidArgumentError } from "@commander-js/extra-typings";
import { peakRssMb } from "../tasks/shared/peak_rss.ts";

function count(value: string): number {
  const number = Number(value);
  if (!/^\d+$/.test(value) || number < 1) {
    throw new InvalidArgumentError("expected a whole number of at least 1.");
  }
  return number;
}

/** What one reference run fetched. */
export interface ReferenceSummary {
  readonly users: number;
  readonly bytes: number;
  readonly seconds: number;
}

/** Options for {@linkcode fetchAll}. */
export interface FetchAllOptions {
  /** The API base, e.g. `http://127.0.0.1:8787/api/`. */
  url: string;
  seed: string;
  users: number;
  pageSize: number;
  concurrency: number;
}

/** Fetches and parses every page of a run, `concurrency` at a time, and counts the users. */
export async function fetchAll(options: FetchAllOptions): Promise<ReferenceSummary> {
  const started = performance.now();
  const pages = Math.ceil(options.users / options.pageSize);
  let next = 1;
  let users = 0;
  let bytes = 0;
  const worker = async () => {
    while (next <= pages) {
      const page = next++;
      const results = Math.min(options.pageSize, options.users - (page - 1) * options.pageSize);
      const url = new URL(options.url);
      url.searchParams.set("results", String(results));
      url.searchParams.set("seed", options.seed);
      url.searchParams.set("page", String(page));
      const response = await fetch(url);
      if (!response.ok) {
        throw new Error(`page ${page}: ${response.status} ${await response.text()}`);
      }
      bytes += Number(response.headers.get("content-length") ?? 0);
      const body = await response.json() as { results: unknown[] };
      users += body.results.length;
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return { users, bytes, seconds: (performance.now() - started) / 1000 };
}

if (import.meta.main) {
  const options = new Command("fetch_reference")
    .description("fetch + response.json() over a Random User API, as a ceiling for the extract")
    .requiredOption("--url <url>", "the API base")
    .requiredOption("--seed <seed>", "the API seed")
    .requiredOption("--users <n>", "users to fetch", count)
    .option("--page-size <n>", "users per request", count, 5_000)
    .option("--concurrency <n>", "requests in flight", count, 4)
    .parse(Deno.args, { from: "user" })
    .opts();
  const summary = await fetchAll({
    url: options.url,
    seed: options.seed,
    users: options.users,
    pageSize: options.pageSize,
    concurrency: options.concurrency,
  });
  console.log(
    `reference users=${summary.users} api_mb=${(summary.bytes / 1e6).toFixed(1)} ` +
      `seconds=${summary.seconds.toFixed(2)} peak_rss_mb=${peakRssMb() ?? ""}`,
  );
}
