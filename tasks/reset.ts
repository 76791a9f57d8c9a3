/**
 * `deno task reset --yes [--cascade]`: drops every schema the project creates (raw, meta, staging,
 * analytics) with all their data. The only destructive command; it refuses to run without
 * `--yes`, and, when objects outside those schemas depend on them, without `--cascade`.
 *
 * @module
 */
import { loadConfig } from "./shared/config.ts";
import { UsageError } from "./shared/errors.ts";
import { Logger } from "./shared/logger.ts";
import { PIPELINE_SCHEMAS, resetWarehouse } from "./warehouse/migrations.ts";
import { printSummary, runTask, taskCommand } from "./shared/task_command.ts";
import { openWarehouse } from "./warehouse/warehouse.ts";

const program = taskCommand(
  "reset",
  `Drop the schemas ${PIPELINE_SCHEMAS.join(", ")} and ALL their data. Requires --yes.`,
)
  .option("--yes", "confirm that the data may be dropped")
  .option(
    "--cascade",
    "also drop the objects outside these schemas that depend on them (views, foreign keys, …)",
  );

if (import.meta.main) {
  await runTask(program, async (options) => {
    if (!options.yes) {
      throw new UsageError(
        `reset drops the schemas ${PIPELINE_SCHEMAS.join(", ")} and all their data; ` +
          "run `deno task reset --yes` to confirm",
      );
    }
    const config = await loadConfig();
    const logger = new Logger("reset");
    await using warehouse = await openWarehouse(config.warehouse, { logger });
    const outcome = await resetWarehouse(warehouse.sql, { cascade: options.cascade === true });
    const listed = outcome.outside.join(", ");
    if (!outcome.dropped) {
      throw new UsageError(
        `reset refused: ${outcome.outside.length} object(s) outside ` +
          `${PIPELINE_SCHEMAS.join(", ")} depend on them and would be dropped too: ${listed}; ` +
          "drop or change them first, or run `deno task reset --yes --cascade` to drop them " +
          "with the schemas (nothing was dropped)",
      );
    }
    if (outcome.outside.length > 0) {
      logger.warn("dropped objects outside the pipeline's schemas (--cascade)", {
        objects: listed,
      });
    }
    printSummary("reset", {
      dropped: PIPELINE_SCHEMAS.join(","),
      ...(outcome.outside.length > 0 ? { also_dropped: listed } : {}),
      warehouse: warehouse.displayUrl,
    });
  });
}
