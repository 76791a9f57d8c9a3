/**
 * `deno task load [--ds D] [--unvouched] [--allow-any-date]`: loads
 * `data/raw/ds=D/random_user.csv`, as its manifest vouches for it, into `raw.users` in one
 * transaction and records the batch in `meta.load_batches`.
 *
 * @module
 */
import { Option } from "@commander-js/extra-typings";
import { loadConfig } from "./shared/config.ts";
import { loadUsers } from "./load/copy_loader.ts";
import { onConnectionCutDuringCopy } from "./load/postgres_workarounds.ts";
import { landingFiles } from "./landing/landing_zone.ts";
import { Logger } from "./shared/logger.ts";
import { errorMessage, ExitCode, TransientError } from "./shared/errors.ts";
import {
  allowAnyDateOption,
  dsOption,
  printError,
  printSummary,
  runTask,
  taskCommand,
} from "./shared/task_command.ts";
import { openWarehouse } from "./warehouse/warehouse.ts";

const program = taskCommand(
  "load",
  "Load DATA_DIR/raw/ds=D/random_user.csv into raw.users (COPY into a staging table, then " +
    "merge, in one transaction), when its manifest vouches for it. Loading the same ds twice " +
    "leaves the same rows.",
)
  .addOption(dsOption())
  .addOption(allowAnyDateOption())
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
    const file = files.csv;
    onConnectionCutDuringCopy((error) => {
      printError(
        new TransientError(
          `loading ${file} into raw.users failed: the warehouse connection broke ` +
            `(${errorMessage(error)}); raw.users is unchanged. Retrying may succeed.`,
        ),
      );
      Deno.exit(ExitCode.transient);
    });
    await using warehouse = await openWarehouse(config.warehouse, { logger });
    const summary = await loadUsers(warehouse.sql, {
      ds: options.ds,
      files,
      unvouched: options.unvouched ?? false,
      logger,
    });
    printSummary("load", {
      ds: summary.ds,
      rows: summary.rows,
      inserted: summary.inserted,
      updated: summary.updated,
      deleted: summary.deleted,
      unchanged: summary.unchanged,
      duplicates: summary.duplicates,
      vouched: summary.vouched,
      mb: (summary.bytes / 1e6).toFixed(1),
      seconds: summary.seconds.toFixed(2),
      batch: summary.batchId,
    });
  });
}
