/**
 * The daily scheduler behind `deno task start`: `Deno.cron` triggers both pipelines every day
 * (UTC); on start (the warehouse open and migrated by the caller) it installs the dbt runtime if
 * missing, marks orphaned runs failed, and runs today's pipelines — and, with `CATCHUP=true`, every missed date
 * since `PIPELINE_START_DATE` — when they have not succeeded yet. transform for a ds starts
 * right after its extract_load succeeds.
 *
 * @module
 */
import { dateRange, FIRST_LOGICAL_DATE, todayUtc } from "../tasks/shared/dates.ts";
import { errorMessage } from "../tasks/shared/errors.ts";
import type { Logger } from "../tasks/shared/logger.ts";
import { type DbtSettings, prepareDbtRuntime } from "../tasks/transform/dbt_runner.ts";
import type { Warehouse } from "../tasks/warehouse/warehouse.ts";
import type { Pipelines } from "./definitions.ts";
import type { Trigger } from "./ledger.ts";
import { PipelineRunner, type RunOutcome } from "./runner.ts";

/** Options for {@linkcode runScheduler}. */
export interface SchedulerOptions {
  pipelines: Pipelines;
  /** Open and migrated. */
  warehouse: Warehouse;
  logger: Logger;
  /** Where the tries' log files go. */
  logDir: string;
  /** Installed before the first run when the local runner needs it. */
  dbt: DbtSettings;
  /** At start, also run every date since `startDate` that has not succeeded. */
  catchup: boolean;
  /**
   * First date of catch-up; default the first ds in the ledger (but not before 2000-01-01), else
   * today.
   */
  startDate: string | undefined;
  /** Aborting it stops the crons; a running task gets a grace period, then is stopped. */
  signal: AbortSignal;
  shutdownGraceMs?: number;
}

/** Runs until `signal` is aborted and the work in progress has ended. */
export async function runScheduler(options: SchedulerOptions): Promise<void> {
  const { pipelines, warehouse, logger, signal } = options;
  await prepareDbtRuntime(options.dbt, { logger });
  const runner = new PipelineRunner({
    pipelines,
    warehouse,
    logger,
    logDir: options.logDir,
    signal,
    ...(options.shutdownGraceMs === undefined ? {} : { shutdownGraceMs: options.shutdownGraceMs }),
  });
  for (const orphan of await runner.ledger.recoverOrphans()) {
    logger.warn("marked an orphaned run failed", {
      pipeline: orphan.pipeline,
      ds: orphan.ds,
      run_id: orphan.run_id,
    });
  }

  // Work in progress, awaited on shutdown. `guard` logs an unexpected error (a lost warehouse
  // connection, say) instead of letting it kill the scheduler; failed runs are not errors.
  const inFlight = new Set<Promise<void>>();
  const guard = (what: string, work: () => Promise<unknown>): Promise<void> => {
    const tracked = work().then(
      () => {},
      (error) => logger.error(`${what} failed`, { error: errorMessage(error) }),
    );
    inFlight.add(tracked);
    tracked.finally(() => inFlight.delete(tracked));
    return tracked;
  };

  const crons = [
    Deno.cron("extract_load", pipelines.extract_load.schedule, { signal }, () => {
      const ds = todayUtc();
      logger.info("daily trigger fired", { pipeline: "extract_load", ds });
      return guard("scheduled run", () => runDay(runner, { ds, trigger: "schedule" }));
    }),
    Deno.cron("transform", pipelines.transform.schedule, { signal }, () => {
      const ds = todayUtc();
      logger.info("daily trigger fired", { pipeline: "transform", ds });
      return guard("scheduled run", async () => {
        if (!(await runner.ledger.hasSucceeded({ pipeline: "extract_load", ds }))) {
          logger.info("transform waits for extract_load to succeed", { ds });
          return;
        }
        await runner.run("transform", { ds, trigger: "schedule", skipIfSucceeded: true });
      });
    }),
  ];
  logger.info("scheduler started", {
    extract_load: pipelines.extract_load.schedule,
    transform: pipelines.transform.schedule,
    timezone: "UTC",
    catchup: options.catchup,
  });

  await guard("start-up run", async () => {
    for (const ds of await startupDates(runner, options)) {
      if (signal.aborted) break;
      await runDay(runner, { ds, trigger: "catchup" });
    }
  });

  if (!signal.aborted) {
    await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
  }
  logger.info("shutting down; waiting for the work in progress", { runs: inFlight.size });
  await Promise.allSettled([...inFlight, ...crons]);
  logger.info("scheduler stopped");
}

/** extract_load for `ds`, then — once it has succeeded — transform, each unless already done. */
export async function runDay(
  runner: PipelineRunner,
  day: { ds: string; trigger: Trigger },
): Promise<RunOutcome[]> {
  const extractLoad = await runner.run("extract_load", { ...day, skipIfSucceeded: true });
  if (extractLoad.state === "failed") return [extractLoad];
  const transform = await runner.run("transform", { ...day, skipIfSucceeded: true });
  return [extractLoad, transform];
}

/** Today, or with catch-up every date from the start date to today. */
async function startupDates(
  runner: PipelineRunner,
  options: { catchup: boolean; startDate: string | undefined },
): Promise<string[]> {
  const today = todayUtc();
  if (!options.catchup) return [today];
  const start = options.startDate ?? await runner.ledger.firstDs() ?? today;
  // The ledger may hold an older date, run by hand with --allow-any-date: catch-up does not
  // go back there (PIPELINE_START_DATE cannot).
  return dateRange(start < FIRST_LOGICAL_DATE ? FIRST_LOGICAL_DATE : start, today);
}
