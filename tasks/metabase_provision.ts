/**
 * `deno task metabase:provision [--if-set-up]`: sets Metabase up for the warehouse — admin, the
 * analyst connection, one question per analysis, a dashboard, dbt's descriptions of the marts —
 * and can be run any number of times (the stack runs it again after every transform).
 *
 * @module
 */
import { parseConnectionUrl } from "./shared/connection_url.ts";
import { loadAnalyses, MARTS_SCHEMA } from "./analytics/analyses.ts";
import { describeAnalyses, MartsNotBuiltError } from "./analytics/analysis_columns.ts";
import { loadConfig } from "./shared/config.ts";
import { UsageError } from "./shared/errors.ts";
import { Logger } from "./shared/logger.ts";
import { readDbtDescriptions } from "./metabase/dbt_descriptions.ts";
import { MetabaseClient } from "./metabase/metabase_client.ts";
import { provisionMetabase, summaryFields } from "./metabase/metabase_provisioner.ts";
import { printSummary, runTask, taskCommand } from "./shared/task_command.ts";
import { dbtManifest, dbtOutDir } from "./transform/dbt_runner.ts";
import { withAdvisoryLock } from "./warehouse/advisory_lock.ts";
import { openWarehouse } from "./warehouse/warehouse.ts";

const program = taskCommand(
  "metabase:provision",
  "Set up Metabase (METABASE_URL): first-run admin (METABASE_ADMIN_EMAIL, and " +
    "METABASE_ADMIN_PASSWORD or a password generated into METABASE_ADMIN_PASSWORD_FILE), the " +
    "warehouse as the read-only analyst role (ANALYST_PASSWORD), a collection with one question " +
    "per dbt_project/analyses file, a dashboard, and dbt's descriptions of the marts. Idempotent.",
).option(
  "--if-set-up",
  "do nothing when Metabase has not had its first-run setup (the run after each transform)",
);

if (import.meta.main) {
  await runTask(program, async (options) => {
    const config = await loadConfig();
    const logger = new Logger("metabase");
    const { metabase } = config;
    if (metabase.adminPassword === undefined && metabase.adminPasswordFile === undefined) {
      throw new UsageError(
        "METABASE_ADMIN_PASSWORD or METABASE_ADMIN_PASSWORD_FILE is required to provision Metabase",
      );
    }
    if (!config.analystPassword) {
      throw new UsageError("ANALYST_PASSWORD is required: Metabase connects as the analyst role");
    }
    if (!config.warehouse.url) {
      throw new UsageError(
        "DATABASE_URL is required: Metabase needs a warehouse it can reach over the network",
      );
    }
    const analystPassword = config.analystPassword;
    const warehouseUrl = parseConnectionUrl(config.warehouse.url);
    const analyses = await loadAnalyses();
    await using warehouse = await openWarehouse(config.warehouse, { logger, max: 2 });
    // The stack provisions from metabase-setup and after each transform: one at a time, or two
    // runs that both find no card would both create them.
    const summary = await withAdvisoryLock(warehouse.sql, async () => {
      const questions = await describeAnalyses(warehouse.sql, analyses).catch((error) => {
        if (error instanceof MartsNotBuiltError) return undefined;
        throw error;
      });
      const descriptions = await readDbtDescriptions(dbtManifest(dbtOutDir(config.dataDir)), {
        schema: MARTS_SCHEMA,
      });
      const client = new MetabaseClient(metabase.url);
      logger.info("waiting for Metabase", { url: metabase.url });
      await client.waitUntilHealthy({ timeoutMs: metabase.waitMs });
      return await provisionMetabase(client, {
        admin: {
          email: metabase.adminEmail,
          password: metabase.adminPassword,
          file: metabase.adminPasswordFile,
        },
        firstRunSetup: options.ifSetUp ? "skip" : "perform",
        warehouse: {
          host: metabase.warehouseHost ?? warehouseUrl.hosts[0]?.host ?? "localhost",
          port: warehouseUrl.hosts[0]?.port ?? 5432,
          dbname: warehouseUrl.database ?? "",
          user: "analyst",
          password: analystPassword,
        },
        questions,
        descriptions,
        syncTimeoutMs: metabase.waitMs,
        logger,
      });
    }, {
      key: "randomuser-elt:metabase-provision",
      onWait: () => logger.info("another metabase:provision runs; waiting for it"),
    });
    printSummary("metabase:provision", summaryFields(summary, metabase));
  });
}
