/**
 * `deno task metabase:database`: creates Metabase's application database (`METABASE_DB_NAME`) on
 * the warehouse's server when it is missing. The stack runs it before Metabase starts, so a
 * reused warehouse volume gets the database too.
 *
 * @module
 */
import { loadConfig } from "./shared/config.ts";
import { Logger } from "./shared/logger.ts";
import { printSummary, runTask, taskCommand } from "./shared/task_command.ts";
import { ensureDatabase } from "./warehouse/server_database.ts";
import { openWarehouse } from "./warehouse/warehouse.ts";

const program = taskCommand(
  "metabase:database",
  "Create Metabase's application database (METABASE_DB_NAME, default metabase) on the " +
    "warehouse's server (DATABASE_URL) unless it exists. Idempotent.",
);

if (import.meta.main) {
  await runTask(program, async () => {
    const config = await loadConfig();
    const logger = new Logger("metabase");
    await using warehouse = await openWarehouse(config.warehouse, { logger, max: 1 });
    const name = config.metabase.databaseName;
    const created = await ensureDatabase(warehouse.sql, name);
    printSummary("metabase:database", {
      database: name,
      state: created ? "created" : "exists",
      server: warehouse.displayUrl,
    });
  });
}
