/**
 * `deno task migrate`: applies pending `sql/migrations` to the warehouse (embedded when
 * `DATABASE_URL` is unset).
 *
 * @module
 */
import { loadConfig } from "./shared/config.ts";
import { Logger } from "./shared/logger.ts";
import { migrate, setAnalystPassword } from "./warehouse/migrations.ts";
import { printSummary, runTask, taskCommand } from "./shared/task_command.ts";
import { openWarehouse } from "./warehouse/warehouse.ts";

const program = taskCommand(
  "migrate",
  "Apply pending sql/migrations to the warehouse, each once, in order, in one transaction.",
);

if (import.meta.main) {
  await runTask(program, async () => {
    const config = await loadConfig();
    const logger = new Logger("migrate");
    await using warehouse = await openWarehouse(config.warehouse, { logger });
    const result = await migrate(warehouse.sql);
    if (config.analystPassword) await setAnalystPassword(warehouse.sql, config.analystPassword);
    for (const migration of result.applied) logger.info("applied", { migration: migration.file });
    printSummary("migrate", {
      applied: result.applied.length,
      version: result.version,
      analyst_login: config.analystPassword ? "set" : "unchanged",
      warehouse: warehouse.displayUrl,
    }, { rows: result.applied.length });
  });
}
