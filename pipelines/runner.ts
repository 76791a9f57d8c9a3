/**
 * Runs a pipeline for a logical date the way Airflow's BashOperator would: each task is its own
 * `deno run tasks/<task>.ts --ds D` process whose exit code decides the try; failed tries are
 * retried after a delay, a task that exhausts its tries stops the tasks after it, every try is
 * logged to a file and recorded in the ledger, and one run per (pipeline, ds) runs at a time
 * across processes.
 *
 * @example
 * ```ts
 * const runner = new PipelineRunner({ config, warehouse, logger });
 * const outcome = await runner.run("extract_load", { ds: "2026-01-02", trigger: "manual" });
 * ```
 *
 * @module
 */
import { dirname, join, resolve } from "node:path";
import type { Config } from "../tasks/config.ts";
import { redactUrl } from "../tasks/config.ts";
import type { Logger } from "../tasks/logger.ts";
import type { Warehouse } from "../tasks/warehouse.ts";
import {
  definePipelines,
  type PipelineDefinition,
  type PipelineName,
  type TaskDefinition,
} from "./definitions.ts";
import { RunLedger, type Trigger, type TryOutcome } from "./ledger.ts";

const ROOT = resolve(new URL("..", import.meta.url).pathname);
const DENO_JSON = join(ROOT, "deno.json");
/** Exit code of a usage error: retrying the same arguments cannot help. */
const USAGE_EXIT_CODE = 2;
const TAIL_BYTES = 16 * 1024;

/** Options for {@linkcode PipelineRunner}. */
export interface PipelineRunnerOptions {
  config: Config;
  /** The warehouse of the ledger; its URL is passed to every task as `DATABASE_URL`. */
  warehouse: Warehouse;
  logger: Logger;
  /** Aborted on shutdown: the running task gets `shutdownGraceMs` to finish, then is stopped. */
  signal?: AbortSignal;
  shutdownGraceMs?: number;
  /** Also copy each task's output to stderr (for a person watching `deno task run`). */
  echo?: boolean;
}

/** How a run request ended. */
export interface RunOutcome {
  readonly pipeline: PipelineName;
  readonly ds: string;
  /** `skipped`: nothing to do (already succeeded, or done by a concurrent run we waited for). */
  readonly state: "succeeded" | "failed" | "skipped";
  readonly runId?: string;
  readonly error?: string;
}

/** Options of one run request. */
export interface RunRequest {
  ds: string;
  trigger: Trigger;
  /** Do nothing when a run of this pipeline for `ds` already succeeded (backfill, catch-up). */
  skipIfSucceeded?: boolean;
}

/** Runs pipelines; see the module documentation. */
export class PipelineRunner {
  readonly #options: PipelineRunnerOptions;
  readonly #pipelines: Readonly<Record<PipelineName, PipelineDefinition>>;
  readonly #ledger: RunLedger;

  constructor(options: PipelineRunnerOptions) {
    this.#options = options;
    this.#pipelines = definePipelines(options.config);
    this.#ledger = new RunLedger(options.warehouse.sql);
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
      const error = await this.#runTasks(definition, { ds, runId });
      await this.#ledger.finishRun(
        runId,
        error === undefined ? { state: "succeeded" } : { state: "failed", error },
      );
      const state = error === undefined ? "succeeded" : "failed";
      (state === "succeeded" ? logger.info : logger.error).call(logger, `run ${state}`, {
        pipeline,
        ds,
        run_id: runId,
        error,
      });
      return { pipeline, ds, state, runId, ...(error === undefined ? {} : { error }) };
    } finally {
      await lock.release();
    }
  }

  /** Runs the tasks in order; returns the error that stopped the run, or undefined. */
  async #runTasks(
    definition: PipelineDefinition,
    run: { ds: string; runId: string },
  ): Promise<string | undefined> {
    if (
      definition.upstream &&
      !(await this.#ledger.hasSucceeded({ pipeline: definition.upstream, ds: run.ds }))
    ) {
      return `${definition.upstream} has not succeeded for ds ${run.ds}; run it first ` +
        `(deno task run ${definition.upstream} --ds ${run.ds})`;
    }
    for (const task of definition.tasks) {
      if (this.#options.signal?.aborted) return `stopped before ${task.name}: shutting down`;
      const maxTries = 1 + definition.retries;
      for (let tryNumber = 1;; tryNumber++) {
        const outcome = await this.#runTry(task, { ...run, pipeline: definition.name, tryNumber });
        if (outcome.state === "succeeded") break;
        const stop = tryNumber >= maxTries || outcome.exitCode === USAGE_EXIT_CODE ||
          this.#options.signal?.aborted;
        if (stop) {
          return `${task.name} failed after ${tryNumber} ${tryNumber === 1 ? "try" : "tries"}: ` +
            (outcome.error ?? `exit code ${outcome.exitCode}`);
        }
        this.#options.logger.warn("task failed; retrying", {
          pipeline: definition.name,
          ds: run.ds,
          task: task.name,
          try: tryNumber,
          of: maxTries,
          delay_ms: definition.retryDelayMs,
          error: outcome.error,
        });
        await sleep(definition.retryDelayMs, this.#options.signal);
      }
    }
    return undefined;
  }

  async #runTry(
    task: TaskDefinition,
    attempt: { pipeline: PipelineName; ds: string; runId: string; tryNumber: number },
  ): Promise<TryOutcome> {
    const { config, logger } = this.#options;
    const logPath = resolve(
      config.dataDir,
      "logs",
      attempt.pipeline,
      `ds=${attempt.ds}`,
      task.name,
      `${attempt.runId}-try${attempt.tryNumber}.log`,
    );
    await Deno.mkdir(dirname(logPath), { recursive: true });
    await this.#ledger.startTry({
      runId: attempt.runId,
      task: task.name,
      tryNumber: attempt.tryNumber,
      logPath,
    });
    logger.info("task started", {
      pipeline: attempt.pipeline,
      ds: attempt.ds,
      task: task.name,
      try: attempt.tryNumber,
      log: logPath,
    });
    const started = performance.now();
    const outcome = await this.#spawn(task, { ds: attempt.ds, logPath });
    const result: TryOutcome = { ...outcome, durationMs: performance.now() - started };
    await this.#ledger.finishTry(
      { runId: attempt.runId, task: task.name, tryNumber: attempt.tryNumber },
      result,
    );
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

  /** Runs the task's process; its output goes to the log file (and stderr when echoing). */
  async #spawn(
    task: TaskDefinition,
    options: { ds: string; logPath: string },
  ): Promise<Omit<TryOutcome, "durationMs">> {
    const { warehouse, signal } = this.#options;
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--config",
        DENO_JSON,
        join(ROOT, task.script),
        ...(task.takesDs ? ["--ds", options.ds] : []),
      ],
      env: { DATABASE_URL: warehouse.url },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    using log = await Deno.open(options.logPath, { write: true, create: true, append: true });
    const stdout = this.#drain(child.stdout, log);
    const stderr = this.#drain(child.stderr, log);
    let stoppedBecause: string | undefined;
    let killTimer: ReturnType<typeof setTimeout> | undefined;
    const stopChild = (reason: string) => {
      if (stoppedBecause !== undefined) return;
      stoppedBecause = reason;
      kill(child, "SIGTERM");
      // A task that ignores SIGTERM for 10 s is killed.
      killTimer = setTimeout(() => kill(child, "SIGKILL"), 10_000);
    };
    const timeout = setTimeout(
      () => stopChild(`timed out after ${Math.round(task.timeoutMs / 1000)} s`),
      task.timeoutMs,
    );
    let grace: ReturnType<typeof setTimeout> | undefined;
    const onShutdown = () => {
      grace = setTimeout(
        () => stopChild("interrupted: the scheduler is shutting down"),
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
    const rows = task.rowsField ? lastNumber(out, task.rowsField) : null;
    if (status.success && stoppedBecause === undefined) {
      return { state: "succeeded", exitCode: status.code, rows, error: null };
    }
    const errorLine = err.split("\n").reverse().find((line) => line.startsWith("error: "));
    const error = stoppedBecause ?? errorLine?.slice("error: ".length) ??
      `exit code ${status.code}${status.signal ? ` (signal ${status.signal})` : ""}`;
    return { state: "failed", exitCode: status.code, rows, error: redactUrl(error).slice(0, 2000) };
  }

  /** Copies a child stream to the log file (and stderr when echoing); returns its tail as text. */
  async #drain(stream: ReadableStream<Uint8Array>, log: Deno.FsFile): Promise<string> {
    const decoder = new TextDecoder();
    let tail = "";
    for await (const chunk of stream) {
      await writeAll(log, chunk);
      if (this.#options.echo) await writeAll(Deno.stderr, chunk);
      tail = (tail + decoder.decode(chunk, { stream: true })).slice(-TAIL_BYTES);
    }
    return tail;
  }
}

async function writeAll(
  target: { write(p: Uint8Array): Promise<number> },
  chunk: Uint8Array,
): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) offset += await target.write(chunk.subarray(offset));
}

function kill(child: Deno.ChildProcess, signal: Deno.Signal): void {
  try {
    child.kill(signal);
  } catch (error) {
    // The process already exited: nothing to stop.
    if (!(error instanceof TypeError)) throw error;
  }
}

function lastNumber(text: string, field: string): number | null {
  const matches = [...text.matchAll(new RegExp(`\\b${field}=(\\d+)\\b`, "g"))];
  const last = matches.at(-1)?.[1];
  return last === undefined ? null : Number(last);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolvePromise) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolvePromise();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
