/**
 * `deno task load [--ds D]`: loads `data/raw/ds=D/random_user.csv` into `raw.users` in one
 * transaction and records the batch in `meta.load_batches`.
 *
 * @module
 */
import { loadConfig } from "./config.ts";
import { loadUsers } from "./copy_loader.ts";
import { landingFiles } from "./landing_zone.ts";
import { Logger } from "./logger.ts";
import { errorMessage, ExitCode, TransientError } from "./errors.ts";
import { dsOption, printError, printSummary, runTask, taskCommand } from "./task_command.ts";
import { openWarehouse } from "./warehouse.ts";

const program = taskCommand(
  "load",
  "Load DATA_DIR/raw/ds=D/random_user.csv into raw.users (COPY into a staging table, then " +
    "merge, in one transaction). Loading the same ds twice leaves the same rows.",
).addOption(dsOption());

if (import.meta.main) {
  await runTask(program, async (options) => {
    const config = await loadConfig();
    const logger = new Logger("load");
    const file = landingFiles(config.dataDir, options.ds).csv;
    // When the server cuts the connection mid-COPY, postgres.js 3.4.9 can throw from a timer
    // after its socket is gone (connection.js nextWrite) instead of rejecting our query. The
    // transaction died with the connection, so nothing was loaded: say so and exit 1.
    addEventListener("error", (event) => {
      event.preventDefault();
      printError(
        new TransientError(
          `loading ${file} into raw.users failed: the warehouse connection broke ` +
            `(${errorMessage(event.error)}); raw.users is unchanged. Retrying may succeed.`,
        ),
      );
      Deno.exit(ExitCode.transient);
    });
    await using warehouse = await openWarehouse(config, { logger });
    const summary = await loadUsers(warehouse.sql, { ds: options.ds, file, logger });
    printSummary("load", {
      ds: summary.ds,
      rows: summary.rows,
      inserted: summary.inserted,
      updated: summary.updated,
      deleted: summary.deleted,
      unchanged: summary.unchanged,
      duplicates: summary.duplicates,
      mb: (summary.bytes / 1e6).toFixed(1),
      seconds: summary.seconds.toFixed(2),
      batch: summary.batchId,
    });
  });
}
