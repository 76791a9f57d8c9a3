/**
 * The console's benchmark: a scratch ledger filled with years of daily runs of both pipelines
 * (`ledger_history.ts`, the generator the metrics test reads too), a read-only console on it, and
 * the server time (its `Server-Timing` header) of the overview, the busiest run's page and
 * `/metrics` over sequential requests after a warm-up — with `/healthz` (one `select 1` through
 * the same pool) as the floor measured in the same run.
 *
 * @module
 */
import { addDays, todayUtc } from "../tasks/shared/dates.ts";
import type { Logger } from "../tasks/shared/logger.ts";
import { migrate } from "../tasks/warehouse/migrations.ts";
import type { BenchDatabase } from "./bench_database.ts";
import { median } from "./extract_bench.ts";
import { fillLedgerHistory, historyConsole } from "./ledger_history.ts";

/** Options for {@linkcode benchConsole}. */
export interface ConsoleBenchOptions {
  db: BenchDatabase;
  /** Days of history, ending yesterday (UTC). */
  days: number;
  /** Timed requests per page. */
  requests: number;
  logger: Logger;
  signal: AbortSignal;
}

/** The server time of one page over the timed requests, in milliseconds. */
export interface PageTiming {
  readonly page: string;
  readonly path: string;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly maxMs: number;
  /** Its body's size, for the record. */
  readonly bytes: number;
}

/** What the console benchmark measured. */
export interface ConsoleBenchResult {
  readonly days: number;
  readonly runs: number;
  readonly tries: number;
  readonly fillSeconds: number;
  readonly requests: number;
  /** Overview, run page, `/metrics`, then the `/healthz` floor. */
  readonly pages: readonly PageTiming[];
}

const WARM_UP = 5;

/** Runs the benchmark; see the module documentation. */
export async function benchConsole(options: ConsoleBenchOptions): Promise<ConsoleBenchResult> {
  const { db, logger } = options;
  await migrate(db.sql);
  const filled = performance.now();
  const history = await fillLedgerHistory(db.sql, {
    days: options.days,
    lastDs: addDays(todayUtc(), -1),
  });
  const fillSeconds = (performance.now() - filled) / 1000;
  logger.info("ledger history written", {
    days: options.days,
    runs: history.runs,
    tries: history.tries,
    seconds: fillSeconds.toFixed(1),
  });
  await using server = historyConsole(db.url);
  const targets: [page: string, path: string][] = [
    ["overview", "/"],
    ["run page", `/runs/${history.busiestRun}`],
    ["/metrics", "/metrics"],
    ["/healthz (floor)", "/healthz"],
  ];
  const pages: PageTiming[] = [];
  for (const [page, path] of targets) {
    options.signal.throwIfAborted();
    pages.push(await timePage(new URL(path, server.url), { ...options, page }));
  }
  return {
    days: options.days,
    runs: history.runs,
    tries: history.tries,
    fillSeconds,
    requests: options.requests,
    pages,
  };
}

/** The server's own time of `requests` sequential GETs of `url`, after a warm-up. */
async function timePage(
  url: URL,
  options: { page: string; requests: number; logger: Logger },
): Promise<PageTiming> {
  const durations: number[] = [];
  let bytes = 0;
  for (let i = 0; i < WARM_UP + options.requests; i++) {
    const response = await fetch(url);
    const body = await response.arrayBuffer();
    if (response.status !== 200) {
      throw new Error(
        `GET ${url.pathname} answered ${response.status}: ${new TextDecoder().decode(body)}`,
      );
    }
    const timing = /app;dur=([\d.]+)/.exec(response.headers.get("server-timing") ?? "")?.[1];
    if (timing === undefined) throw new Error(`GET ${url.pathname} has no Server-Timing`);
    if (i >= WARM_UP) durations.push(Number(timing));
    bytes = body.byteLength;
  }
  const timing = {
    page: options.page,
    path: url.pathname,
    p50Ms: median(durations),
    p95Ms: percentile(durations, 0.95),
    maxMs: Math.max(...durations),
    bytes,
  };
  options.logger.info("console page timed", { ...timing });
  return timing;
}

/** The nearest-rank percentile `p` (0 to 1) of `values`. */
function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? NaN;
}
