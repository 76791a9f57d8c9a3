/**
 * The structured result of a task: the one line of JSON every task prints last on stdout (task,
 * ds, outcome, rows and the counts of its summary, the warning, the error line and failure
 * class), which the pipeline runner, `airflow-task` and the bench read instead of the prose
 * before it.
 *
 * @example
 * ```ts
 * const result = readTaskResult('extract users=3\n{"task":"extract","ds":null,…}\n');
 * if (result?.outcome === "failed") console.error(result.error, result.failure);
 * ```
 *
 * @module
 */
import { z } from "zod";
import type { FailureClass } from "./errors.ts";

const FAILURE_CLASSES = ["transient", "usage", "terminal"] as const satisfies FailureClass[];

const TaskResultSchema = z.object({
  task: z.string(),
  ds: z.string().nullable(),
  outcome: z.enum(["succeeded", "failed"]),
  /** The rows the task is about (users fetched, rows loaded, migrations applied, …), if any. */
  rows: z.number().int().nonnegative().nullable(),
  /** The numbers of its summary lines: `users`, `rejects`, …; another summary's as `load.rows`. */
  counts: z.record(z.string(), z.number()),
  warning: z.string().nullable(),
  error: z.string().nullable(),
  failure: z.enum(FAILURE_CLASSES).nullable(),
});

/** What a task reports when it ends. */
export type TaskResult = z.infer<typeof TaskResultSchema>;

// The line is a JSON object whose first key is `task`, as `formatTaskResult` writes it.
const PREFIX = '{"task":';

/** The result as its one line (no newline). */
export function formatTaskResult(result: TaskResult): string {
  const { task, ds, outcome, rows, counts, warning, error, failure } = result;
  return JSON.stringify({ task, ds, outcome, rows, counts, warning, error, failure });
}

/**
 * The last result line in a task's stdout, or undefined when there is none (the process died
 * before it could print one, or was cut off in the middle of it).
 */
export function readTaskResult(stdout: string): TaskResult | undefined {
  for (const line of stdout.split("\n").reverse()) {
    if (!line.startsWith(PREFIX)) continue;
    const parsed = TaskResultSchema.safeParse(parseJson(line));
    if (parsed.success) return parsed.data;
  }
  return undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
