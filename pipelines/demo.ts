/**
 * `deno task demo`: the whole product offline in one command. It starts the stand-in Random User
 * API in this process on a free loopback port, runs both pipelines — every task a subprocess, as
 * in production — for the last few logical dates into the embedded warehouse of `DATA_DIR/demo`
 * (or `DATABASE_URL`), writes the HTML report, prints the status table and the report's path,
 * and stops everything it started. A date that already succeeded is not run again, so a second
 * demo changes no row.
 *
 * @example
 * ```ts
 * const summary = await runDemo({ dataDir: "data/demo", warehouseUrl: undefined, …, logger });
 * console.log(summary.report, summary.failed);
 * ```
 *
 * @module
 */
import { resolve } from "node:path";
import { ANALYSES_DIR } from "../tasks/shared/paths.ts";
import { writeAnalyticsReport } from "../tasks/analytics/analytics_report.ts";
import type { Logger } from "../tasks/shared/logger.ts";
import { migrate } from "../tasks/warehouse/migrations.ts";
import { stopEmbeddedWarehouse } from "../tasks/warehouse/embedded_postgres.ts";
import { openWarehouse } from "../tasks/warehouse/warehouse.ts";
import { startFakeRandomUser } from "../tasks/stand_in/randomuser_server.ts";
import { RunLedger } from "./ledger.ts";
import { PipelineRunner, type RunOutcome } from "./runner.ts";
import { runDay } from "./scheduler.ts";
import { definePipelines, type RetryPolicy } from "./definitions.ts";
import { type DbtSettings, prepareDbtRuntime } from "../tasks/transform/dbt_runner.ts";
import { addDays, dateRange, todayUtc } from "../tasks/shared/dates.ts";
import { statusTable } from "./status_table.ts";

/** Options for {@linkcode runDemo}. */
export interface DemoOptions {
  /** The demo's own landing zone, logs, report and (without `warehouseUrl`) embedded warehouse. */
  dataDir: string;
  /** `DATABASE_URL`: load into that server instead of the demo's embedded warehouse. */
  warehouseUrl: string | undefined;
  dbt: DbtSettings;
  retryPolicy: RetryPolicy;
  /** Logical dates to run, ending today (UTC). */
  days: number;
  /** Users per date. */
  users: number;
  logger: Logger;
  /** Where the demo's lines go (the status table, the report's path); default stdout. */
  print?: (line: string) => void;
}

/** What the demo did. */
export interface DemoSummary {
  readonly outcomes: readonly RunOutcome[];
  /** Runs that failed (0 on success). */
  readonly failed: number;
  /** The report's path, when it was written. */
  readonly report: string | undefined;
  readonly dataDir: string;
}

/** Runs the demo; see the module documentation. */
export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const { dataDir, logger } = options;
  const print = options.print ?? console.log;
  const today = todayUtc();
  const from = addDays(today, 1 - options.days);
  const embeddedDir = resolve(dataDir, "warehouse");
  // Ages are computed against the start of today, so a re-run the same day serves the same users.
  await using api = await startFakeRandomUser({ now: new Date(`${today}T00:00:00Z`) });
  logger.info("started the stand-in Random User API (not randomuser.me)", { url: api.url });
  const warehouse = await openWarehouse({ url: options.warehouseUrl, embeddedDir }, { logger });
  try {
    await migrate(warehouse.sql);
    await prepareDbtRuntime(options.dbt, { logger });
    const runner = new PipelineRunner({
      // Nothing here is flaky enough to wait 3 minutes for; a real failure still shows.
      pipelines: definePipelines({
        retries: options.retryPolicy.retries,
        retryDelayMs: Math.min(options.retryPolicy.retryDelayMs, 2_000),
      }),
      warehouse,
      logger,
      logDir: resolve(dataDir, "logs"),
      env: {
        RANDOMUSER_API_URL: api.url,
        DATA_DIR: dataDir,
        USERS_PER_RUN: String(options.users),
      },
    });
    const outcomes: RunOutcome[] = [];
    for (const ds of dateRange(from, today)) {
      const day = await runDay(runner, { ds, trigger: "manual" });
      for (const outcome of day) {
        print(`demo pipeline=${outcome.pipeline} ds=${ds} state=${outcome.state}`);
      }
      outcomes.push(...day);
    }
    const failed = outcomes.filter((outcome) => outcome.state === "failed").length;
    let report: string | undefined;
    if (failed === 0) {
      report = resolve(dataDir, "report", "index.html");
      await writeAnalyticsReport(warehouse.sql, { analysesDir: ANALYSES_DIR, out: report, logger });
    }
    const runs = await new RunLedger(warehouse.sql).recentRuns(options.days * 2);
    print("");
    print(statusTable(runs));
    print("");
    if (report) {
      print(`report: ${report} (opens offline: file://${report})`);
    } else {
      print(`demo: ${failed} run(s) failed; the log of every try is under ${dataDir}/logs`);
    }
    print(
      `demo data: ${dataDir} (\`DATA_DIR=${dataDir} deno task status\` shows these runs again)`,
    );
    return { outcomes, failed, report, dataDir };
  } finally {
    await warehouse.close();
    if (warehouse.startedServer) {
      await stopEmbeddedWarehouse(embeddedDir);
      logger.info("stopped the demo's embedded warehouse", { dir: embeddedDir });
    }
  }
}
