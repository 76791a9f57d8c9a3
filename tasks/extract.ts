/**
 * `deno task extract [--ds D] [--users N] [--load] [--allow-any-date]`: fetches a logical date's
 * users from the Random User API into `data/raw/ds=D/random_user.csv`, its manifest and
 * `rejects.jsonl` — with `--load`, streaming the same bytes into `raw.users` as it writes them.
 *
 * @module
 */
import { Option } from "@commander-js/extra-typings";
import { loadConfig } from "./shared/config.ts";
import { errorMessage } from "./shared/errors.ts";
import { Logger } from "./shared/logger.ts";
import { peakRssMb } from "./shared/peak_rss.ts";
import { listenForStop } from "./shared/stop_signal.ts";
import {
  allowAnyDateOption,
  dsOption,
  printSummary,
  runTask,
  taskCommand,
  usersOption,
} from "./shared/task_command.ts";
import { extractUsers } from "./extract/user_extract.ts";
import { USER_COLUMNS } from "./extract/user_fields.ts";
import { landingFiles } from "./landing/landing_zone.ts";
import { loadSummaryFields } from "./load/load_transaction.ts";
import { withStreamedLoad } from "./load/streamed_load.ts";
import { openWarehouse } from "./warehouse/warehouse.ts";

const program = taskCommand(
  "extract",
  "Fetch a logical date's users from the Random User API (RANDOMUSER_API_URL) into " +
    "DATA_DIR/raw/ds=D/random_user.csv, with rejected records in rejects.jsonl.",
)
  .addOption(dsOption())
  .addOption(allowAnyDateOption())
  .addOption(usersOption("users to fetch (default: USERS_PER_RUN)"))
  .addOption(
    new Option(
      "--load",
      "stream the CSV into raw.users while it is written (one pass; commits once the file and " +
        "its manifest are durable); if that load fails, the extract still succeeds and " +
        "`deno task load` loads the file",
    ),
  );

if (import.meta.main) {
  await runTask(program, async (options) => {
    const config = await loadConfig();
    // Ctrl-C or a stop from the runner: cancel the requests, remove the temporary files, exit 1.
    using interrupt = listenForStop({
      reason: () => new Error("interrupted by a signal; nothing was written"),
    });
    const logger = new Logger("extract");
    const extract = (copy?: Parameters<typeof extractUsers>[0]["copy"]) =>
      extractUsers({
        ds: options.ds,
        dataDir: config.dataDir,
        api: config.api,
        ...config.extract,
        users: options.users ?? config.extract.users,
        ...(copy ? { copy } : {}),
        logger,
        signal: interrupt.signal,
      });
    let summary: Awaited<ReturnType<typeof extractUsers>>;
    if (options.load) {
      await using warehouse = await openWarehouse(config.warehouse, { logger, max: 1 });
      const streamed = await withStreamedLoad(warehouse.sql, {
        ds: options.ds,
        files: landingFiles(config.dataDir, options.ds),
        columns: USER_COLUMNS,
      }, extract);
      summary = streamed.result;
      if ("summary" in streamed.load) {
        printSummary("load", loadSummaryFields(streamed.load.summary));
      } else {
        logger.warn("the streamed load did not finish; `deno task load` loads the file", {
          ds: options.ds,
          error: errorMessage(streamed.load.error),
        });
      }
    } else {
      summary = await extract();
    }
    printSummary("extract", {
      ds: summary.ds,
      users: summary.users,
      rejects: summary.rejects,
      pages: summary.pages,
      duplicates: summary.duplicates,
      api_mb: (summary.apiBytes / 1e6).toFixed(1),
      seconds: summary.seconds.toFixed(2),
      peak_rss_mb: peakRssMb(),
      file: summary.file,
    }, { rows: summary.users });
  });
}
