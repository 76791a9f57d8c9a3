/**
 * `deno task warehouse <start|stop|url>`: controls the embedded PostgreSQL in
 * `DATA_DIR/warehouse` that tasks start on first use when `DATABASE_URL` is unset.
 *
 * @module
 */
import { Argument } from "@commander-js/extra-typings";
import { loadConfig } from "./shared/config.ts";
import { redactUrl } from "./shared/redact_url.ts";
import { UsageError } from "./shared/errors.ts";
import { Logger } from "./shared/logger.ts";
import { printSummary, runTask, taskCommand } from "./shared/task_command.ts";
import { ensureEmbeddedWarehouse, stopEmbeddedWarehouse } from "./warehouse/embedded_postgres.ts";

const program = taskCommand(
  "warehouse",
  "Start or stop the embedded warehouse (used when DATABASE_URL is unset). " +
    "`url` prints the connection URL, password included, for psql.",
).addArgument(
  new Argument("<action>", "what to do").choices(["start", "stop", "url"] as const),
);

if (import.meta.main) {
  await runTask(program, async () => {
    const [action] = program.processedArgs;
    const config = await loadConfig();
    if (config.warehouse.url !== undefined) {
      throw new UsageError("DATABASE_URL is set, so no embedded warehouse is used; unset it first");
    }
    const dir = config.warehouse.embeddedDir;
    if (action === "stop") {
      const stopped = await stopEmbeddedWarehouse(dir);
      printSummary("warehouse", { dir, state: stopped ? "stopped" : "not running" });
      return;
    }
    const server = await ensureEmbeddedWarehouse(dir, { logger: new Logger("warehouse") });
    if (action === "url") {
      console.log(server.url);
      return;
    }
    printSummary("warehouse", {
      dir,
      state: server.started ? "started" : "running",
      url: redactUrl(server.url),
    });
  }, { resultLine: false }); // `url` prints the URL alone, for `psql "$(…)"`
}
