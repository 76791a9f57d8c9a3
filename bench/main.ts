/**
 * `deno task bench [--users N] [--json out.json]`: the benchmarks — the extract (one core, and
 * every core) against a replay server and the one-core `fetch` + `response.json()` ceiling at
 * several sizes, the first load and an unchanged reload against `psql \copy`, the streamed
 * `extract --load` against `psql \copy` of its file and against the two run apart, `run all`
 * end to end, the operations console's server time on three years of ledger history, and the
 * daily transform with 1 and 60 days of history (`--only transform`, about ten minutes) —
 * printed as tables (and JSON, with the issues' targets under fixed names), with the machine they
 * ran on. It measures and prints; it never fails on a clock.
 *
 * Sizes: 50 000, 200 000 and 1 000 000 users. `--users N` replaces the largest: the sizes become
 * the defaults below N, then N (`--users 200000` runs 50 000 and 200 000; `--users 20000` runs
 * 20 000 only). The load uses the CSV of the size closest to 200 000.
 *
 * Database: fresh scratch databases, dropped at the end, on the first of `BENCH_DATABASE_URL`,
 * the server of `DATABASE_URL`, `postgres://postgres@127.0.0.1:5432/postgres` when it answers,
 * and the embedded warehouse (see bench/bench_database.ts).
 *
 * @example
 * ```sh
 * deno task bench --users 200000 --json data/bench.json
 * ```
 *
 * @module
 */
import { InvalidArgumentError, Option } from "@commander-js/extra-typings";
import { loadConfig } from "../tasks/shared/config.ts";
import { Logger } from "../tasks/shared/logger.ts";
import { listenForStop } from "../tasks/shared/stop_signal.ts";
import { parseCount, runTask, taskCommand, usersOption } from "../tasks/shared/task_command.ts";
import { chooseBenchServer, createBenchDatabase } from "./bench_database.ts";
import { type BenchReport, formatReport, measuredTargets } from "./bench_report.ts";
import { benchConsole, type ConsoleBenchResult } from "./console_bench.ts";
import { benchExtract, type ExtractBenchResult } from "./extract_bench.ts";
import { benchLoad, type LoadBenchResult } from "./load_bench.ts";
import { allowedCpus, describeMachine } from "./machine.ts";
import { benchPipeline, type PipelineBenchResult } from "./pipeline_bench.ts";
import { benchStreamed, type StreamedBenchResult } from "./streamed_bench.ts";
import { findTimingTools } from "./timed_process.ts";
import { benchTransform, type TransformBenchResult } from "./transform_bench.ts";

const DEFAULT_SIZES = [50_000, 200_000, 1_000_000] as const;
const LOAD_USERS = 200_000;
const PIPELINE_USERS = 10_000;
const DS = "2026-01-01";
/** Three years of daily runs: about 2 200 runs and 10 000 tries. */
const CONSOLE_DAYS = 3 * 365;
const CONSOLE_REQUESTS = 50;
/** The transform's history: 60 days of 20 000 users against 1 day, 3 daily transforms each. */
const TRANSFORM_USERS = 20_000;
const TRANSFORM_HISTORY_DAYS = 60;
const TRANSFORM_DAYS = 3;
const PARTS = ["extract", "load", "streamed", "e2e", "console", "transform"] as const;
type Part = typeof PARTS[number];

/** The sizes of a run: the defaults, with `users` (when given) replacing the largest. */
export function benchSizes(users: number | undefined): number[] {
  if (users === undefined) return [...DEFAULT_SIZES];
  return [...DEFAULT_SIZES.filter((size) => size < users), users];
}

function parseParts(value: string): Part[] {
  const parts = value.split(",").map((part) => part.trim());
  const unknown = parts.find((part) => !(PARTS as readonly string[]).includes(part));
  if (unknown !== undefined) {
    throw new InvalidArgumentError(`expected a comma list of ${PARTS.join(", ")}.`);
  }
  return parts as Part[];
}

const program = taskCommand(
  "bench",
  "Benchmarks: extract vs fetch + json (users/s, MB/s, peak RSS at 50k, 200k, 1M users), " +
    "load vs psql \\copy (interleaved medians), run all end to end (10k users), and the " +
    "operations console's server time on three years of ledger, and the daily transform with 1 " +
    "and 60 days of history. Prints tables; --json writes " +
    "the same figures.",
)
  .addOption(usersOption("replace the largest extract size (default sizes 50000,200000,1000000)"))
  .addOption(new Option("--json <file>", "also write the figures as JSON to this file"))
  .addOption(
    new Option("--reps <n>", "repetitions of each side of the load benchmark")
      .argParser(parseCount)
      .default(5),
  )
  .addOption(
    new Option("--only <parts>", `run only these parts: ${PARTS.join(", ")} (comma list)`)
      .argParser(parseParts)
      .default([...PARTS], "all"),
  )
  .addHelpText(
    "after",
    "\nDatabase: fresh scratch databases (dropped at the end) on the server of " +
      "BENCH_DATABASE_URL,\nelse of DATABASE_URL, else postgres://postgres@127.0.0.1:5432/" +
      "postgres if it answers,\nelse the embedded warehouse. API_PAGE_SIZE and API_CONCURRENCY " +
      "apply to the extract.",
  );

if (import.meta.main) {
  await runTask(program, async (options) => {
    const started = performance.now();
    const config = await loadConfig();
    const logger = new Logger("bench");
    using interrupt = listenForStop({
      reason: () => new Error("interrupted; the scratch databases were dropped"),
    });
    const parts = new Set(options.only);
    const sizes = benchSizes(options.users);
    const loadUsers = closest(sizes, LOAD_USERS);
    const tools = await findTimingTools();
    // The measured processes run on one CPU (the "on one core"); the replay server and
    // everything else keep the others.
    const cpus = await allowedCpus();
    const cpu = cpus.length >= 2 ? cpus.at(-1) : undefined;

    const server = await chooseBenchServer({
      benchUrl: Deno.env.get("BENCH_DATABASE_URL"),
      warehouse: config.warehouse,
    });
    logger.info("database server", {
      source: server.source,
      server: server.displayUrl,
      version: server.version,
      note: server.note,
    });
    const machine = await describeMachine(server.version);
    const workspace = await Deno.makeTempDir({ prefix: "relt-bench-" });
    let extract: ExtractBenchResult | undefined;
    let load: LoadBenchResult | undefined;
    let streamed: StreamedBenchResult | undefined;
    let pipeline: PipelineBenchResult | undefined;
    let consoleFigures: ConsoleBenchResult | undefined;
    let transform: TransformBenchResult | undefined;
    try {
      if (parts.has("extract") || parts.has("load")) {
        extract = await benchExtract({
          // Without the extract part, one untimed extract still writes the CSV to load.
          sizes: parts.has("extract") ? sizes : [loadUsers],
          ds: DS,
          pageSize: config.extract.pageSize,
          concurrency: config.extract.concurrency,
          workspace,
          keep: loadUsers,
          csvOnly: !parts.has("extract"),
          cpu,
          serverCpus: cpus.slice(0, -1),
          allCpus: cpus,
          tools,
          logger,
          signal: interrupt.signal,
        });
      }
      if (parts.has("load") && extract) {
        await using db = await createBenchDatabase(server, "load");
        load = await benchLoad({
          db,
          dataDir: extract.kept.dataDir,
          ds: DS,
          reps: options.reps,
          workspace,
          tools,
          logger,
          signal: interrupt.signal,
        });
      }
      if (parts.has("streamed")) {
        interrupt.signal.throwIfAborted();
        await using db = await createBenchDatabase(server, "streamed");
        streamed = await benchStreamed({
          db,
          users: loadUsers,
          ds: DS,
          pageSize: config.extract.pageSize,
          concurrency: config.extract.concurrency,
          reps: options.reps,
          workspace,
          cpus,
          tools,
          logger,
          signal: interrupt.signal,
        });
      }
      if (parts.has("e2e")) {
        interrupt.signal.throwIfAborted();
        await using db = await createBenchDatabase(server, "e2e");
        pipeline = await benchPipeline({
          db,
          users: PIPELINE_USERS,
          ds: DS,
          dbtRunner: config.dbt.runner,
          workspace,
          tools,
          logger,
        });
      }
      if (parts.has("console")) {
        interrupt.signal.throwIfAborted();
        await using db = await createBenchDatabase(server, "console");
        consoleFigures = await benchConsole({
          db,
          days: CONSOLE_DAYS,
          requests: CONSOLE_REQUESTS,
          logger,
          signal: interrupt.signal,
        });
      }
      if (parts.has("transform")) {
        interrupt.signal.throwIfAborted();
        transform = await benchTransform({
          server,
          usersPerDay: TRANSFORM_USERS,
          historyDays: TRANSFORM_HISTORY_DAYS,
          days: TRANSFORM_DAYS,
          firstDs: DS,
          dbtRunner: config.dbt.runner,
          workspace,
          tools,
          logger,
          signal: interrupt.signal,
        });
      }
    } finally {
      await Deno.remove(workspace, { recursive: true });
    }
    const report: Omit<BenchReport, "targets"> = {
      startedAt: new Date(Date.now() - (performance.now() - started)).toISOString(),
      machine,
      database: {
        source: server.source,
        server: server.displayUrl,
        version: server.version,
        note: server.note,
      },
      settings: {
        pageSize: config.extract.pageSize,
        concurrency: config.extract.concurrency,
        sizes: parts.has("extract") ? sizes : [],
        loadReps: options.reps,
        pipelineUsers: PIPELINE_USERS,
      },
      ...(extract && parts.has("extract") ? { extract: withoutKept(extract) } : {}),
      ...(load ? { load } : {}),
      ...(streamed ? { streamed } : {}),
      ...(pipeline ? { pipeline } : {}),
      ...(consoleFigures ? { console: consoleFigures } : {}),
      ...(transform ? { transform } : {}),
      seconds: (performance.now() - started) / 1000,
    };
    const full: BenchReport = { ...report, targets: measuredTargets(report) };
    console.log(formatReport(full));
    if (options.json) {
      await Deno.writeTextFile(options.json, JSON.stringify(full, null, 2) + "\n");
      console.log(`\nwrote ${options.json}`);
    }
  }, { resultLine: false }); // its stdout is the report
}

function withoutKept(result: ExtractBenchResult): Omit<ExtractBenchResult, "kept"> {
  const { kept: _kept, ...rest } = result;
  return rest;
}

function closest(sizes: readonly number[], target: number): number {
  return sizes.reduce((best, size) =>
    Math.abs(size - target) < Math.abs(best - target) ? size : best
  );
}
