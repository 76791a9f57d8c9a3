/**
 * One build of the star schema for a logical date: `dbt build` (seeds, models, data and unit
 * tests), one at a time per warehouse, the run recorded in `meta.dbt_runs` whatever its outcome,
 * each failed node logged, and a failure classified — transient when the warehouse connection failed (a retry may succeed),
 * terminal when the project did (a failing test, a broken model).
 *
 * @example
 * ```ts
 * const summary = await buildStarSchema(warehouse, { dbt: config.dbt, ds, outDir, logger });
 * const failure = buildFailure(summary);
 * if (failure) throw failure;
 * ```
 *
 * @module
 */
import { ulid } from "ulid";
import { TerminalError, TransientError } from "../shared/errors.ts";
import type { Logger } from "../shared/logger.ts";
import { RAW_USERS_GATE, withAdvisoryLock } from "../warehouse/advisory_lock.ts";
import type { Sql } from "../warehouse/sql_client.ts";
import {
  dbtFailureIsTransient,
  type DbtRunSummary,
  type DbtSettings,
  runDbt,
} from "./dbt_runner.ts";

/** Options for {@linkcode buildStarSchema}. */
export interface StarSchemaBuildOptions {
  dbt: DbtSettings;
  /**
   * Logical date, recorded with the run. Not passed to dbt: no model reads it, and a var that
   * changes from one build to the next makes dbt parse the whole project again (~3 s).
   */
  ds: string;
  /** dbt's target and log directories go under it. */
  outDir: string;
  /** `dbt build --full-refresh`: every incremental mart rebuilt from all of `raw.users`. */
  fullRefresh?: boolean;
  logger?: Logger;
}

/** dbt's summary; `coveredBy` when a build that began after this one was asked for did the work. */
export type StarSchemaBuild = DbtRunSummary & { readonly coveredBy?: string };

/**
 * Runs `dbt build` against `warehouse`, records the run and logs each failed node. Resolves with
 * dbt's summary, passed or not: {@linkcode buildFailure} says whether and how it failed.
 *
 * dbt takes in every load batch no build has taken in, whatever the ds (the incremental marts,
 * `dbt_project/macros/incremental_marts.sql`), so a build that began after this one was asked
 * for (when this ds was already loaded) built this ds too: when one has succeeded by the time
 * this one gets its turn, it is not run again (`coveredBy`). Parallel runs of a backfill then
 * share builds instead of queueing one each.
 */
export async function buildStarSchema(
  warehouse: { sql: Sql; url: string },
  options: StarSchemaBuildOptions,
): Promise<StarSchemaBuild> {
  // Both times by the warehouse's clock, which every worker shares.
  const requestedAt = await warehouseNow(warehouse.sql);
  // dbt rebuilds every mart, whatever the ds: two builds at once (transform of two dates, from
  // the scheduler and a backfill, or from Airflow) would race on the same tables and on dbt's
  // target directory. An advisory lock on its own connection keeps them one after the other.
  let startedAt = requestedAt;
  let covered: StarSchemaBuild | undefined;
  const summary = await withAdvisoryLock(warehouse.sql, async () => {
    // A full refresh is asked for its own sake: a build that merely took in this ds is not one.
    covered = options.fullRefresh ? undefined : await buildSince(warehouse.sql, requestedAt);
    if (covered) return covered;
    // No load commits while dbt runs: every model sees the same raw.users.
    return await withAdvisoryLock(warehouse.sql, async () => {
      startedAt = await warehouseNow(warehouse.sql); // the build's start, after any wait
      return await runDbt(options.dbt, {
        warehouseUrl: warehouse.url,
        outDir: options.outDir,
        ...(options.fullRefresh ? { args: ["build", "--full-refresh"] } : {}),
        ...(options.logger ? { logger: options.logger } : {}),
      });
    }, {
      key: RAW_USERS_GATE,
      onWait: () =>
        options.logger?.info("waiting for the loads that are committing now", { ds: options.ds }),
    });
  }, {
    key: BUILD_LOCK,
    onWait: () =>
      options.logger?.info("another dbt build runs against this warehouse; waiting for it", {
        ds: options.ds,
      }),
  });
  if (covered) {
    options.logger?.info("a build that began after this one was asked for has built this ds", {
      ds: options.ds,
      covered_by: covered.coveredBy,
    });
    return covered;
  }
  await recordRun(warehouse.sql, { ds: options.ds, startedAt, summary });
  for (const node of summary.failedNodes) {
    options.logger?.error("dbt node failed", {
      node: node.node,
      status: node.status,
      message: node.message,
    });
  }
  return summary;
}

const BUILD_LOCK = "randomuser-elt:dbt-build";

async function warehouseNow(sql: Sql): Promise<Date> {
  const [row] = await sql<{ now: Date }[]>`select clock_timestamp() as now`;
  return row!.now;
}

/** The newest build that succeeded and began at or after `since`, as a summary. */
async function buildSince(sql: Sql, since: Date): Promise<StarSchemaBuild | undefined> {
  const [run] = await sql<
    {
      run_id: string;
      runner: "local" | "docker";
      command: string;
      models: number;
      seeds: number;
      tests: number;
      unit_tests: number;
      warnings: number;
      skipped: number;
    }[]
  >`
    select run_id, runner, command, models, seeds, tests, unit_tests, warnings, skipped
    from meta.dbt_runs where status = 'succeeded' and started_at >= ${since}
    order by started_at desc limit 1`;
  if (!run) return undefined;
  return {
    runner: run.runner,
    command: run.command,
    exitCode: 0,
    models: run.models,
    seeds: run.seeds,
    tests: run.tests,
    unitTests: run.unit_tests,
    failures: 0,
    warnings: run.warnings,
    skipped: run.skipped,
    failedNodes: [],
    outputTail: "",
    seconds: 0,
    coveredBy: run.run_id,
  };
}

/**
 * The error of a failed build, naming its first failed node: a {@linkcode TransientError} when
 * the warehouse connection failed, a {@linkcode TerminalError} when the project did; `undefined`
 * when the build passed.
 */
export function buildFailure(summary: DbtRunSummary): Error | undefined {
  if (summary.exitCode === 0) return undefined;
  const failure = dbtFailureIsTransient(summary) ? TransientError : TerminalError;
  return new failure(dbtFailure(summary));
}

function dbtFailure(summary: DbtRunSummary): string {
  const first = summary.failedNodes[0];
  if (!first) {
    return `dbt exited with code ${summary.exitCode} before it ran a node; ` +
      "see DATA_DIR/dbt/logs/dbt.log";
  }
  return `dbt build failed (exit ${summary.exitCode}): ${summary.failures} node(s) failed, ` +
    `first ${first.node} (${first.status}): ${first.message}`;
}

async function recordRun(
  sql: Sql,
  run: { ds: string; startedAt: Date; summary: DbtRunSummary },
): Promise<void> {
  const { summary } = run;
  await sql`
    insert into meta.dbt_runs (
      run_id, ds, runner, command, status, exit_code, models, seeds, tests, unit_tests,
      failures, warnings, skipped, failed_nodes, started_at, finished_at
    ) values (
      ${ulid()}, ${run.ds}::date, ${summary.runner}, ${summary.command},
      ${summary.exitCode === 0 ? "succeeded" : "failed"}, ${summary.exitCode}, ${summary.models},
      ${summary.seeds}, ${summary.tests}, ${summary.unitTests}, ${summary.failures},
      ${summary.warnings}, ${summary.skipped}, ${sql.json(summary.failedNodes as never)},
      ${run.startedAt}, now()
    )`;
}
