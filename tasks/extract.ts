/**
 * `deno task extract [--ds D] [--users N] [--allow-any-date]`: fetches a logical date's users
 * from the Random User API into `data/raw/ds=D/random_user.csv`, its manifest and
 * `rejects.jsonl`.
 *
 * @module
 */
import { loadConfig } from "./shared/config.ts";
import { Logger } from "./shared/logger.ts";
import {
  allowAnyDateOption,
  dsOption,
  printSummary,
  runTask,
  taskCommand,
  usersOption,
} from "./shared/task_command.ts";
import { extractUsers } from "./extract/user_extract.ts";

const program = taskCommand(
  "extract",
  "Fetch a logical date's users from the Random User API (RANDOMUSER_API_URL) into " +
    "DATA_DIR/raw/ds=D/random_user.csv, with rejected records in rejects.jsonl.",
)
  .addOption(dsOption())
  .addOption(allowAnyDateOption())
  .addOption(usersOption("users to fetch (default: USERS_PER_RUN)"));

/** The process's peak resident memory in MB (Linux `VmHWM`); `undefined` elsewhere. */
function peakRssMb(): string | undefined {
  try {
    const kb = /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync("/proc/self/status"))?.[1];
    return kb === undefined ? undefined : (Number(kb) / 1024).toFixed(0);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

if (import.meta.main) {
  await runTask(program, async (options) => {
    const config = await loadConfig();
    // Ctrl-C or a stop from the runner: cancel the requests, remove the temporary files, exit 1.
    const interrupt = new AbortController();
    const stop = () => interrupt.abort(new Error("interrupted by a signal; nothing was written"));
    Deno.addSignalListener("SIGINT", stop);
    Deno.addSignalListener("SIGTERM", stop);
    const summary = await extractUsers({
      ds: options.ds,
      dataDir: config.dataDir,
      api: config.api,
      ...config.extract,
      users: options.users ?? config.extract.users,
      logger: new Logger("extract"),
      signal: interrupt.signal,
    });
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
    });
  });
}
