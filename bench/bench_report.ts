/**
 * The benchmark report: every figure of one `deno task bench` (the JSON written by `--json`),
 * and its rendering as the plain-text tables printed at the end, with the stated targets beside
 * the measured figures. Benchmarks print figures; they do not pass or fail.
 *
 * @module
 */
import type { ConsoleBenchResult } from "./console_bench.ts";
import type { ExtractBenchResult } from "./extract_bench.ts";
import type { LoadBenchResult } from "./load_bench.ts";
import type { Machine } from "./machine.ts";
import type { PipelineBenchResult } from "./pipeline_bench.ts";
import type { StreamedBenchResult } from "./streamed_bench.ts";
import type { TransformBenchResult } from "./transform_bench.ts";

/** Everything one benchmark run measured, and where. */
export interface BenchReport {
  readonly startedAt: string;
  readonly machine: Machine;
  readonly database: {
    readonly source: string;
    readonly server: string;
    readonly version: string;
    readonly note?: string | undefined;
  };
  readonly settings: {
    readonly pageSize: number;
    readonly concurrency: number;
    readonly sizes: readonly number[];
    readonly loadReps: number;
    readonly pipelineUsers: number;
  };
  readonly extract?: Omit<ExtractBenchResult, "kept">;
  readonly load?: LoadBenchResult;
  readonly streamed?: StreamedBenchResult;
  readonly pipeline?: PipelineBenchResult;
  readonly console?: ConsoleBenchResult;
  readonly transform?: TransformBenchResult;
  /** The issues' target figures as measured, under fixed names (absent: not measured). */
  readonly targets: MeasuredTargets;
  readonly seconds: number;
}

/** The target figures of issues 18, 24 and 28, each a measurement of this run. */
export interface MeasuredTargets {
  /** All-core extract / one-core fetch + json, at the size closest to 200 000 users. */
  readonly extractAllCoresRatio?: number;
  /** One-core extract / one-core fetch + json, at the same size. */
  readonly extractOneCoreRatio?: number;
  /** The extract's peak RSS at the largest size, in MB (the larger of one core and all). */
  readonly extractPeakRssMb?: number;
  /** First load / psql \copy of the same file. */
  readonly firstLoadRatio?: number;
  /** Unchanged reload / psql \copy. */
  readonly reloadRatio?: number;
  /** Streamed extract --load / psql \copy of its file alone. */
  readonly streamedExtractLoadRatio?: number;
  /** The console's overview at three years of history: p95 of its server time, in ms. */
  readonly consoleOverviewP95Ms?: number;
  /** `/metrics` at the same history: p95 of its server time, in ms. */
  readonly consoleMetricsP95Ms?: number;
  /** The daily transform with the long history / with 1 day (medians). */
  readonly transformHistoryRatio?: number;
  /** The daily transform with the long history (60 days of 20 000 users), median seconds. */
  readonly transformDailySeconds?: number;
}

/** The bounds the issue sets for {@linkcode MeasuredTargets}: ratios and MB. */
export const TARGETS = {
  extractAllCoresRatio: { atLeast: 0.9 },
  extractOneCoreRatio: { atLeast: 0.6 },
  extractPeakRssMb: { atMost: 200 },
  firstLoadRatio: { atMost: 1.15 },
  reloadRatio: { atMost: 1.5 },
  streamedExtractLoadRatio: { atMost: 1.4 },
  consoleOverviewP95Ms: { atMost: 100 },
  consoleMetricsP95Ms: { atMost: 50 },
  transformHistoryRatio: { atMost: 1.3 },
  transformDailySeconds: { atMost: 8 },
} as const;

const TARGET_SIZE = 200_000;

/** Reads the target figures off a run's results. */
export function measuredTargets(report: Omit<BenchReport, "targets">): MeasuredTargets {
  const figures = report.extract?.figures ?? [];
  const atSize = figures.reduce<typeof figures[number] | undefined>(
    (best, figure) =>
      !best || Math.abs(figure.users - TARGET_SIZE) < Math.abs(best.users - TARGET_SIZE)
        ? figure
        : best,
    undefined,
  );
  const largest = figures.at(-1);
  const peaks = [largest?.ours.peakRssMb, largest?.oursAllCores.peakRssMb]
    .filter((mb): mb is number => mb !== undefined);
  const targets: Record<string, number> = {};
  if (atSize) {
    targets.extractAllCoresRatio = atSize.allCoresRatio;
    targets.extractOneCoreRatio = atSize.ratio;
  }
  if (peaks.length > 0) targets.extractPeakRssMb = Math.max(...peaks);
  if (report.load) {
    targets.firstLoadRatio = report.load.ratio;
    targets.reloadRatio = report.load.reloadRatio;
  }
  if (report.streamed) targets.streamedExtractLoadRatio = report.streamed.ratio;
  const p95 = (path: string) => report.console?.pages.find((page) => page.path === path)?.p95Ms;
  const overview = p95("/");
  const metrics = p95("/metrics");
  if (overview !== undefined) targets.consoleOverviewP95Ms = overview;
  if (metrics !== undefined) targets.consoleMetricsP95Ms = metrics;
  if (report.transform) {
    targets.transformHistoryRatio = report.transform.ratio;
    targets.transformDailySeconds = report.transform.long.medianSeconds;
  }
  return targets as MeasuredTargets;
}

/** The report as plain-text tables. */
export function formatReport(report: BenchReport): string {
  const { machine } = report;
  const lines = [
    "",
    `machine   ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GB RAM, ${machine.os}`,
    `software  Deno ${machine.deno} (V8 ${machine.v8}), PostgreSQL ${report.database.version}, ` +
    `${machine.psql ?? "no psql"}`,
    `database  fresh scratch databases on ${report.database.server} (${report.database.source})` +
    (report.database.note ? `; ${report.database.note}` : ""),
    `settings  API_PAGE_SIZE=${report.settings.pageSize} API_CONCURRENCY=` +
    `${report.settings.concurrency}; ran ${report.seconds.toFixed(0)} s`,
  ];
  if (report.extract) lines.push("", ...extractSection(report.extract));
  if (report.load) lines.push("", ...loadSection(report.load));
  if (report.streamed) lines.push("", ...streamedSection(report));
  if (report.pipeline) lines.push("", ...pipelineSection(report.pipeline));
  if (report.console) lines.push("", ...consoleSection(report.console));
  if (report.transform) lines.push("", ...transformSection(report.transform));
  lines.push("", ...targetSection(report));
  return lines.join("\n");
}

function extractSection(extract: Omit<ExtractBenchResult, "kept">): string[] {
  const { replay } = extract;
  const pinned = extract.pinnedCpu === undefined
    ? "one core not pinned (needs taskset and two CPUs)"
    : `one core = pinned to CPU ${extract.pinnedCpu}`;
  const rows = [[
    "users",
    "runs",
    "1 core users/s",
    "users/cpu-s",
    "RSS",
    "all cores users/s",
    "RSS",
    "ref users/s",
    "ref RSS",
    "1 core/ref",
    "all/ref",
  ]];
  for (const figure of extract.figures) {
    rows.push([
      count(figure.users),
      String(figure.ours.runs),
      count(figure.ours.usersPerSecond),
      optional(figure.ours.usersPerCpuSecond, count),
      optional(figure.ours.peakRssMb, (mb) => `${mb} MB`),
      count(figure.oursAllCores.usersPerSecond),
      optional(figure.oursAllCores.peakRssMb, (mb) => `${mb} MB`),
      count(figure.reference.usersPerSecond),
      optional(figure.reference.peakRssMb, (mb) => `${mb} MB`),
      figure.ratio.toFixed(2),
      figure.allCoresRatio.toFixed(2),
    ]);
  }
  return [
    `EXTRACT  deno task extract (one core; every core) vs fetch + response.json() on one core ` +
    `(the ceiling) on the same replayed pages; ${pinned}; medians`,
    `  replay: ${replay.distinctPages} distinct pages of ${count(replay.pageSize)} users ` +
    `(${replay.templateMb.toFixed(0)} MB in memory), generated in ` +
    `${replay.generationSeconds.toFixed(1)} s before timing`,
    ...table(rows),
  ];
}

function loadSection(load: LoadBenchResult): string[] {
  const rows = [
    ["", "median s", "rows/s", "runs (s)"],
    timingRow("deno task load (process)", {
      median: load.oursMedian,
      items: load.rows,
      runs: load.oursSeconds,
    }),
    timingRow("deno task load (its own timer)", {
      median: load.oursInProcessMedian,
      items: load.rows,
      runs: load.oursInProcessSeconds,
    }),
    timingRow("reload, unchanged (process)", {
      median: load.reloadMedian,
      items: load.rows,
      runs: load.reloadSeconds,
    }),
    timingRow("psql \\copy (process)", {
      median: load.psqlMedian,
      items: load.rows,
      runs: load.psqlSeconds,
    }),
  ];
  return [
    `LOAD  ${count(load.rows)} rows (${load.csvMb.toFixed(0)} MB CSV) into an empty table, ` +
    `${load.reps} interleaved repetitions each${
      load.checkpoints ? ", CHECKPOINT before each" : ""
    }`,
    ...table(rows),
    `  first load/psql: ${load.ratio.toFixed(2)} (process), ${load.inProcessRatio.toFixed(2)} ` +
    `(loader's own timer); reload/psql: ${load.reloadRatio.toFixed(2)}`,
  ];
}

function streamedSection(report: Omit<BenchReport, "targets">): string[] {
  const streamed = report.streamed!;
  const extract = report.extract?.figures.find((figure) => figure.users === streamed.users);
  const apart = extract && report.load
    ? extract.oursAllCores.seconds + report.load.oursMedian
    : undefined;
  const rows = [
    ["", "median s", "users/s", "runs (s)"],
    timingRow("deno task extract --load (all cores)", {
      median: streamed.streamedMedian,
      items: streamed.users,
      runs: streamed.streamedSeconds,
    }),
    timingRow("psql \\copy of its file alone", {
      median: streamed.psqlMedian,
      items: streamed.users,
      runs: streamed.psqlSeconds,
    }),
  ];
  if (apart !== undefined) {
    rows.push([
      "extract (all cores) + first load, apart",
      apart.toFixed(2),
      count(streamed.users / apart),
      "",
    ]);
  }
  return [
    `STREAMED EXTRACT_LOAD  ${count(streamed.users)} users into an empty raw.users, ` +
    `${streamed.reps} interleaved repetitions; peak RSS ` +
    optional(streamed.peakRssMb, (mb) => `${mb} MB`),
    ...table(rows),
    `  streamed/psql: ${streamed.ratio.toFixed(2)}` +
    (apart === undefined
      ? ""
      : `; streamed/apart: ${(streamed.streamedMedian / apart).toFixed(2)}`),
  ];
}

function pipelineSection(pipeline: PipelineBenchResult): string[] {
  const rows = [["pipeline", "task", "seconds", "state"]];
  for (const task of pipeline.tasks) {
    rows.push([task.pipeline, task.task, task.seconds.toFixed(2), task.state]);
  }
  rows.push(["", "sum of tasks", pipeline.taskSeconds.toFixed(2), ""]);
  rows.push(["", "run all (process)", pipeline.totalSeconds.toFixed(2), ""]);
  return [
    `END TO END  deno task run all, ${count(pipeline.users)} users, fake API, fresh database`,
    ...table(rows),
  ];
}

function consoleSection(figures: ConsoleBenchResult): string[] {
  const floor = figures.pages.at(-1)!;
  const rows = [["page", "p50 ms", "p95 ms", "max ms", "p50/floor", "body"]];
  for (const page of figures.pages) {
    rows.push([
      page.page,
      page.p50Ms.toFixed(1),
      page.p95Ms.toFixed(1),
      page.maxMs.toFixed(1),
      (page.p50Ms / floor.p50Ms).toFixed(1),
      `${(page.bytes / 1024).toFixed(0)} kB`,
    ]);
  }
  return [
    `CONSOLE  server time (Server-Timing) over ${figures.requests} sequential requests per page ` +
    `after a warm-up; ledger of ${figures.days} days: ${count(figures.runs)} runs, ` +
    `${count(figures.tries)} tries (written in ${figures.fillSeconds.toFixed(1)} s)`,
    ...table(rows),
  ];
}

function transformSection(figures: TransformBenchResult): string[] {
  const rows = [["history", "raw.users", "daily transform s (each)", "median s"]];
  for (const history of [figures.short, figures.long]) {
    rows.push([
      `${history.historyDays} day${history.historyDays === 1 ? "" : "s"}`,
      count(history.rows),
      history.dailySeconds.map((seconds) => seconds.toFixed(2)).join(", "),
      history.medianSeconds.toFixed(2),
    ]);
  }
  return [
    `TRANSFORM  deno task transform --ds D after a day of ${count(figures.usersPerDay)} users ` +
    `(extract --load), with 1 day and ${figures.long.historyDays} days of history built ` +
    `(filled in ${figures.fillSeconds.toFixed(0)} s)`,
    ...table(rows),
    `  long / short: ${figures.ratio.toFixed(2)}; nothing to take in (dbt's fixed cost): ` +
    `${figures.nothingToDoSeconds.toFixed(2)} s; --full-refresh of ${
      figures.long.historyDays + 1
    }+ ` +
    `days: ${figures.fullRefreshSeconds.toFixed(2)} s`,
    `  slowest nodes of the last long daily transform: ` +
    figures.slowestNodes.map((node) =>
      `${node.node.split(".").at(-1)} ${node.seconds.toFixed(2)} s`
    )
      .join(", "),
  ];
}

function targetSection(report: BenchReport): string[] {
  const lines = ["TARGETS (figures, not verdicts; JSON: targets.<name>)"];
  for (const [name, bound] of Object.entries(TARGETS)) {
    const value = report.targets[name as keyof MeasuredTargets];
    const [relation, limit] = "atLeast" in bound ? [">=", bound.atLeast] : ["<=", bound.atMost];
    const met = value === undefined
      ? "not measured"
      : verdict("atLeast" in bound ? value >= bound.atLeast : value <= bound.atMost);
    const shown = value === undefined
      ? "-"
      : name.endsWith("Mb")
      ? `${value} MB`
      : name.endsWith("Ms")
      ? `${value.toFixed(1)} ms`
      : value.toFixed(2);
    lines.push(`  ${name} ${relation} ${limit}: ${shown} -> ${met}`);
  }
  return lines;
}

function verdict(met: boolean): string {
  return met ? "met" : "NOT met";
}

/** A row of a timing table: label, median seconds, items per second at the median, every run. */
function timingRow(
  label: string,
  timing: { median: number; items: number; runs: readonly number[] },
): string[] {
  return [
    label,
    timing.median.toFixed(2),
    count(timing.items / timing.median),
    timing.runs.map((s) => s.toFixed(2)).join(" "),
  ];
}

function count(value: number): string {
  return Math.round(value).toLocaleString("en-US");
}

function optional<T>(value: T | undefined, format: (value: T) => string): string {
  return value === undefined ? "-" : format(value);
}

/** Left-aligned first column, right-aligned numbers, two spaces apart, indented. */
function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? "").length))) ??
    [];
  return rows.map((row) =>
    "  " +
    row.map((cell, i) => i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))
      .join("  ").trimEnd()
  );
}
