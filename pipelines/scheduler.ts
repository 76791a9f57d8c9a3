/**
 * The daily scheduler behind `deno task start`: `Deno.cron` triggers both pipelines every day
 * (UTC); on start (the warehouse open and migrated by the caller) it installs the dbt runtime if
 * missing, marks orphaned runs failed, and runs today's pipelines — and, with `CATCHUP=true`, every missed date
 * since `PIPELINE_START_DATE` — when they have not succeeded yet. transform for a ds starts
 * right after its extract_load succeeds. With alerts, it checks at start and then hourly whether
 * the data is stale (no extract_load succeeded for the ds due, `STALE_AFTER` past its schedule).
 *
 * @module
 */
import { dateRange, FIRST_LOGICAL_DATE, todayUtc } from "../tasks/shared/dates.ts";
import { errorMessage } from "../tasks/shared/errors.ts";
import type { Logger } from "../tasks/shared/logger.ts";
import { type DbtSettings, prepareDbtRuntime } from "../tasks/transform/dbt_runner.ts";
import type { Warehouse } from "../tasks/warehouse/warehouse.ts";
import { runBackfill } from "./backfill.ts";
import type { ConsoleAction, SchedulerHandle } from "./console/console_actions.ts";
import type { Alerter } from "./alerts/alerter.ts";
import type { Pipelines } from "./definitions.ts";
import type { Trigger } from "./ledger.ts";
import { PipelineRunner, type RunOutcome } from "./runner.ts";

/**
 * The scheduler as the console sees it: whether its loop is alive (starting, running, shutting
 * down, stopped), and the door through which the console's actions become the scheduler's own
 * tracked work — the same runner, under the same lock, as every run.
 */
export class SchedulerStatus implements SchedulerHandle {
  #phase: "starting" | "running" | "stopping" | "stopped" = "starting";
  #start: ((action: ConsoleAction) => void) | undefined;

  problem(): string | undefined {
    switch (this.#phase) {
      case "running":
        return undefined;
      case "starting":
        return "is starting";
      case "stopping":
        return "is shutting down";
      case "stopped":
        return "has stopped";
    }
  }

  start(action: ConsoleAction): void {
    if (this.#phase !== "running" || !this.#start) {
      throw new Error(`the scheduler ${this.problem()}: it cannot start ${action.kind}`);
    }
    this.#start(action);
  }

  /** The loop runs: `start` hands actions over to it. */
  running(start: (action: ConsoleAction) => void): void {
    this.#phase = "running";
    this.#start = start;
  }

  /** The loop winds down; no new action starts. */
  stopping(): void {
    this.#phase = "stopping";
    this.#start = undefined;
  }

  stopped(): void {
    this.#phase = "stopped";
    this.#start = undefined;
  }
}

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
  /** Values no error line or kept output may show (`configSecrets`). */
  secrets?: readonly string[];
  /** Told what the loop is doing, and hands the console's actions to it. */
  status?: SchedulerStatus;
  /** Webhook alerts: of every run, and of stale data. */
  alerts?: Alerter;
  /** How long past a day's schedule its extract_load may be missing (`STALE_AFTER`). */
  staleAfterMs: number;
}

/** When the staleness check runs: hourly, off the hour and off the daily triggers. */
const STALENESS_SCHEDULE = "17 * * * *";

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
    ...(options.secrets === undefined ? {} : { secrets: options.secrets }),
    ...(options.alerts ? { alerts: options.alerts } : {}),
  });
  try {
    await schedule(runner, options);
  } finally {
    options.status?.stopped();
  }
}

async function schedule(runner: PipelineRunner, options: SchedulerOptions): Promise<void> {
  const { pipelines, logger, signal } = options;
  for (const orphan of await runner.ledger.recoverOrphans()) {
    logger.warn("marked an orphaned run failed", {
      pipeline: orphan.pipeline,
      ds: orphan.ds,
      run_id: orphan.run_id,
    });
    await options.alerts?.runFinished(orphan.run_id);
  }
  const { alerts } = options;
  const checkStaleness = () =>
    alerts?.checkStaleness({
      pipeline: pipelines.extract_load,
      staleAfterMs: options.staleAfterMs,
    });

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
    ...(alerts
      ? [Deno.cron("staleness", STALENESS_SCHEDULE, { signal }, () => {
        return guard("staleness check", async () => await checkStaleness());
      })]
      : []),
  ];
  logger.info("scheduler started", {
    extract_load: pipelines.extract_load.schedule,
    transform: pipelines.transform.schedule,
    timezone: "UTC",
    catchup: options.catchup,
  });
  options.status?.running((action) => {
    guard("console action", () => runAction(runner, action));
  });
  signal.addEventListener("abort", () => options.status?.stopping(), { once: true });

  // Before the start-up runs: a machine that was off for days says so, even if today succeeds.
  await guard("staleness check", async () => await checkStaleness());
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

/** A console action: the pipeline again for its date (as `deno task run`), or a backfill. */
async function runAction(runner: PipelineRunner, action: ConsoleAction): Promise<unknown> {
  if (action.kind === "run") {
    return await runner.run(action.pipeline, { ds: action.ds, trigger: "manual" });
  }
  return await runBackfill(runner, action);
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
