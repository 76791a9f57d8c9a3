/**
 * `deno task transform [--ds D] [--prepare]`: builds the star schema with `dbt build` in
 * `dbt_project` (models, seeds, data tests, unit tests), records the run in `meta.dbt_runs`,
 * and exits with dbt's exit code.
 *
 * @module
 */
import { ulid } from "ulid";
import { loadConfig } from "./config.ts";
import { prepareRunner, runDbt } from "./dbt_runner.ts";
import { Logger } from "./logger.ts";
import { dsOption, printError, printSummary, runTask, taskCommand } from "./task_command.ts";
import { openWarehouse, type Sql } from "./warehouse.ts";
import type { DbtRunSummary } from "./dbt_runner.ts";

const program = taskCommand(
  "transform",
  "Build the dbt star schema (dbt build in dbt_project) with DBT_RUNNER (local, docker, auto) " +
    "and record the run in meta.dbt_runs. Exits with dbt's exit code.",
)
  .addOption(dsOption())
  .option("--prepare", "only make sure the dbt runtime is installed, then exit");

if (import.meta.main) {
  await runTask(program, async (options) => {
    const config = await loadConfig();
    const logger = new Logger("transform");
    if (options.prepare) {
      printSummary("transform", { prepared: await prepareRunner({ ...config, logger }) });
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
      printError(new Error(dbtFailure(summary)));
      Deno.exit(summary.exitCode);
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
