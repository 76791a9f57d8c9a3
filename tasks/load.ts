/**
 * `deno task load [--ds D] [--unvouched] [--allow-any-date]`: loads
 * `data/raw/ds=D/random_user.csv`, as its manifest vouches for it, into `raw.users` in one
 * transaction and records the batch in `meta.load_batches`.
 *
 * @module
 */
import { Option } from "@commander-js/extra-typings";
import { loadConfig } from "./shared/config.ts";
import { loadSummaryFields, loadUsers } from "./load/load_transaction.ts";
import { landingFiles } from "./landing/landing_zone.ts";
import { Logger } from "./shared/logger.ts";
import {
  allowAnyDateOption,
  dsOption,
  printSummary,
  runTask,
  taskCommand,
} from "./shared/task_command.ts";
import { openWarehouse } from "./warehouse/warehouse.ts";

const program = taskCommand(
  "load",
  "Load DATA_DIR/raw/ds=D/random_user.csv into raw.users in one transaction (COPY straight in " +
    "on a ds's first load, else into a staging table and merge), when its manifest vouches for " +
    "it. Loading the same ds twice leaves the same rows.",
)
  .addOption(dsOption())
  .addOption(allowAnyDateOption())
  .addOption(
    new Option(
      "--skip-if-loaded",
      "do nothing when this very file (by its manifest's SHA-256) is the last one loaded, as " +
        "after a streamed `deno task extract --load` (the pipeline's load does this); with no " +
        "CSV on this machine (the extract ran on another worker), do nothing when the ds's " +
        "newest batch in the warehouse loaded, and fail (exit 3) when it did not",
    ),
  )
  .addOption(
    new Option(
      "--unvouched",
      "load a CSV that no manifest vouches for (made or edited by hand); it then inserts and " +
        "updates rows, and never deletes any",
    ),
  );

if (import.meta.main) {
  await runTask(program, async (options) => {
    const config = await loadConfig();
    const logger = new Logger("load");
    const files = landingFiles(config.dataDir, options.ds);
    await using warehouse = await openWarehouse(config.warehouse, { logger });
    const summary = await loadUsers(warehouse.sql, {
      ds: options.ds,
      files,
      unvouched: options.unvouched ?? false,
      skipIfLoaded: options.skipIfLoaded ?? false,
      logger,
    });
    printSummary("load", loadSummaryFields(summary), { rows: summary.rows });
  });
}
