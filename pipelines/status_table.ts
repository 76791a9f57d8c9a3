/**
 * The readable table of `deno task status`: one line per run, one indented line per task try,
 * with state, exit code, start, duration, rows, and the failure class before the error (or
 * `[warn]` before the warning of a try that succeeded with one).
 *
 * @module
 */
import type { RunRecord, TryRecord } from "./ledger.ts";

/** The readable table of `deno task status`. */
export function statusTable(runs: ReadonlyArray<RunRecord & { tries: TryRecord[] }>): string {
  const rows: string[][] = [[
    "RUN",
    "PIPELINE",
    "DS",
    "TRIGGER",
    "STATE",
    "STARTED (UTC)",
    "DURATION",
    "ROWS",
    "ERROR",
  ]];
  for (const run of runs) {
    rows.push([
      run.run_id,
      run.pipeline,
      run.ds,
      run.trigger,
      run.state,
      run.started_at.toISOString().slice(0, 19).replace("T", " "),
      duration(run.started_at, run.finished_at),
      "",
      failureText(run),
    ]);
    for (const attempt of run.tries) {
      rows.push([
        `  ${attempt.task} #${attempt.try_number}`,
        "",
        "",
        "",
        attempt.state + (attempt.exit_code === null ? "" : ` (exit ${attempt.exit_code})`),
        attempt.started_at.toISOString().slice(0, 19).replace("T", " "),
        duration(attempt.started_at, attempt.finished_at),
        attempt.rows === null ? "" : String(attempt.rows),
        attempt.warning ? `[warn] ${oneLine(attempt.warning)}` : failureText(attempt),
      ]);
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? "").length)));
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join("  ").trimEnd())
    .join("\n");
}

function duration(start: Date, end: Date | null): string {
  if (!end) return "running";
  return `${((end.getTime() - start.getTime()) / 1000).toFixed(1)}s`;
}

/** The error column: `[terminal] the CSV header of …`, the class first. */
function failureText(record: { error: string | null; failure: string | null }): string {
  const text = oneLine(record.error);
  return record.failure ? `[${record.failure}] ${text}`.trimEnd() : text;
}

function oneLine(text: string | null): string {
  if (!text) return "";
  const line = text.replace(/\s+/g, " ");
  return line.length > 100 ? `${line.slice(0, 99)}…` : line;
}
