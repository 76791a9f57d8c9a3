/**
 * `deno task metabase:provision`: sets Metabase up for the warehouse — admin, the analyst
 * connection, one question per analysis, a dashboard — and can be run any number of times.
 *
 * @module
 */
import { loadAnalyses } from "./analytics/analyses.ts";
import { loadConfig } from "./shared/config.ts";
import { UsageError } from "./shared/errors.ts";
import { Logger } from "./shared/logger.ts";
import { MetabaseClient } from "./metabase/metabase_client.ts";
import { provisionMetabase } from "./metabase/metabase_provisioner.ts";
import { printSummary, runTask, taskCommand } from "./shared/task_command.ts";

const program = taskCommand(
  "metabase:provision",
  "Set up Metabase (METABASE_URL): first-run admin (METABASE_ADMIN_EMAIL/PASSWORD), the " +
    "warehouse as the read-only analyst role (ANALYST_PASSWORD), a collection with one question " +
    "per dbt_project/analyses file, and a dashboard. Idempotent.",
);

if (import.meta.main) {
  await runTask(program, async () => {
    const config = await loadConfig();
    const logger = new Logger("metabase");
    const { metabase } = config;
    if (!metabase.adminPassword) {
      throw new UsageError("METABASE_ADMIN_PASSWORD is required to provision Metabase");
    }
    if (!config.analystPassword) {
      throw new UsageError("ANALYST_PASSWORD is required: Metabase connects as the analyst role");
    }
    if (!config.warehouse.url) {
      throw new UsageError(
        "DATABASE_URL is required: Metabase needs a warehouse it can reach over the network",
      );
    }
    const warehouse = new URL(config.warehouse.url);
    const analyses = await loadAnalyses();
    const client = new MetabaseClient(metabase.url);
    logger.info("waiting for Metabase", { url: metabase.url });
    await client.waitUntilHealthy({ timeoutMs: metabase.waitMs });
    const summary = await provisionMetabase(client, {
      admin: { email: metabase.adminEmail, password: metabase.adminPassword },
      warehouse: {
        host: metabase.warehouseHost ?? warehouse.hostname,
        port: Number(warehouse.port || 5432),
        dbname: decodeURIComponent(warehouse.pathname.slice(1)),
        user: "analyst",
        password: config.analystPassword,
      },
      analyses,
      logger,
    });
    printSummary("metabase:provision", {
      version: summary.version,
      setup: summary.setUp ? "completed" : "already done",
      database: summary.databaseId,
      collection: summary.collectionId,
      cards_created: summary.cardsCreated,
      cards_updated: summary.cardsUpdated,
      dashboard: summary.dashboardId,
      dashcards: summary.dashcards,
      url: `${metabase.url.replace(/\/$/, "")}/dashboard/${summary.dashboardId}`,
    });
  });
}
