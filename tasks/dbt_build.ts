/**
 * `deno task transform [--ds D] [--allow-any-date] [--full-refresh] [--prepare]`: builds the star
 * schema with `dbt build` in `dbt_project` (models, seeds, data tests, unit tests) and records the
 * run in `meta.dbt_runs`. The marts that grow with the users are incremental: a build takes in the
 * load batches no build has taken in yet; `--full-refresh` rebuilds them from all of `raw.users`.
 * A failed build exits 1 when the warehouse connection failed (a retry may succeed) and 3 when
 * the project did (a failing test, a broken model: a retry cannot help).
 *
 * @module
 */
import { loadConfig } from "./shared/config.ts";
import { Logger } from "./shared/logger.ts";
import {
  allowAnyDateOption,
  dsOption,
  printSummary,
  runTask,
  taskCommand,
} from "./shared/task_command.ts";
import { dbtOutDir, prepareDbtRuntime } from "./transform/dbt_runner.ts";
import { buildFailure, buildStarSchema } from "./transform/star_schema.ts";
import { openWarehouse } from "./warehouse/warehouse.ts";

const program = taskCommand(
  "transform",
  "Build the dbt star schema (dbt build in dbt_project) with DBT_RUNNER (local, docker, auto) " +
    "and record the run in meta.dbt_runs. Exits 1 when the warehouse connection failed, 3 when " +
    "the project did (a failing test or model).",
)
  .addOption(dsOption())
  .addOption(allowAnyDateOption())
  .option(
    "--full-refresh",
    "rebuild every incremental mart from all of raw.users (dbt build --full-refresh)",
  )
  .option("--prepare", "only make sure the dbt runtime is installed, then exit");

if (import.meta.main) {
  await runTask(program, async (options) => {
    const config = await loadConfig();
    const logger = new Logger("transform");
    if (options.prepare) {
      printSummary("transform", { prepared: await prepareDbtRuntime(config.dbt, { logger }) });
      return;
    }
    await using warehouse = await openWarehouse(config.warehouse, { logger });
    const summary = await buildStarSchema(warehouse, {
      dbt: config.dbt,
      ds: options.ds,
      outDir: dbtOutDir(config.dataDir),
      fullRefresh: options.fullRefresh === true,
      logger,
    });
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
      covered_by: summary.coveredBy,
      seconds: summary.seconds.toFixed(1),
    }, { rows: summary.models });
    // One `error:` line, so the runner's ledger says what failed, not just the exit code.
    const failure = buildFailure(summary);
    if (failure) throw failure;
  });
}
