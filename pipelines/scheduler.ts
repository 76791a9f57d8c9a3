/**
 * The daily scheduler behind `deno task start`: `Deno.cron` triggers both pipelines every day
 * (UTC); on start it brings up what is missing (warehouse, migrations, dbt runtime), marks
 * orphaned runs failed, and runs today's pipelines — and, with `CATCHUP=true`, every missed date
 * since `PIPELINE_START_DATE` — when they have not succeeded yet. transform for a ds starts
 * right after its extract_load succeeds.
 *
 * @module
 */
import type { Config } from "../tasks/config.ts";
import { prepareRunner } from "../tasks/dbt_runner.ts";
import { errorMessage } from "../tasks/errors.ts";
import type { Logger } from "../tasks/logger.ts";
import { migrate } from "../tasks/migrations.ts";
import { todayUtc } from "../tasks/task_command.ts";
import type { Warehouse } from "../tasks/warehouse.ts";
import { definePipelines } from "./definitions.ts";
import type { Trigger } from "./ledger.ts";
import { PipelineRunner, type RunOutcome } from "./runner.ts";

/** Options for {@linkcode runScheduler}. */
export interface SchedulerOptions {
  config: Config;
  warehouse: Warehouse;
  logger: Logger;
  /** Aborting it stops the crons; a running task gets a grace period, then is stopped. */
  signal: AbortSignal;
  shutdownGraceMs?: number;
}

/** Runs until `signal` is aborted and the work in progress has ended. */
export async function runScheduler(options: SchedulerOptions): Promise<void> {
  const { config, warehouse, logger, signal } = options;
  const { applied } = await migrate(warehouse.sql);
  if (applied.length > 0) logger.info("migrated the warehouse", { applied: applied.length });
  await prepareRunner({ ...config, logger });
  const runner = new PipelineRunner({
    config,
    warehouse,
    logger,
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

  const pipelines = definePipelines(config);
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
    catchup: config.catchup,
  });

  await guard("start-up run", async () => {
    for (const ds of await startupDates(runner, config)) {
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
async function runDay(
  runner: PipelineRunner,
  day: { ds: string; trigger: Trigger },
): Promise<RunOutcome[]> {
  const extractLoad = await runner.run("extract_load", { ...day, skipIfSucceeded: true });
  if (extractLoad.state === "failed") return [extractLoad];
  const transform = await runner.run("transform", { ...day, skipIfSucceeded: true });
  return [extractLoad, transform];
}

/** Today, or with catch-up every date from the start date to today. */
async function startupDates(runner: PipelineRunner, config: Config): Promise<string[]> {
  const today = todayUtc();
  if (!config.catchup) return [today];
  const start = config.pipelineStartDate ?? await runner.ledger.firstDs() ?? today;
  return dateRange(start, today);
}

/** Every date from `from` to `to`, inclusive, as `YYYY-MM-DD`. */
export function dateRange(from: string, to: string): string[] {
  const dates: string[] = [];
  for (let day = new Date(`${from}T00:00:00Z`); day <= new Date(`${to}T00:00:00Z`);) {
    dates.push(day.toISOString().slice(0, 10));
    day = new Date(day.getTime() + 86_400_000);
  }
  return dates;
}
