/**
 * `deno task freshness [--ds D] [--allow-any-date]`: `dbt source freshness` of raw.users, recorded
 * in `meta.source_freshness`. Past `FRESHNESS_WARN_AFTER` it succeeds with a `warning:` line (the
 * pipeline's alerts tell it); past `FRESHNESS_ERROR_AFTER` it fails with exit 3 (terminal: loading
 * makes the data fresh, retrying the check does not).
 *
 * @module
 */
import { loadConfig } from "./shared/config.ts";
import { Logger } from "./shared/logger.ts";
import {
  allowAnyDateOption,
  dsOption,
  printSummary,
  printWarning,
  runTask,
  taskCommand,
} from "./shared/task_command.ts";
import { dbtOutDir } from "./transform/dbt_runner.ts";
import { checkSourceFreshness, freshnessVerdict } from "./transform/source_freshness.ts";
import { openWarehouse } from "./warehouse/warehouse.ts";

const program = taskCommand(
  "freshness",
  "Check how long ago raw.users was last loaded (dbt source freshness) against " +
    "FRESHNESS_WARN_AFTER and FRESHNESS_ERROR_AFTER, and record it in meta.source_freshness. " +
    "Warns past the first; exits 3 past the second.",
)
  .addOption(dsOption())
  .addOption(allowAnyDateOption());

if (import.meta.main) {
  await runTask(program, async (options) => {
    const config = await loadConfig();
    const logger = new Logger("freshness");
    await using warehouse = await openWarehouse(config.warehouse, { logger });
    const check = await checkSourceFreshness(warehouse, {
      dbt: config.dbt,
      ds: options.ds,
      outDir: dbtOutDir(config.dataDir),
      ...config.freshness,
      logger,
    });
    const age = check.result?.ageSeconds;
    printSummary("freshness", {
      ds: options.ds,
      status: check.result?.status ?? "unchecked",
      max_loaded_at: check.result?.maxLoadedAt?.toISOString(),
      age_hours: typeof age === "number" ? (age / 3600).toFixed(1) : undefined,
      warn_after_minutes: check.warnAfterMinutes,
      error_after_minutes: check.errorAfterMinutes,
    });
    const verdict = freshnessVerdict(check);
    if (verdict.warning) printWarning(verdict.warning);
    if (verdict.error) throw verdict.error;
  });
}
