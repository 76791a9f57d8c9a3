/**
 * Runs a pipeline for a logical date the way Airflow's BashOperator would: each task is its own
 * `deno run tasks/<task>.ts --ds D` process whose exit code decides the try; a transient failure
 * (exit 1, a crash, a timeout) is retried after a delay, a usage or terminal one (exit 2, 3) and
 * a stop signal are not, a task that fails for good stops the tasks after it, every try is logged
 * to a file and recorded in the ledger with its failure class, one run per (pipeline, ds)
 * runs at a time across processes, and each finished run is handed to the alerts.
 *
 * @example
 * ```ts
 * const runner = new PipelineRunner({ pipelines, warehouse, logger, logDir: "data/logs" });
 * const outcome = await runner.run("extract_load", { ds: "2026-01-02", trigger: "manual" });
 * ```
 *
 * @module
 */
import { dirname, resolve } from "node:path";
import {
  errorMessage,
  failureClassOf,
  failureClassOfExit,
  UsageError,
} from "../tasks/shared/errors.ts";
import type { Logger } from "../tasks/shared/logger.ts";
import { DENO_JSON, projectPath } from "../tasks/shared/paths.ts";
import { SecretMask } from "../tasks/shared/secret_mask.ts";
import { readTaskResult } from "../tasks/shared/task_result.ts";
import { sleep } from "../tasks/shared/sleep.ts";
import { writeAll } from "../tasks/shared/write_all.ts";
import type { Warehouse } from "../tasks/warehouse/warehouse.ts";
import type { RunAlerts } from "./alerts/alerter.ts";
import type { PipelineDefinition, PipelineName, Pipelines, TaskDefinition } from "./definitions.ts";
import { type Failure, RunLedger, type Trigger, type TryOutcome } from "./ledger.ts";
import { TryOutput } from "./try_output.ts";

const TAIL_BYTES = 16 * 1024;
/** Failures a retry may heal; usage, terminal and stop are final. */
const RETRIED: ReadonlySet<Failure> = new Set(["transient", "timeout"]);

/** Options for {@linkcode PipelineRunner}. */
export interface PipelineRunnerOptions {
  /** The pipelines it runs (`definePipelines`). */
  pipelines: Pipelines;
  /** The warehouse of the ledger; its URL is passed to every task as `DATABASE_URL`. */
  warehouse: Warehouse;
  logger: Logger;
  /** Each try's output goes to `<logDir>/<pipeline>/ds=D/<task>/<run_id>-try<N>.log`. */
  logDir: string;
  /** Aborted on shutdown: the running task gets `shutdownGraceMs` to finish, then is stopped. */
  signal?: AbortSignal;
  shutdownGraceMs?: number;
  /** Also copy each task's output to stderr (for a person watching `deno task run`). */
  echo?: boolean;
  /** Environment for every task, on top of this process's (`deno task demo` points the API). */
  env?: Record<string, string>;
  /**
   * Values no error line or kept output may show (`configSecrets`); URL passwords are hidden
   * anyway.
   */
  secrets?: readonly string[];
  /** Told of every run this runner finishes or finds orphaned (webhook alerts); never fails one. */
  alerts?: RunAlerts;
}

/** How a run request ended. */
export interface RunOutcome {
  readonly pipeline: PipelineName;
  readonly ds: string;
  /** `skipped`: nothing to do (already succeeded, or done by a concurrent run we waited for). */
  readonly state: "succeeded" | "failed" | "skipped";
  readonly runId?: string;
  readonly error?: string;
  /** Why a failed run failed. */
  readonly failure?: Failure;
}

/** Options of one run request. */
export interface RunRequest {
  ds: string;
  trigger: Trigger;
  /** Do nothing when a run of this pipeline for `ds` already succeeded (backfill, catch-up). */
  skipIfSucceeded?: boolean;
  /** Pass `--allow-any-date` with `--ds`: the person asked for a date outside the usual bounds. */
  allowAnyDate?: boolean;
}

/** The logical date of a try, as its task gets it. */
interface TryDate {
  ds: string;
  allowAnyDate?: boolean;
}

/** Runs pipelines; see the module documentation. */
export class PipelineRunner {
  readonly #options: PipelineRunnerOptions;
  readonly #pipelines: Pipelines;
  readonly #ledger: RunLedger;
  readonly #mask: SecretMask;

  constructor(options: PipelineRunnerOptions) {
    this.#options = options;
    this.#pipelines = options.pipelines;
    this.#ledger = new RunLedger(options.warehouse.sql);
    this.#mask = new SecretMask(options.secrets);
  }

  /** The ledger this runner writes. */
  get ledger(): RunLedger {
    return this.#ledger;
  }

  /** Runs `pipeline` for `request.ds`, waiting for a concurrent run of the same pair first. */
  async run(pipeline: PipelineName, request: RunRequest): Promise<RunOutcome> {
    const { ds } = request;
    const { logger } = this.#options;
    const definition = this.#pipelines[pipeline];
    let waited = false;
    const lock = await this.#ledger.lock({ pipeline, ds }, (holder) => {
      waited = true;
      logger.info("another process is running this pipeline for this ds; waiting for it", {
        pipeline,
        ds,
        run_id: holder?.run_id,
        pid: holder?.pid,
        host: holder?.host,
      });
    });
    try {
      // Holding the lock, no live process runs this pair: a `running` row of it is an orphan.
      for (const orphan of await this.#ledger.recoverOrphansOf({ pipeline, ds })) {
        logger.warn("marked an orphaned run failed", { pipeline, ds, run_id: orphan.run_id });
        await this.#options.alerts?.runFinished(orphan.run_id);
      }
      if (
        (waited || request.skipIfSucceeded) && await this.#ledger.hasSucceeded({ pipeline, ds })
      ) {
        const latest = await this.#ledger.latestRun({ pipeline, ds });
        logger.info("already succeeded; nothing to run", { pipeline, ds, run_id: latest?.run_id });
        return { pipeline, ds, state: "skipped", ...(latest ? { runId: latest.run_id } : {}) };
      }
      const runId = await this.#ledger.startRun({ pipeline, ds, trigger: request.trigger });
      logger.info("run started", { pipeline, ds, run_id: runId, trigger: request.trigger });
      let failed: { error: string; failure: Failure } | undefined;
      try {
        failed = await this.#runTasks(definition, {
          ds,
          runId,
          ...(request.allowAnyDate ? { allowAnyDate: true } : {}),
        });
      } catch (error) {
        // Whatever failed here (a log folder that cannot be made, the ledger itself), the run's
        // row is closed before the error goes on: no exited process leaves it `running`.
        await this.#closeAfter(error, async () => {
          await this.#ledger.finishRun(runId, { state: "failed", ...this.#failureOf(error) });
          await this.#options.alerts?.runFinished(runId);
        });
        throw error;
      }
      await this.#ledger.finishRun(
        runId,
        failed === undefined ? { state: "succeeded" } : { state: "failed", ...failed },
      );
      await this.#options.alerts?.runFinished(runId);
      if (failed === undefined) {
        logger.info("run succeeded", { pipeline, ds, run_id: runId });
        return { pipeline, ds, state: "succeeded", runId };
      }
      logger.error("run failed", { pipeline, ds, run_id: runId, ...failed });
      return { pipeline, ds, state: "failed", runId, ...failed };
    } finally {
      await lock.release();
    }
  }

  /**
   * Runs one try of `task` in the ledger run `try.runId` — the same process, log file and ledger
   * rows as each try of {@linkcode run} — without retrying it; for a scheduler that retries by
   * itself (Airflow).
   */
  async attempt(
    pipeline: PipelineName,
    task: string,
    attempt: TryDate & { runId: string; tryNumber: number },
  ): Promise<TryOutcome> {
    const definition = this.#pipelines[pipeline].tasks.find((t) => t.name === task);
    if (!definition) throw new RangeError(`pipeline ${pipeline} has no task ${task}`);
    return await this.#runTry(definition, { ...attempt, pipeline });
  }

  /** Runs the tasks in order; returns why the run failed, or undefined when it succeeded. */
  async #runTasks(
    definition: PipelineDefinition,
    run: TryDate & { runId: string },
  ): Promise<{ error: string; failure: Failure } | undefined> {
    const { logger, signal } = this.#options;
    if (
      definition.upstream &&
      !(await this.#ledger.hasSucceeded({ pipeline: definition.upstream, ds: run.ds }))
    ) {
      return {
        error: `${definition.upstream} has not succeeded for ds ${run.ds}; run it first ` +
          `(deno task run ${definition.upstream} --ds ${run.ds})`,
        failure: "upstream",
      };
    }
    for (const task of definition.tasks) {
      if (signal?.aborted) {
        return { error: `stopped before ${task.name}: shutting down`, failure: "stopped" };
      }
      const maxTries = 1 + definition.retries;
      for (let tryNumber = 1;; tryNumber++) {
        const outcome = await this.#runTry(task, { ...run, pipeline: definition.name, tryNumber });
        if (outcome.state === "succeeded") break;
        const failure = outcome.failure ?? "transient";
        const tries = `${tryNumber} ${tryNumber === 1 ? "try" : "tries"}`;
        const error = outcome.error ?? `exit code ${outcome.exitCode}`;
        if (!RETRIED.has(failure) || tryNumber >= maxTries) {
          return { error: taskFailure(task.name, tryNumber, outcome), failure };
        }
        logger.warn("task failed; retrying", {
          pipeline: definition.name,
          ds: run.ds,
          task: task.name,
          try: tryNumber,
          of: maxTries,
          failure,
          delay_ms: definition.retryDelayMs,
          error: outcome.error,
        });
        try {
          await sleep(definition.retryDelayMs, signal);
        } catch (interrupted) {
          if (!signal?.aborted) throw interrupted;
          // A stop signal during the delay is final: no further try starts.
          return {
            error: `${task.name} stopped after ${tries}, during the retry delay: shutting down ` +
              `(last error: ${error})`,
            failure: "stopped",
          };
        }
      }
    }
    return undefined;
  }

  async #runTry(
    task: TaskDefinition,
    attempt: TryDate & { pipeline: PipelineName; runId: string; tryNumber: number },
  ): Promise<TryOutcome> {
    const { logger } = this.#options;
    const logPath = resolve(
      this.#options.logDir,
      attempt.pipeline,
      `ds=${attempt.ds}`,
      task.name,
      `${attempt.runId}-try${attempt.tryNumber}.log`,
    );
    await Deno.mkdir(dirname(logPath), { recursive: true }).catch((error) => {
      throw new UsageError(
        `cannot make the try's log folder ${dirname(logPath)}: ${errorMessage(error)}; ` +
          "DATA_DIR/logs must be a directory the pipeline can write (move what is in the way)",
        { cause: error },
      );
    });
    await this.#ledger.startTry({
      runId: attempt.runId,
      task: task.name,
      tryNumber: attempt.tryNumber,
      logPath,
    });
    const key = { runId: attempt.runId, task: task.name, tryNumber: attempt.tryNumber };
    logger.info("task started", {
      pipeline: attempt.pipeline,
      ds: attempt.ds,
      task: task.name,
      try: attempt.tryNumber,
      log: logPath,
    });
    const started = performance.now();
    let outcome: Omit<TryOutcome, "durationMs">;
    try {
      outcome = await this.#spawn(task, { ...attempt, logPath });
    } catch (error) {
      // The try's row is closed before the error goes on, as the run's is.
      await this.#closeAfter(error, () =>
        this.#ledger.finishTry(key, {
          state: "failed",
          exitCode: null,
          durationMs: performance.now() - started,
          rows: null,
          warning: null,
          ...this.#failureOf(error),
        }));
      throw error;
    }
    const result: TryOutcome = { ...outcome, durationMs: performance.now() - started };
    await this.#ledger.finishTry(key, result);
    (result.state === "succeeded" ? logger.info : logger.warn).call(
      logger,
      `task ${result.state}`,
      {
        pipeline: attempt.pipeline,
        ds: attempt.ds,
        task: task.name,
        try: attempt.tryNumber,
        exit_code: result.exitCode,
        rows: result.rows,
        seconds: (result.durationMs / 1000).toFixed(1),
        error: result.error,
      },
    );
    return result;
  }

  /** What a thrown error makes of a run or try: its message, masked, and its class. */
  #failureOf(error: unknown): { error: string; failure: Failure } {
    return { error: this.#mask.redact(errorMessage(error)), failure: failureClassOf(error) };
  }

  /** Runs `close`; an error of its own is logged, so the error that led here is the one thrown. */
  async #closeAfter(cause: unknown, close: () => Promise<void>): Promise<void> {
    try {
      await close();
    } catch (error) {
      this.#options.logger.error("could not record a failure in the ledger", {
        error: errorMessage(error),
        cause: errorMessage(cause),
      });
    }
  }

  /** Runs the task's process; its output goes to the log file (and stderr when echoing). */
  async #spawn(
    task: TaskDefinition,
    options: TryDate & { logPath: string },
  ): Promise<Omit<TryOutcome, "durationMs">> {
    const { warehouse, signal } = this.#options;
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--config",
        DENO_JSON,
        ...(task.denoFlags ?? []),
        projectPath(task.script),
        ...(task.takesDs ? ["--ds", options.ds] : []),
        ...(task.takesDs && options.allowAnyDate ? ["--allow-any-date"] : []),
        ...(task.args ?? []),
      ],
      env: { ...this.#options.env, DATABASE_URL: warehouse.url },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    using log = await Deno.open(options.logPath, { write: true, create: true, append: true });
    const output = new TryOutput({ mask: this.#mask });
    const stdout = this.#drain(child.stdout, { log, output, stream: "stdout" });
    const stderr = this.#drain(child.stderr, { log, output, stream: "stderr" });
    let stoppedBecause: { reason: string; failure: Failure } | undefined;
    let killTimer: ReturnType<typeof setTimeout> | undefined;
    const stopChild = (reason: string, failure: Failure) => {
      if (stoppedBecause !== undefined) return;
      stoppedBecause = { reason, failure };
      kill(child, "SIGTERM");
      // A task that ignores SIGTERM for 10 s is killed.
      killTimer = setTimeout(() => kill(child, "SIGKILL"), 10_000);
    };
    const timeout = setTimeout(
      () => stopChild(`timed out after ${Math.round(task.timeoutMs / 1000)} s`, "timeout"),
      task.timeoutMs,
    );
    let grace: ReturnType<typeof setTimeout> | undefined;
    const onShutdown = () => {
      grace = setTimeout(
        () => stopChild("interrupted: the scheduler is shutting down", "stopped"),
        this.#options.shutdownGraceMs ?? 30_000,
      );
    };
    signal?.addEventListener("abort", onShutdown, { once: true });
    if (signal?.aborted) onShutdown();
    let status: Deno.CommandStatus;
    try {
      status = await child.status;
    } finally {
      clearTimeout(timeout);
      clearTimeout(grace);
      clearTimeout(killTimer);
      signal?.removeEventListener("abort", onShutdown);
    }
    const [out, err] = await Promise.all([stdout, stderr]);
    // What the task said of itself: its result line, the last on its stdout.
    const result = readTaskResult(out);
    const rows = result?.rows ?? null;
    if (status.success && stoppedBecause === undefined) {
      const warning = result?.warning ?? null;
      return {
        state: "succeeded",
        exitCode: status.code,
        rows,
        error: null,
        failure: null,
        output: output.text(),
        warning: warning === null ? null : this.#mask.redact(warning).slice(0, 2000),
      };
    }
    // A process that died before its result line (a crash, a kill) may still have said why on
    // stderr: Deno prints an uncaught error as `error: …`.
    const error = stoppedBecause?.reason ?? result?.error ?? lastLine(err, "error: ") ??
      `exit code ${status.code}${status.signal ? ` (signal ${status.signal})` : ""}`;
    // A task that failed while we were shutting down (it got the signal too) was stopped.
    const failure: Failure = stoppedBecause?.failure ??
      (signal?.aborted ? "stopped" : failureClassOfExit(status.signal ? null : status.code));
    return {
      state: "failed",
      exitCode: status.code,
      rows,
      error: this.#mask.redact(error).slice(0, 2000),
      failure,
      output: output.text(),
      warning: null,
    };
  }

  /**
   * Copies a child stream to the log file, the kept output (and stderr when echoing); returns
   * its tail as text.
   */
  async #drain(
    stream: ReadableStream<Uint8Array>,
    to: { log: Deno.FsFile; output: TryOutput; stream: "stdout" | "stderr" },
  ): Promise<string> {
    const decoder = new TextDecoder();
    let tail = "";
    for await (const chunk of stream) {
      await writeAll(to.log, chunk);
      to.output.write(to.stream, chunk);
      if (this.#options.echo) await writeAll(Deno.stderr, chunk);
      tail = (tail + decoder.decode(chunk, { stream: true })).slice(-TAIL_BYTES);
    }
    return tail;
  }
}

/** The error of a run whose task failed on its last try: `load failed after 4 tries: …`. */
export function taskFailure(task: string, tries: number, outcome: TryOutcome): string {
  return `${task} failed after ${tries} ${tries === 1 ? "try" : "tries"}: ` +
    (outcome.error ?? `exit code ${outcome.exitCode}`);
}

function kill(child: Deno.ChildProcess, signal: Deno.Signal): void {
  try {
    child.kill(signal);
  } catch (error) {
    // The process already exited: nothing to stop.
    if (!(error instanceof TypeError)) throw error;
  }
}

/** The text after `prefix` of the last line of `text` that starts with it. */
function lastLine(text: string, prefix: string): string | undefined {
  const line = text.split("\n").reverse().find((line) => line.startsWith(prefix));
  return line?.slice(prefix.length);
}
