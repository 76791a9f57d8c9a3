/**
 * The transform's benchmark (issue 28): does a day's transform cost a day, whatever the history?
 * Two scratch warehouses, one with 1 day of history and one with `historyDays` days of
 * `usersPerDay` stand-in users each (each day streamed in with `extract --load`, then built by
 * one transform). On each, `days` more days are loaded and transformed one by one, as the daily
 * pipeline does, and `deno task transform --ds D` is timed: the median is the daily transform
 * at that history. Then, on the long history: a transform with nothing to take in (dbt's own
 * fixed cost: parsing, seeds, the fixed calendar, the tests) and `--full-refresh`. dbt's
 * `run_results.json` of the long history's last daily transform gives the slowest nodes.
 *
 * @module
 */
import { addDays } from "../tasks/shared/dates.ts";
import type { Logger } from "../tasks/shared/logger.ts";
import { startFakeRandomUser } from "../tasks/stand_in/randomuser_server.ts";
import { type BenchServer, createBenchDatabase } from "./bench_database.ts";
import { median } from "./extract_bench.ts";
import { assertSucceeded, denoScript, runTimed, type TimingTools } from "./timed_process.ts";

/** Options for {@linkcode benchTransform}. */
export interface TransformBenchOptions {
  server: BenchServer;
  usersPerDay: number;
  /** Days of history of the long warehouse (the short one has 1). */
  historyDays: number;
  /** Daily transforms timed on each warehouse. */
  days: number;
  /** The first ds of the history. */
  firstDs: string;
  /** `DBT_RUNNER` for the transform. */
  dbtRunner: string;
  workspace: string;
  tools: TimingTools;
  logger: Logger;
  signal: AbortSignal;
}

/** A dbt node's time in the build. */
export interface NodeTiming {
  readonly node: string;
  readonly seconds: number;
}

/** The daily transform on one warehouse. */
export interface HistoryFigure {
  readonly historyDays: number;
  /** Rows of raw.users before the timed days. */
  readonly rows: number;
  /** Seconds of each timed daily transform (wall clock of `deno task transform --ds D`). */
  readonly dailySeconds: readonly number[];
  readonly medianSeconds: number;
}

/** What the transform benchmark measured. */
export interface TransformBenchResult {
  readonly usersPerDay: number;
  readonly short: HistoryFigure;
  readonly long: HistoryFigure;
  /** long ÷ short daily medians. */
  readonly ratio: number;
  /** A transform with no batch to take in, on the long history. */
  readonly nothingToDoSeconds: number;
  /** `transform --full-refresh` on the long history (plus its timed days). */
  readonly fullRefreshSeconds: number;
  /** The slowest nodes of the long history's last daily transform. */
  readonly slowestNodes: readonly NodeTiming[];
  /** Filling and building both histories (migrate, extract --load of each day, one transform). */
  readonly fillSeconds: number;
}

/** Runs the benchmark; see the module documentation. */
export async function benchTransform(
  options: TransformBenchOptions,
): Promise<TransformBenchResult> {
  await using api = await startFakeRandomUser({
    now: new Date(new Date().toISOString().slice(0, 10)),
  });
  const short = await benchHistory(options, { api: api.url, historyDays: 1, name: "short" });
  const long = await benchHistory(options, {
    api: api.url,
    historyDays: options.historyDays,
    name: "long",
  });
  return {
    usersPerDay: options.usersPerDay,
    short: short.figure,
    long: long.figure,
    ratio: long.figure.medianSeconds / short.figure.medianSeconds,
    nothingToDoSeconds: long.nothingToDoSeconds,
    fullRefreshSeconds: long.fullRefreshSeconds,
    slowestNodes: long.slowestNodes,
    fillSeconds: short.fillSeconds + long.fillSeconds,
  };
}

async function benchHistory(
  options: TransformBenchOptions,
  history: { api: string; historyDays: number; name: string },
) {
  const { logger } = options;
  await using db = await createBenchDatabase(options.server, `transform_${history.name}`);
  const dataDir = `${options.workspace}/transform-${history.name}`;
  const env = {
    DATABASE_URL: db.url,
    RANDOMUSER_API_URL: history.api,
    DATA_DIR: dataDir,
    DBT_RUNNER: options.dbtRunner,
  };
  const task = async (script: string, args: readonly string[], what: string) => {
    options.signal.throwIfAborted();
    const run = await runTimed(denoScript(script, args), {
      env,
      cwd: options.workspace,
      tools: options.tools,
    });
    assertSucceeded(run, what);
    return run;
  };
  const extractLoad = (ds: string) =>
    task(
      "tasks/extract.ts",
      ["--ds", ds, "--users", String(options.usersPerDay), "--load"],
      `extract --load ${ds}`,
    );
  const filling = performance.now();
  await task("tasks/migrate.ts", [], "migrate");
  logger.info("filling the history", {
    warehouse: history.name,
    days: history.historyDays,
    users_per_day: options.usersPerDay,
  });
  for (let day = 0; day < history.historyDays; day++) {
    await extractLoad(addDays(options.firstDs, day));
  }
  const lastHistoryDs = addDays(options.firstDs, history.historyDays - 1);
  await task("tasks/dbt_build.ts", ["--ds", lastHistoryDs], "transform of the history");
  const fillSeconds = (performance.now() - filling) / 1000;
  const [counted] = await db.sql<{ n: number }[]>`select count(*)::int as n from raw.users`;
  const dailySeconds: number[] = [];
  for (let day = 1; day <= options.days; day++) {
    const ds = addDays(lastHistoryDs, day);
    await extractLoad(ds);
    const run = await task("tasks/dbt_build.ts", ["--ds", ds], `transform ${ds}`);
    dailySeconds.push(run.wallSeconds);
    logger.info("daily transform", {
      warehouse: history.name,
      ds,
      seconds: run.wallSeconds.toFixed(2),
    });
  }
  const slowestNodes = await slowestOf(`${dataDir}/dbt/target/run_results.json`);
  const lastDs = addDays(lastHistoryDs, options.days);
  const idle = await task("tasks/dbt_build.ts", ["--ds", lastDs], "transform, nothing to do");
  const full = await task(
    "tasks/dbt_build.ts",
    ["--ds", lastDs, "--full-refresh"],
    "transform --full-refresh",
  );
  return {
    figure: {
      historyDays: history.historyDays,
      rows: counted?.n ?? 0,
      dailySeconds,
      medianSeconds: median(dailySeconds),
    },
    fillSeconds,
    nothingToDoSeconds: idle.wallSeconds,
    fullRefreshSeconds: full.wallSeconds,
    slowestNodes,
  };
}

/** The five slowest nodes of a dbt run, from its `run_results.json`. */
async function slowestOf(path: string): Promise<NodeTiming[]> {
  const parsed = JSON.parse(await Deno.readTextFile(path)) as {
    results: Array<{ unique_id: string; execution_time: number }>;
  };
  return parsed.results
    .map((result) => ({ node: result.unique_id, seconds: result.execution_time }))
    .sort((a, b) => b.seconds - a.seconds)
    .slice(0, 5);
}
