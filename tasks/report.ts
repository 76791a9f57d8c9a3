/**
 * `deno task report [--out FILE]`: writes the static HTML analytics report — every question in
 * `dbt_project/analyses/`, answered as the read-only `analyst` role, with a chart and a table —
 * to `<DATA_DIR>/report/index.html` (or `--out`).
 *
 * @module
 */
import { ANALYSES_DIR } from "./shared/paths.ts";
import { resolve } from "node:path";
import { writeAnalyticsReport } from "./analytics/analytics_report.ts";
import { loadConfig } from "./shared/config.ts";
import { Logger } from "./shared/logger.ts";
import { printSummary, runTask, taskCommand } from "./shared/task_command.ts";
import { openWarehouse } from "./warehouse/warehouse.ts";

const program = taskCommand(
  "report",
  "Write a self-contained HTML report (charts and tables, no script, opens offline) answering " +
    "every question in dbt_project/analyses from the marts, as the read-only analyst role.",
)
  .option("--out <file>", "the HTML file to write (default: DATA_DIR/report/index.html)")
  .option("--analyses <dir>", "the directory of the questions (default: dbt_project/analyses)");

if (import.meta.main) {
  await runTask(program, async (options) => {
    const config = await loadConfig();
    const logger = new Logger("report");
    await using warehouse = await openWarehouse(config.warehouse, { logger, max: 1 });
    const summary = await writeAnalyticsReport(warehouse.sql, {
      analysesDir: options.analyses ?? ANALYSES_DIR,
      out: resolve(options.out ?? resolve(config.dataDir, "report", "index.html")),
      logger,
    });
    printSummary("report", {
      questions: summary.questions,
      rows: summary.rows,
      file: summary.file,
      bytes: summary.bytes,
      seconds: summary.seconds.toFixed(2),
    });
  });
}
