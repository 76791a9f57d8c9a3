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
 * const summary = await runDemo({ config, days: 7, users: 2000, logger });
 * console.log(summary.report, summary.failed);
 * ```
 *
 * @module
 */
import { resolve } from "node:path";
import { ANALYSES_DIR } from "../tasks/analyses.ts";
import { writeAnalyticsReport } from "../tasks/analytics_report.ts";
import type { Config } from "../tasks/config.ts";
import type { Logger } from "../tasks/logger.ts";
import { migrate } from "../tasks/migrations.ts";
import { embeddedWarehouseDir, openWarehouse, stopEmbeddedWarehouse } from "../tasks/warehouse.ts";
import { startFakeRandomUser } from "../tests/fake_randomuser/server.ts";
import { RunLedger } from "./ledger.ts";
import { PipelineRunner, type RunOutcome } from "./runner.ts";
import { dateRange, prepareDbt, runDay } from "./scheduler.ts";
import { statusTable } from "./status_table.ts";

/** Options for {@linkcode runDemo}. */
export interface DemoOptions {
  config: Config;
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
  const { logger } = options;
  const print = options.print ?? console.log;
  // The demo's files and embedded warehouse live apart from the main job's, so its stand-in users
  // never mix with real ones.
  const dataDir = resolve(options.config.dataDir, "demo");
  const config: Config = Object.freeze({
    ...options.config,
    dataDir,
    usersPerRun: options.users,
    // Nothing here is flaky enough to wait 3 minutes for; a real failure still shows.
    taskRetryDelayMs: Math.min(options.config.taskRetryDelayMs, 2_000),
  });
  const today = new Date().toISOString().slice(0, 10);
  const from = new Date(Date.parse(`${today}T00:00:00Z`) - (options.days - 1) * 86_400_000)
    .toISOString().slice(0, 10);
  // Ages are computed against the start of today, so a re-run the same day serves the same users.
  await using api = await startFakeRandomUser({ now: new Date(`${today}T00:00:00Z`) });
  logger.info("started the stand-in Random User API (not randomuser.me)", { url: api.url });
  const warehouse = await openWarehouse(config, { logger });
  try {
    await migrate(warehouse.sql);
    await prepareDbt(config, logger);
    const runner = new PipelineRunner({
      config,
      warehouse,
      logger,
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
      await stopEmbeddedWarehouse(embeddedWarehouseDir(config));
      logger.info("stopped the demo's embedded warehouse", { dir: embeddedWarehouseDir(config) });
    }
  }
}
