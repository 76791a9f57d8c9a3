/**
 * A backfill: each logical date from `from` to `to`, in order, each pipeline in order, skipping
 * what already succeeded; a failed pipeline stops the later ones of its date (they depend on it),
 * and the next date goes on. `deno task backfill` and the console's backfill action run it.
 *
 * @example
 * ```ts
 * const outcomes = await runBackfill(runner, {
 *   pipelines: ["extract_load", "transform"],
 *   from: "2026-01-03",
 *   to: "2026-01-05",
 * });
 * ```
 *
 * @module
 */
import { dateRange } from "../tasks/shared/dates.ts";
import type { PipelineName } from "./definitions.ts";
import type { PipelineRunner, RunOutcome } from "./runner.ts";

/** What to backfill. */
export interface BackfillRequest {
  readonly pipelines: readonly PipelineName[];
  readonly from: string;
  readonly to: string;
  /** Pass `--allow-any-date` to the tasks (`deno task backfill --allow-any-date`). */
  readonly allowAnyDate?: boolean;
  /** Told of each run as it ends. */
  readonly onOutcome?: (outcome: RunOutcome) => void;
}

/** Runs the backfill; returns the outcome of every run it asked for, in order. */
export async function runBackfill(
  runner: PipelineRunner,
  request: BackfillRequest,
): Promise<RunOutcome[]> {
  const outcomes: RunOutcome[] = [];
  for (const ds of dateRange(request.from, request.to)) {
    for (const pipeline of request.pipelines) {
      const outcome = await runner.run(pipeline, {
        ds,
        trigger: "backfill",
        skipIfSucceeded: true,
        allowAnyDate: request.allowAnyDate === true,
      });
      outcomes.push(outcome);
      request.onOutcome?.(outcome);
      if (outcome.state === "failed") break; // the later pipelines of this ds depend on it
    }
  }
  return outcomes;
}
