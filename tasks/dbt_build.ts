/**
 * `deno task transform [--ds D] [--prepare]`: builds the star schema with `dbt build` in
 * `dbt_project` (models, seeds, data tests, unit tests) and records the run in `meta.dbt_runs`.
 * A failed build exits 1 when the warehouse connection failed (a retry may succeed) and 3 when
 * the project did (a failing test, a broken model: a retry cannot help).
 *
 * @module
 */
import { ulid } from "ulid";
import { loadConfig } from "./config.ts";
import { dbtFailureIsTransient, ensureLocalDbt, resolveRunner, runDbt } from "./dbt_runner.ts";
import { TerminalError, TransientError } from "./errors.ts";
import { Logger } from "./logger.ts";
import { dsOption, printSummary, runTask, taskCommand } from "./task_command.ts";
import { openWarehouse, type Sql } from "./warehouse.ts";
import type { DbtRunSummary } from "./dbt_runner.ts";

const program = taskCommand(
  "transform",
  "Build the dbt star schema (dbt build in dbt_project) with DBT_RUNNER (local, docker, auto) " +
    "and record the run in meta.dbt_runs. Exits 1 when the warehouse connection failed, 3 when " +
    "the project did (a failing test or model).",
)
  .addOption(dsOption())
  .option("--prepare", "only make sure the dbt runtime is installed, then exit");

if (import.meta.main) {
  await runTask(program, async (options) => {
    const config = await loadConfig();
    const logger = new Logger("transform");
    if (options.prepare) {
      const runner = await resolveRunner(config);
      if (runner === "local" && !config.dbtBin) await ensureLocalDbt({ logger });
      printSummary("transform", { prepared: runner });
      return;
    }
    await using warehouse = await openWarehouse(config, { logger });
    const startedAt = new Date();
    const summary = await runDbt(config, { warehouseUrl: warehouse.url, ds: options.ds, logger });
    await recordRun(warehouse.sql, { ds: options.ds, startedAt, summary });
    printSummary("transform", {
      ds: options.ds,
      runner: summary.runner,
      exit_code: summary.exitCode,
      models: summary.models,
      seeds: summary.seeds,
      tests: summary.tests,
      unit_tests: summary.unitTests,
      failures: summary.failures,
      warnings: summary.warnings,
      skipped: summary.skipped,
      seconds: summary.seconds.toFixed(1),
    });
    for (const node of summary.failedNodes) {
      logger.error("dbt node failed", {
        node: node.node,
        status: node.status,
        message: node.message,
      });
    }
    if (summary.exitCode !== 0) {
      // One `error:` line, so the runner's ledger says what failed, not just the exit code.
      const failure = dbtFailureIsTransient(summary) ? TransientError : TerminalError;
      throw new failure(dbtFailure(summary));
    }
  });
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
