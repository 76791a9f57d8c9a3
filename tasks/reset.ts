/**
 * `deno task reset --yes`: drops every schema the project creates (raw, meta, staging, analytics) with all their
 * data. The only destructive command; it refuses to run without `--yes`.
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
).option("--yes", "confirm that the data may be dropped");

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
    await resetWarehouse(warehouse.sql);
    printSummary("reset", { dropped: PIPELINE_SCHEMAS.join(","), warehouse: warehouse.displayUrl });
  });
}
