/**
 * The pipeline command line: `start` (the scheduler, with the operations console), `console` (the
 * console alone), `run`, `backfill`, `status` and `demo`, and
 * for Apache Airflow `airflow-dags` (writes the DAGs) and `airflow-task` (what their tasks run).
 * Exit codes (the table in `tasks/shared/errors.ts`): 0 success; a failed run exits with its class —
 * 1 transient, 3 terminal (a task that cannot succeed by retrying); 2 usage error;
 * `airflow-task` exits with its task's code.
 *
 * @example
 * ```sh
 * deno task run all --ds 2026-01-02
 * deno task backfill --from 2026-01-03 --to 2026-01-05
 * deno task status --limit 10
 * ```
 *
 * @module
 */
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { InvalidArgumentError, Option } from "@commander-js/extra-typings";
import { CommanderError } from "commander";
import { type Config, configSecrets, loadConfig, urlPasswords } from "../tasks/shared/config.ts";
import { SecretMask } from "../tasks/shared/secret_mask.ts";
import { ExitCode, exitCodeFor, UsageError } from "../tasks/shared/errors.ts";
import { Logger } from "../tasks/shared/logger.ts";
import { listenForStop, type StopListener } from "../tasks/shared/stop_signal.ts";
import { migrate } from "../tasks/warehouse/migrations.ts";
import {
  allowAnyDateOption,
  dateOption,
  dsOption,
  parseCount,
  printError,
  taskCommand,
  usersOption,
} from "../tasks/shared/task_command.ts";
import { openWarehouse, type Warehouse } from "../tasks/warehouse/warehouse.ts";
import { airflowTry } from "./airflow_task.ts";
import { Alerter } from "./alerts/alerter.ts";
import { renderAirflowDags, writeAirflowDags } from "./airflow_dags.ts";
import { definePipelines, type PipelineName, selectPipelines } from "./definitions.ts";
import { RunLedger } from "./ledger.ts";
import { statusTable } from "./status_table.ts";
import { runDemo } from "./demo.ts";
import { PipelineRunner, type RunOutcome } from "./runner.ts";
import { runScheduler, SchedulerStatus } from "./scheduler.ts";
import type { ConsoleMode } from "./console/console_layout.ts";
import { ConsoleServer } from "./console/console_server.ts";
import { runBackfill } from "./backfill.ts";
import { dayCount, FIRST_LOGICAL_DATE, todayUtc } from "../tasks/shared/dates.ts";
import { PROJECT_ROOT, projectPath } from "../tasks/shared/paths.ts";

function parsePipeline(value: string): PipelineName[] {
  const selected = selectPipelines(value);
  if (!selected) throw new InvalidArgumentError("expected extract_load, transform or all.");
  return selected;
}

function parseOnePipeline(value: string): PipelineName {
  const selected = selectPipelines(value);
  if (!selected || selected.length !== 1) {
    throw new InvalidArgumentError("expected extract_load or transform.");
  }
  return selected[0] as PipelineName;
}

/** `demo --days`: the demo's dates end today and, like any `--ds`, start no earlier than 2000. */
function parseDays(value: string): number {
  const days = parseCount(value);
  const most = dayCount(FIRST_LOGICAL_DATE, todayUtc());
  if (days > most) {
    throw new InvalidArgumentError(
      `expected at most ${most}: the dates end today and start no earlier than ` +
        `${FIRST_LOGICAL_DATE}.`,
    );
  }
  return days;
}

function parseRetries(value: string): number {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new InvalidArgumentError("expected a whole number.");
  }
  return Number(value);
}

/** Opens the warehouse with an up-to-date schema (the ledger tables included). */
async function openLedgerWarehouse(config: Config, logger: Logger): Promise<Warehouse> {
  const warehouse = await openWarehouse(config.warehouse, { logger });
  try {
    const { applied } = await migrate(warehouse.sql);
    if (applied.length > 0) logger.info("migrated the warehouse", { applied: applied.length });
  } catch (error) {
    await warehouse.close();
    throw error;
  }
  return warehouse;
}

/** The pipelines as the configuration defines them. */
function configuredPipelines(config: Config) {
  return definePipelines(config.retryPolicy, { metabase: config.metabase.afterTransform });
}

/**
 * The runner's options from the configuration, with the alerts when a webhook is set (their links
 * go to `consoleServer` when this process serves the console).
 */
function runnerOptions(
  config: Config,
  warehouse: Warehouse,
  logger: Logger,
  consoleServer?: ConsoleServer,
) {
  const alerts = alerter(config, warehouse, logger, consoleLink(config, consoleServer));
  return {
    pipelines: configuredPipelines(config),
    warehouse,
    logger,
    logDir: resolve(config.dataDir, "logs"),
    secrets: configSecrets(config),
    ...(alerts ? { alerts } : {}),
  };
}

/** The webhook alerts of `ALERT_WEBHOOK_URL`, or undefined when it is not set. */
function alerter(
  config: Config,
  warehouse: Warehouse,
  logger: Logger,
  consoleUrl: string | undefined,
): Alerter | undefined {
  const { webhookUrl } = config.alerts;
  if (webhookUrl === undefined) return undefined;
  return new Alerter({
    webhookUrl,
    sql: warehouse.sql,
    logger,
    // The embedded warehouse's URL is not in the configuration.
    secrets: [...configSecrets(config), ...urlPasswords(warehouse.url)],
    consoleUrl,
  });
}

/**
 * Where the console's pages are, for links that leave the machine (alerts): the port it listens on
 * (`listening`) or is configured to; none when it is off, or on a port only the scheduler knows
 * (`CONSOLE_PORT=0`). A wildcard host becomes this machine's name.
 */
function consoleLink(config: Config, listening?: ConsoleServer): string | undefined {
  const { host, port } = config.console;
  if (port === "off") return undefined;
  const actual = listening ? Number(new URL(listening.url).port) : port;
  if (actual === 0) return undefined;
  const name = host === "0.0.0.0" || host === "::" ? hostname() : host;
  return `http://${name.includes(":") ? `[${name}]` : name}:${actual}`;
}

/**
 * The operations console on `CONSOLE_HOST:CONSOLE_PORT`, listening at once (a port in use is a
 * usage error naming `CONSOLE_PORT`), its `console:` line printed; undefined when it is off.
 */
function listenConsole(
  config: Config,
  options: { mode: ConsoleMode; logger: Logger },
): ConsoleServer | undefined {
  if (config.console.port === "off") return undefined;
  const server = ConsoleServer.listen({
    host: config.console.host,
    port: config.console.port,
    mode: options.mode,
    pipelines: configuredPipelines(config),
    dataDir: config.dataDir,
    mask: new SecretMask(configSecrets(config)),
    token: config.console.token,
    logger: options.logger,
  });
  console.log(`console: ${server.url}`);
  return server;
}

/** The stop listener of a long-running command, which logs the signal it got. */
function stopListener(logger: Logger): StopListener {
  return listenForStop({ onStop: (signal) => logger.info("received a stop signal", { signal }) });
}

async function runPipelines(
  pipelines: PipelineName[],
  options: { ds: string; allowAnyDate?: true },
): Promise<number> {
  const config = await loadConfig();
  const logger = new Logger("runner");
  await using warehouse = await openLedgerWarehouse(config, logger);
  const runner = new PipelineRunner({ ...runnerOptions(config, warehouse, logger), echo: true });
  for (const pipeline of pipelines) {
    const outcome = await runner.run(pipeline, {
      ds: options.ds,
      trigger: "manual",
      allowAnyDate: options.allowAnyDate === true,
    });
    console.log(
      `run pipeline=${pipeline} ds=${options.ds} state=${outcome.state} run_id=${
        outcome.runId ?? ""
      }`,
    );
    if (outcome.state === "failed") return exitCodeOfRun(outcome);
  }
  return ExitCode.ok;
}

async function demo(options: { days: number; users: number }): Promise<number> {
  const config = await loadConfig();
  const summary = await runDemo({
    dataDir: resolve(config.dataDir, "demo"),
    warehouseUrl: config.warehouse.url,
    dbt: config.dbt,
    retryPolicy: config.retryPolicy,
    ...options,
    logger: new Logger("demo"),
  });
  return worstExitCode(summary.outcomes);
}

/** The exit code of a series of runs: the worst failure's, terminal over transient; else 0. */
function worstExitCode(outcomes: readonly RunOutcome[]): number {
  return outcomes.reduce(
    (code, outcome) => outcome.state === "failed" ? Math.max(code, exitCodeOfRun(outcome)) : code,
    ExitCode.ok as number,
  );
}

/** The exit code of a failed run: terminal and usage failures say so, anything else is 1. */
function exitCodeOfRun(outcome: RunOutcome): number {
  if (outcome.failure === "terminal") return ExitCode.terminal;
  if (outcome.failure === "usage") return ExitCode.usage;
  return ExitCode.transient;
}

async function backfill(
  pipelines: PipelineName[],
  options: { from: string; to: string; allowAnyDate?: true },
): Promise<number> {
  if (options.from > options.to) {
    throw new UsageError(`--from ${options.from} is after --to ${options.to}`);
  }
  const config = await loadConfig();
  const logger = new Logger("backfill");
  await using warehouse = await openLedgerWarehouse(config, logger);
  const runner = new PipelineRunner(runnerOptions(config, warehouse, logger));
  const outcomes = await runBackfill(runner, {
    pipelines,
    from: options.from,
    to: options.to,
    allowAnyDate: options.allowAnyDate === true,
    onOutcome: (outcome) =>
      console.log(
        `backfill pipeline=${outcome.pipeline} ds=${outcome.ds} state=${outcome.state} run_id=${
          outcome.runId ?? ""
        }`,
      ),
  });
  return worstExitCode(outcomes);
}

async function status(options: { limit: number; json?: true }): Promise<number> {
  const config = await loadConfig();
  await using warehouse = await openWarehouse(config.warehouse);
  const [ledger] = await warehouse.sql`select to_regclass('meta.pipeline_runs') is not null as ok`;
  const runs = ledger?.ok ? await new RunLedger(warehouse.sql).recentRuns(options.limit) : [];
  if (options.json) {
    console.log(JSON.stringify(runs, null, 2));
  } else if (runs.length === 0) {
    console.log("no pipeline runs yet (deno task run all starts one)");
  } else {
    console.log(statusTable(runs));
  }
  return ExitCode.ok;
}

async function start(): Promise<number> {
  const config = await loadConfig();
  const logger = new Logger("scheduler");
  await using consoleServer = listenConsole(config, { mode: "scheduler", logger });
  using stop = stopListener(logger);
  const signal = stop.signal;
  await using warehouse = await openLedgerWarehouse(config, logger);
  const status = new SchedulerStatus();
  consoleServer?.attach({ warehouseUrl: warehouse.url, scheduler: status });
  await runScheduler({
    ...runnerOptions(config, warehouse, logger, consoleServer),
    dbt: config.dbt,
    ...config.schedule,
    signal,
    status,
    staleAfterMs: config.alerts.staleAfterMs,
  });
  return ExitCode.ok;
}

/** `console`: the console alone, a read-only view of the ledger (pipelines that Airflow runs). */
async function consoleAlone(): Promise<number> {
  const config = await loadConfig();
  const logger = new Logger("console");
  await using consoleServer = listenConsole(config, { mode: "console", logger });
  if (!consoleServer) {
    throw new UsageError(
      "CONSOLE_PORT is off: deno task console has nothing to serve; set CONSOLE_PORT to a port " +
        "(8080 by default, 0 for any free one)",
    );
  }
  using stop = stopListener(logger);
  await using warehouse = await openLedgerWarehouse(config, logger);
  consoleServer.attach({ warehouseUrl: warehouse.url });
  await stop.stopped;
  logger.info("console stopped");
  return ExitCode.ok;
}

/** `airflow-dags`: writes the DAG files of both pipelines into `out`. */
async function airflowDags(options: { out: string }): Promise<number> {
  const files = renderAirflowDags(definePipelines((await loadConfig()).retryPolicy));
  await writeAirflowDags(options.out, files);
  for (const file of files) console.log(`airflow-dags wrote ${join(options.out, file.name)}`);
  // In pipelines/airflow/ of a checkout the DAGs find it themselves; elsewhere they are told.
  if (resolve(options.out, "..", "..") !== PROJECT_ROOT) {
    console.log(
      "airflow-dags: outside the checkout, the tasks need to know where it is: " +
        `airflow variables set randomuser_elt_dir ${PROJECT_ROOT}`,
    );
  }
  return ExitCode.ok;
}

/** `airflow-task`: one try of a task for Airflow, recorded in the ledger; exits with its code. */
async function airflowTask(
  pipeline: PipelineName,
  task: string,
  options: { ds: string; allowAnyDate?: true; runId: string; try: number; retries: number },
): Promise<number> {
  const config = await loadConfig();
  const definition = definePipelines(config.retryPolicy)[pipeline];
  const tasks = definition.tasks.map((t) => t.name);
  if (!tasks.includes(task)) {
    throw new UsageError(
      `pipeline ${pipeline} has no task ${task}; its tasks: ${tasks.join(", ")}`,
    );
  }
  const logger = new Logger("airflow");
  // Airflow stops a task (timeout, a kill from the UI) with SIGTERM to the whole process group:
  // the task's process ends, and this one records the try before it exits.
  using stop = listenForStop();
  await using warehouse = await openLedgerWarehouse(config, logger);
  const shared = runnerOptions(config, warehouse, logger);
  const runner = new PipelineRunner({
    ...shared,
    echo: true,
    signal: stop.signal,
    shutdownGraceMs: 5_000,
  });
  return await airflowTry(runner, {
    ...(shared.alerts ? { alerts: shared.alerts } : {}),
    definition,
    task,
    ds: options.ds,
    allowAnyDate: options.allowAnyDate === true,
    airflowRunId: options.runId,
    tryNumber: options.try,
    retries: options.retries,
    logger,
  });
}

const program = taskCommand(
  "randomuser-elt",
  "Run and schedule the randomuser-elt pipelines: extract_load (migrate >> extract >> load) " +
    "and transform (dbt_build).",
);
let exitCode: number = ExitCode.ok;

program.command("start")
  .description(
    "Run the daily schedule with Deno.cron (UTC); first run today's pipelines if they have not " +
      "succeeded (and, with CATCHUP=true, every missed date since PIPELINE_START_DATE).",
  )
  .action(async () => {
    exitCode = await start();
  });

program.command("console")
  .description(
    "Serve the operations console alone on CONSOLE_HOST:CONSOLE_PORT (default " +
      "127.0.0.1:8080): a read-only view of the run ledger, for pipelines that Airflow runs. " +
      "deno task start serves the same console beside the scheduler.",
  )
  .action(async () => {
    exitCode = await consoleAlone();
  });

program.command("run")
  .description("Run a pipeline once now, every task as a subprocess with retries.")
  .argument("[pipeline]", "extract_load, transform or all", parsePipeline, parsePipeline("all"))
  .addOption(dsOption())
  .addOption(allowAnyDateOption())
  .action(async (pipelines, options) => {
    exitCode = await runPipelines(pipelines, options);
  });

program.command("backfill")
  .description("Run the missing or failed logical dates from --from to --to, in order.")
  .addOption(dateOption("--from <date>", "first date, YYYY-MM-DD").makeOptionMandatory())
  .addOption(dateOption("--to <date>", "last date, YYYY-MM-DD").makeOptionMandatory())
  .addOption(allowAnyDateOption())
  .addOption(
    new Option("--pipeline <name>", "extract_load, transform or all").argParser(parsePipeline)
      .default(
        parsePipeline("all"),
        "all",
      ),
  )
  .action(async (options) => {
    exitCode = await backfill(options.pipeline, options);
  });

program.command("demo")
  .description(
    "The whole product offline: the stand-in Random User API in process, both pipelines for the " +
      "last --days dates into the embedded warehouse of DATA_DIR/demo (or DATABASE_URL), the " +
      "report, the status table. Dates that already succeeded are not run again.",
  )
  .addOption(
    new Option("--days <n>", "logical dates, ending today").argParser(parseDays).default(7),
  )
  .addOption(usersOption("users per date").default(2000))
  .action(async (options) => {
    exitCode = await demo(options);
  });

program.command("status")
  .description("Show recent pipeline runs and their task tries.")
  .addOption(new Option("--limit <n>", "runs to show").argParser(parseCount).default(20))
  .option("--json", "print JSON instead of a table")
  .action(async (options) => {
    exitCode = await status(options);
  });

program.command("airflow-dags")
  .description(
    "Write the Airflow DAGs of both pipelines (extract_load_pipeline.py, transform_pipeline.py) " +
      "from their definitions, with the retry policy of TASK_RETRIES and TASK_RETRY_DELAY.",
  )
  .option("--out <dir>", "directory to write them to", projectPath("pipelines", "airflow"))
  .action(async (options) => {
    exitCode = await airflowDags(options);
  });

program.command("airflow-task")
  .description(
    "Run one try of a pipeline task for Airflow (the generated DAGs call it): record it in the " +
      "run ledger, run the task's process for --ds, and exit with its code (1 is retried; 2 and " +
      "3 are not).",
  )
  .argument("<pipeline>", "extract_load or transform", parseOnePipeline)
  .argument("<task>", "a task of the pipeline")
  .addOption(dateOption("--ds <date>", "logical date, YYYY-MM-DD").makeOptionMandatory())
  .addOption(allowAnyDateOption())
  .addOption(new Option("--run-id <id>", "Airflow's dag run id").makeOptionMandatory())
  .addOption(
    new Option("--try <n>", "Airflow's try number of the task, from 1").argParser(parseCount)
      .makeOptionMandatory(),
  )
  .addOption(
    new Option("--retries <n>", "the task's retries in Airflow").argParser(parseRetries)
      .makeOptionMandatory(),
  )
  .action(async (pipeline, task, options) => {
    exitCode = await airflowTask(pipeline, task, options);
  });

if (import.meta.main) {
  try {
    await program.parseAsync(Deno.args, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) {
      Deno.exit(error.exitCode === 0 ? ExitCode.ok : ExitCode.usage);
    }
    printError(error);
    Deno.exit(exitCodeFor(error));
  }
  Deno.exit(exitCode);
}
