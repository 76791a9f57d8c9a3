/**
 * The benchmark report: every figure of one `deno task bench` (the JSON written by `--json`),
 * and its rendering as the plain-text tables printed at the end, with the stated targets beside
 * the measured figures. Benchmarks print figures; they do not pass or fail.
 *
 * @module
 */
import type { ExtractBenchResult } from "./extract_bench.ts";
import type { LoadBenchResult } from "./load_bench.ts";
import type { Machine } from "./machine.ts";
import type { PipelineBenchResult } from "./pipeline_bench.ts";

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
  readonly pipeline?: PipelineBenchResult;
  readonly seconds: number;
}

/** The stated targets (issue 8). */
export const TARGETS = {
  extractUsersPerSecond: 50_000,
  loadRatio: 1.3,
  peakRssMb: 200,
} as const;

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
  if (report.pipeline) lines.push("", ...pipelineSection(report.pipeline));
  lines.push("", ...targetSection(report));
  return lines.join("\n");
}

function extractSection(extract: Omit<ExtractBenchResult, "kept">): string[] {
  const { replay } = extract;
  const pinned = extract.pinnedCpu === undefined
    ? "not pinned to a CPU (needs taskset and two CPUs)"
    : `each process pinned to CPU ${extract.pinnedCpu}`;
  const rows = [[
    "users",
    "runs",
    "ours s",
    "users/s",
    "MB/s",
    "users/cpu-s",
    "peak RSS",
    "ref users/s",
    "ref users/cpu-s",
    "ref RSS",
    "ours/ref",
    "ours/ref cpu",
  ]];
  for (const figure of extract.figures) {
    rows.push([
      count(figure.users),
      String(figure.ours.runs),
      figure.ours.seconds.toFixed(2),
      count(figure.ours.usersPerSecond),
      figure.ours.mbPerSecond.toFixed(1),
      optional(figure.ours.usersPerCpuSecond, count),
      optional(figure.ours.peakRssMb, (mb) => `${mb} MB`),
      count(figure.reference.usersPerSecond),
      optional(figure.reference.usersPerCpuSecond, count),
      optional(figure.reference.peakRssMb, (mb) => `${mb} MB`),
      figure.ratio.toFixed(2),
      optional(figure.cpuRatio, (ratio) => ratio.toFixed(2)),
    ]);
  }
  return [
    `EXTRACT  deno task extract vs fetch + response.json() (the ceiling) on the same replayed ` +
    `pages; ${pinned}; medians`,
    `  replay: ${replay.distinctPages} distinct pages of ${count(replay.pageSize)} users ` +
    `(${replay.templateMb.toFixed(0)} MB in memory), generated in ` +
    `${replay.generationSeconds.toFixed(1)} s before timing`,
    ...table(rows),
  ];
}

function loadSection(load: LoadBenchResult): string[] {
  const rows = [
    ["", "median s", "rows/s", "runs (s)"],
    [
      "deno task load (process)",
      load.oursMedian.toFixed(2),
      count(load.rows / load.oursMedian),
      load.oursSeconds.map((s) => s.toFixed(2)).join(" "),
    ],
    [
      "deno task load (its own timer)",
      load.oursInProcessMedian.toFixed(2),
      count(load.rows / load.oursInProcessMedian),
      load.oursInProcessSeconds.map((s) => s.toFixed(2)).join(" "),
    ],
    [
      "psql \\copy (process)",
      load.psqlMedian.toFixed(2),
      count(load.rows / load.psqlMedian),
      load.psqlSeconds.map((s) => s.toFixed(2)).join(" "),
    ],
  ];
  return [
    `LOAD  ${count(load.rows)} rows (${load.csvMb.toFixed(0)} MB CSV) into an empty table, ` +
    `${load.reps} interleaved repetitions each${
      load.checkpoints ? ", CHECKPOINT before each" : ""
    }`,
    ...table(rows),
    `  ours/psql: ${load.ratio.toFixed(2)} (process), ${load.inProcessRatio.toFixed(2)} ` +
    "(loader's own timer)",
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

function targetSection(report: BenchReport): string[] {
  const lines = ["TARGETS (figures, not verdicts)"];
  const figures = report.extract?.figures ?? [];
  const largest = figures.at(-1);
  if (largest) {
    const perCpu = largest.ours.usersPerCpuSecond;
    lines.push(
      `  extract >= ${count(TARGETS.extractUsersPerSecond)} users/s on one core: ` +
        `${count(largest.ours.usersPerSecond)} users/s at ${count(largest.users)} ` +
        (perCpu === undefined ? "" : `(${count(perCpu)} users per CPU-second) `) +
        `-> ${verdict(largest.ours.usersPerSecond >= TARGETS.extractUsersPerSecond)}`,
    );
    const peaks = figures.map((figure) => figure.ours.peakRssMb ?? NaN);
    lines.push(
      `  peak RSS <= ${TARGETS.peakRssMb} MB at every N: ` +
        figures.map((figure) => `${count(figure.users)}: ${figure.ours.peakRssMb} MB`).join(", ") +
        ` -> ${verdict(peaks.every((mb) => mb <= TARGETS.peakRssMb))}`,
    );
  }
  if (report.load) {
    lines.push(
      `  load <= ${TARGETS.loadRatio} x psql \\copy: ${report.load.ratio.toFixed(2)} x ` +
        `-> ${verdict(report.load.ratio <= TARGETS.loadRatio)}`,
    );
  }
  return lines;
}

function verdict(met: boolean): string {
  return met ? "met" : "NOT met";
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
