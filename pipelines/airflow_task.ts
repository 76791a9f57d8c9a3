/**
 * One try of a pipeline task started by Apache Airflow (`pipelines/cli.ts airflow-task`, which the
 * generated DAGs run): the try is recorded in the run ledger, in the ledger run of Airflow's DAG
 * run, the task runs as the very process the Deno runner starts for it, and the task's exit code
 * goes back to Airflow, which retries 1 and fails 2 and 3 at once. So `deno task status` shows
 * what Airflow ran, try by try. When Airflow will not try again, the run's outcome goes to the
 * alerts, as a run of `deno task run` does: Airflow's DAGs need no callback of their own.
 *
 * @example
 * ```ts
 * const code = await airflowTry(runner, {
 *   definition: pipelines.extract_load,
 *   task: "extract",
 *   ds: "2026-01-02",
 *   airflowRunId: "scheduled__2026-01-02T00:00:00+00:00",
 *   tryNumber: 1,
 *   retries: 3,
 *   logger,
 * });
 * ```
 *
 * @module
 */
import { ExitCode } from "../tasks/shared/errors.ts";
import type { Logger } from "../tasks/shared/logger.ts";
import type { RunAlerts } from "./alerts/alerter.ts";
import type { PipelineDefinition } from "./definitions.ts";
import type { TryOutcome } from "./ledger.ts";
import { type PipelineRunner, taskFailure } from "./runner.ts";

/** One try, as Airflow names it. */
export interface AirflowTryRequest {
  definition: PipelineDefinition;
  /** A task of `definition`. */
  task: string;
  ds: string;
  /** Pass `--allow-any-date` to the task (the DAGs never do: their dates start no earlier than
   * `PIPELINE_START_DATE`, itself within the usual bounds). */
  allowAnyDate?: boolean;
  /** Airflow's dag run id: all tries of one DAG run share one ledger run. */
  airflowRunId: string;
  /** Airflow's try number of the task instance, from 1. */
  tryNumber: number;
  /** The task's retries in Airflow: a transient failure before try `1 + retries` is retried. */
  retries: number;
  logger: Logger;
  /** Told of the run once it has succeeded or failed for good (webhook alerts). */
  alerts?: RunAlerts;
}

/** Runs and records the try; returns the exit code for Airflow. */
export async function airflowTry(
  runner: PipelineRunner,
  request: AirflowTryRequest,
): Promise<number> {
  const { definition, task, ds, logger } = request;
  const pipeline = definition.name;
  const last = definition.tasks.at(-1)?.name;
  const { ledger } = runner;
  // One try at a time per (pipeline, ds), also against `deno task run` of the same pair.
  const lock = await ledger.lock({ pipeline, ds }, (holder) => {
    logger.info("another process is running this pipeline for this ds; waiting for it", {
      pipeline,
      ds,
      run_id: holder?.run_id,
    });
  });
  try {
    // No live process runs this pair now: a try still `running` lost its process (Airflow
    // killed it, or the worker died). Airflow's own run is reopened just below.
    for (const orphan of await ledger.recoverOrphansOf({ pipeline, ds })) {
      if (orphan.external_run_id === request.airflowRunId) continue;
      logger.warn("marked an orphaned run failed", { pipeline, ds, run_id: orphan.run_id });
      await request.alerts?.runFinished(orphan.run_id);
    }
    const runId = await ledger.openExternalRun({
      pipeline,
      ds,
      externalRunId: request.airflowRunId,
    });
    const outcome = await runner.attempt(pipeline, task, {
      ds,
      runId,
      tryNumber: request.tryNumber,
      ...(request.allowAnyDate ? { allowAnyDate: true } : {}),
    });
    const exitCode = exitCodeOf(outcome);
    if (outcome.state === "succeeded") {
      if (task === last) {
        await ledger.finishRun(runId, { state: "succeeded" });
        await request.alerts?.runFinished(runId);
      }
    } else if (exitCode !== ExitCode.transient || request.tryNumber > request.retries) {
      // Airflow will not try it again: the run has failed (a later try after a clear in
      // Airflow reopens it).
      await ledger.finishRun(runId, {
        state: "failed",
        error: taskFailure(task, request.tryNumber, outcome),
        failure: outcome.failure ?? "transient",
      });
      await request.alerts?.runFinished(runId);
    }
    return exitCode;
  } finally {
    await lock.release();
  }
}

/**
 * What Airflow is told: usage (2) and terminal (3) fail the task at once; anything else that
 * failed — exit 1, a crash, a timeout, a stop signal — exits 1, for Airflow's retries.
 */
function exitCodeOf(outcome: TryOutcome): number {
  if (outcome.state === "succeeded") return ExitCode.ok;
  if (outcome.failure === "usage") return ExitCode.usage;
  if (outcome.failure === "terminal") return ExitCode.terminal;
  return ExitCode.transient;
}
