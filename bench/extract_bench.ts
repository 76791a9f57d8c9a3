/**
 * The extract benchmark: `tasks/extract.ts` end to end (HTTP, JSON, validation, CSV, file) as a
 * subprocess against the replay server, at several sizes — pinned to one core (no workers), and
 * on every core (its default worker pool) — each run alternating with the reference (`fetch` +
 * `response.json()` on one core, bench/fetch_reference.ts) on the same pages; with the peak RSS
 * the extract reports at each size.
 *
 * @module
 */
import { join } from "node:path";
import { landingFiles } from "../tasks/landing/landing_zone.ts";
import { seedFor } from "../tasks/extract/randomuser_client.ts";
import type { Logger } from "../tasks/shared/logger.ts";
import { EXTRACT_DENO_FLAGS } from "../pipelines/definitions.ts";
import { startReplayServer } from "./replay_server.ts";
import {
  assertSucceeded,
  denoScript,
  runTimed,
  type TimedRun,
  type TimingTools,
} from "./timed_process.ts";

/** Options for {@linkcode benchExtract}. */
export interface ExtractBenchOptions {
  /** Users per extract, one figure each. */
  sizes: readonly number[];
  ds: string;
  pageSize: number;
  concurrency: number;
  /** A directory for the runs' `DATA_DIR`s. */
  workspace: string;
  /** Keep the CSV of this size (for the load benchmark); the others are removed. */
  keep: number;
  /** Only write the CSV to keep: one extract per size, no reference, no figures. */
  csvOnly?: boolean;
  /** The CPU the one-core processes are pinned to, if any. */
  cpu: number | undefined;
  /** The CPUs this process (the replay server) keeps meanwhile; then it gets `allCpus` back. */
  serverCpus: readonly number[];
  allCpus: readonly number[];
  tools: TimingTools;
  logger: Logger;
  signal: AbortSignal;
}

/** Medians of one side (ours or the reference) at one size. */
export interface ThroughputFigure {
  readonly runs: number;
  readonly seconds: number;
  readonly usersPerSecond: number;
  readonly mbPerSecond: number;
  /** Median user + system CPU seconds (`undefined` without GNU time). */
  readonly cpuSeconds: number | undefined;
  readonly usersPerCpuSecond: number | undefined;
  /** The largest peak RSS of the runs, in MB. */
  readonly peakRssMb: number | undefined;
}

/** Our extract's figures at one size, on one core or on all. */
export type OursFigure = ThroughputFigure & {
  /** Median of the extract's own timer (process start-up and module loading excluded). */
  readonly inProcessSeconds: number;
};

/** The extract at one size, beside the reference. */
export interface ExtractFigure {
  readonly users: number;
  readonly apiMb: number;
  readonly csvMb: number;
  /** Pinned to one core: pages transcoded on the main thread. */
  readonly ours: OursFigure;
  /** On every core the machine allows: the default worker pool. */
  readonly oursAllCores: OursFigure;
  /** fetch + response.json() on one core: the ceiling. */
  readonly reference: ThroughputFigure;
  /** Throughput of ours (one core) / throughput of the reference, wall clock. */
  readonly ratio: number;
  /** Throughput of ours (all cores) / throughput of the reference (one core), wall clock. */
  readonly allCoresRatio: number;
  /** The one-core ratio on CPU time. */
  readonly cpuRatio: number | undefined;
}

/** Everything the extract benchmark measured. */
export interface ExtractBenchResult {
  readonly replay: {
    readonly distinctPages: number;
    readonly pageSize: number;
    readonly generationSeconds: number;
    readonly templateMb: number;
  };
  readonly pinnedCpu: number | undefined;
  readonly figures: readonly ExtractFigure[];
  /** The kept CSV: `DATA_DIR` and size, for the load benchmark. */
  readonly kept: { readonly users: number; readonly dataDir: string };
}

/** Runs of each side at `users`: more for small sizes, where one run is short and noisy. */
export function repetitions(users: number): number {
  if (users <= 50_000) return 3;
  if (users <= 200_000) return 2;
  return 1;
}

/** Runs the benchmark; see the module documentation. */
export async function benchExtract(options: ExtractBenchOptions): Promise<ExtractBenchResult> {
  const { logger } = options;
  const largest = Math.max(...options.sizes);
  const seed = seedFor(options.ds);
  logger.info("generating the replay pages", { pages: Math.ceil(largest / options.pageSize) });
  await using replay = await startReplayServer({
    seed,
    pages: Math.ceil(largest / options.pageSize),
    pageSize: options.pageSize,
  });
  logger.info("replay server ready", {
    distinct_pages: replay.distinctPages,
    mb: (replay.templateBytes / 1e6).toFixed(0),
    generation_s: (replay.generationMs / 1000).toFixed(1),
  });
  const figures: ExtractFigure[] = [];
  let kept: ExtractBenchResult["kept"] | undefined;
  const pinning = options.tools.taskset !== undefined && options.cpu !== undefined &&
    options.serverCpus.length > 0;
  if (pinning) await pinSelf(options.tools, options.serverCpus);
  try {
    for (const users of options.sizes) {
      const dataDir = join(options.workspace, `extract-${users}`, "data");
      if (options.csvOnly) {
        assertSucceeded(
          await runExtract(users, { ...options, url: replay.url, dataDir }),
          "extract",
        );
      } else {
        figures.push(await measure(users, { ...options, url: replay.url, seed, dataDir }));
      }
      if (users === options.keep) kept = { users, dataDir };
      else await Deno.remove(join(options.workspace, `extract-${users}`), { recursive: true });
    }
  } finally {
    if (pinning) await pinSelf(options.tools, options.allCpus);
  }
  if (!kept) throw new RangeError(`the size to keep (${options.keep}) is not among the sizes`);
  return {
    replay: {
      distinctPages: replay.distinctPages,
      pageSize: replay.pageSize,
      generationSeconds: replay.generationMs / 1000,
      templateMb: replay.templateBytes / 1e6,
    },
    pinnedCpu: pinning ? options.cpu : undefined,
    figures,
    kept,
  };
}

/** Runs ours (one core, all cores) and the reference alternately at `users`, and sums up. */
async function measure(
  users: number,
  options: ExtractBenchOptions & { url: string; seed: string; dataDir: string },
): Promise<ExtractFigure> {
  const ours: TimedRun[] = [];
  const oursAllCores: TimedRun[] = [];
  const reference: TimedRun[] = [];
  const runs = repetitions(users);
  const oneCore = options.cpu === undefined ? undefined : [options.cpu];
  for (let run = 1; run <= runs; run++) {
    options.signal.throwIfAborted();
    const extract = await runExtract(users, { ...options, cpus: oneCore });
    assertSucceeded(extract, `the one-core extract of ${users} users`);
    ours.push(extract);
    options.signal.throwIfAborted();
    const parallel = await runExtract(users, { ...options, cpus: options.allCpus });
    assertSucceeded(parallel, `the all-core extract of ${users} users`);
    oursAllCores.push(parallel);
    options.signal.throwIfAborted();
    const ceiling = await runTimed(
      denoScript("bench/fetch_reference.ts", [
        "--url",
        options.url,
        "--seed",
        options.seed,
        "--users",
        String(users),
        "--page-size",
        String(options.pageSize),
        "--concurrency",
        String(options.concurrency),
      ]),
      { cwd: options.workspace, env: {}, cpus: oneCore, tools: options.tools },
    );
    assertSucceeded(ceiling, `the reference fetch of ${users} users`);
    reference.push(ceiling);
    options.logger.info("extract run", {
      users,
      run,
      of: runs,
      one_core_s: extract.wallSeconds.toFixed(2),
      all_cores_s: parallel.wallSeconds.toFixed(2),
      reference_s: ceiling.wallSeconds.toFixed(2),
      peak_rss_mb: parallel.result()?.counts.peak_rss_mb,
    });
  }
  const csv = await Deno.stat(landingFiles(options.dataDir, options.ds).csv);
  return extractFigure(users, { ours, oursAllCores, reference, csvMb: csv.size / 1e6 });
}

/** `deno task extract --users <users>` against the replay server at `url`, as users run it. */
function runExtract(
  users: number,
  options: ExtractBenchOptions & {
    url: string;
    dataDir: string;
    cpus?: readonly number[] | undefined;
  },
): Promise<TimedRun> {
  return runTimed(
    denoScript(
      "tasks/extract.ts",
      ["--ds", options.ds, "--users", String(users)],
      EXTRACT_DENO_FLAGS,
    ),
    {
      cwd: options.workspace,
      env: {
        RANDOMUSER_API_URL: options.url,
        DATA_DIR: options.dataDir,
        API_PAGE_SIZE: String(options.pageSize),
        API_CONCURRENCY: String(options.concurrency),
      },
      cpus: options.cpus,
      tools: options.tools,
    },
  );
}

/** Moves every thread of this process to `cpus` (`taskset --all-tasks --pid`). */
async function pinSelf(tools: TimingTools, cpus: readonly number[]): Promise<void> {
  const output = await new Deno.Command(tools.taskset ?? "taskset", {
    args: ["-a", "-p", "-c", cpus.join(","), String(Deno.pid)],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new Error(
      `taskset could not pin the benchmark: ${new TextDecoder().decode(output.stderr)}`,
    );
  }
}

function extractFigure(
  users: number,
  runs: {
    ours: readonly TimedRun[];
    oursAllCores: readonly TimedRun[];
    reference: readonly TimedRun[];
    csvMb: number;
  },
): ExtractFigure {
  const apiMb = runs.ours[0]?.result()?.counts.api_mb ?? 0;
  const ours = oursFigure(users, runs.ours, apiMb);
  const oursAllCores = oursFigure(users, runs.oursAllCores, apiMb);
  const reference = throughput(users, {
    runs: runs.reference,
    apiMb,
    peakRssMb: runs.reference.map((run) => Number(run.summary("reference")?.peak_rss_mb ?? NaN)),
  });
  return {
    users,
    apiMb,
    csvMb: runs.csvMb,
    ours,
    oursAllCores,
    reference,
    ratio: ours.usersPerSecond / reference.usersPerSecond,
    allCoresRatio: oursAllCores.usersPerSecond / reference.usersPerSecond,
    cpuRatio: ours.usersPerCpuSecond !== undefined && reference.usersPerCpuSecond !== undefined
      ? ours.usersPerCpuSecond / reference.usersPerCpuSecond
      : undefined,
  };
}

function oursFigure(users: number, runs: readonly TimedRun[], apiMb: number): OursFigure {
  const counts = runs.map((run) => run.result()?.counts ?? {});
  return {
    ...throughput(users, {
      runs,
      apiMb,
      peakRssMb: counts.map((count) => count.peak_rss_mb ?? NaN),
    }),
    inProcessSeconds: median(counts.map((count) => count.seconds ?? NaN)),
  };
}

function throughput(
  users: number,
  measured: { runs: readonly TimedRun[]; apiMb: number; peakRssMb: readonly number[] },
): ThroughputFigure {
  const seconds = median(measured.runs.map((run) => run.wallSeconds));
  const cpu = measured.runs.map((run) => run.cpuSeconds);
  const cpuSeconds = cpu.every((value): value is number => value !== undefined)
    ? median(cpu)
    : undefined;
  const peaks = measured.peakRssMb.filter((value) => Number.isFinite(value));
  return {
    runs: measured.runs.length,
    seconds,
    usersPerSecond: users / seconds,
    mbPerSecond: measured.apiMb / seconds,
    cpuSeconds,
    usersPerCpuSecond: cpuSeconds === undefined ? undefined : users / cpuSeconds,
    peakRssMb: peaks.length > 0 ? Math.max(...peaks) : undefined,
  };
}

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return NaN;
  return sorted.length % 2 === 1
    ? sorted[middle] ?? NaN
    : ((sorted[middle - 1] ?? NaN) + (sorted[middle] ?? NaN)) / 2;
}
