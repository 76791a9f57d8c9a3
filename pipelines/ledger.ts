/**
 * The run ledger in `meta`: pipeline runs and task tries as rows, so history, retries and
 * "has this ds succeeded?" live in the database, not in a process. It also holds the lock that
 * keeps two runs of the same pipeline and ds from overlapping, across processes.
 *
 * @example
 * ```ts
 * const ledger = new RunLedger(warehouse.sql);
 * const runId = await ledger.startRun({ pipeline: "extract_load", ds, trigger: "manual" });
 * ```
 *
 * @module
 */
import { hostname } from "node:os";
import { ulid } from "ulid";
import type postgres from "postgres";
import type { FailureClass } from "../tasks/shared/errors.ts";
import type { Sql } from "../tasks/warehouse/sql_client.ts";

type ReservedSql = postgres.ReservedSql;

/**
 * Why a try or a run failed: the class of the task's exit code (transient 1, usage 2, terminal
 * 3), or what the runner saw — a timeout, a stop signal, an upstream pipeline that has not
 * succeeded, a process that died.
 */
export type Failure = FailureClass | "timeout" | "stopped" | "upstream" | "orphaned";

/** What started a run. */
export type Trigger = "schedule" | "manual" | "backfill" | "catchup" | "airflow";
/** The state of a run or a try. */
export type RunState = "running" | "succeeded" | "failed";

/** A pipeline run as the ledger holds it. */
export interface RunRecord {
  readonly run_id: string;
  readonly pipeline: string;
  readonly ds: string;
  readonly trigger: Trigger;
  readonly state: RunState;
  readonly started_at: Date;
  readonly finished_at: Date | null;
  readonly error: string | null;
  readonly failure: Failure | null;
  readonly host: string;
  readonly pid: number;
  /** The run id of the scheduler that started the run (Airflow's dag run id), if not ours. */
  readonly external_run_id: string | null;
}

/** A task try as the ledger holds it. */
export interface TryRecord {
  readonly run_id: string;
  readonly task: string;
  readonly try_number: number;
  readonly state: RunState;
  readonly exit_code: number | null;
  readonly started_at: Date;
  readonly finished_at: Date | null;
  readonly duration_ms: number | null;
  readonly rows: number | null;
  readonly log_path: string;
  readonly error: string | null;
  readonly failure: Failure | null;
  /** What a try that succeeded warns of (e.g. data past its freshness warn_after). */
  readonly warning: string | null;
}

/** A run with its tries, oldest try first. */
export type RunWithTries = RunRecord & { tries: TryRecord[] };

/** The end of a try. */
export interface TryOutcome {
  state: "succeeded" | "failed";
  exitCode: number | null;
  durationMs: number;
  rows: number | null;
  error: string | null;
  /** Null when the try succeeded. */
  failure: Failure | null;
  /** What the try printed, redacted and bounded (`TryOutput`), when it was kept. */
  output?: string;
  /** The task's warning when it succeeded with one, else null. */
  warning: string | null;
}

/** The lock that keeps one run per (pipeline, ds); released by `release()`. */
export interface RunLock {
  release(): Promise<void>;
}

/** Reads and writes `meta.pipeline_runs` and `meta.task_tries`. */
export class RunLedger {
  readonly #sql: Sql;

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  #runColumns() {
    return runColumns(this.#sql);
  }

  /**
   * Takes the (pipeline, ds) lock on a dedicated connection, waiting while another process
   * holds it; `onWait` is told which run holds it first.
   */
  async lock(
    run: { pipeline: string; ds: string },
    onWait?: (holder: RunRecord | undefined) => void,
  ): Promise<RunLock> {
    const held = await this.#tryLock(run);
    if (held) return held;
    onWait?.(await this.latestRun(run));
    return await this.#lockOn(await this.#sql.reserve(), { run, wait: true }) as RunLock;
  }

  /** The (pipeline, ds) lock if it is free now, else undefined. */
  async #tryLock(run: { pipeline: string; ds: string }): Promise<RunLock | undefined> {
    return await this.#lockOn(await this.#sql.reserve(), { run, wait: false });
  }

  /** Takes the lock on a reserved connection, which it keeps until `release()`. */
  async #lockOn(
    connection: ReservedSql,
    options: { run: { pipeline: string; ds: string }; wait: boolean },
  ): Promise<RunLock | undefined> {
    const name = lockName(options.run);
    try {
      if (options.wait) {
        await connection`select pg_advisory_lock(hashtext('randomuser-elt:run'), hashtext(${name}))`;
      } else {
        const [got] = await connection`
          select pg_try_advisory_lock(hashtext('randomuser-elt:run'), hashtext(${name})) as ok`;
        if (!got?.ok) {
          connection.release();
          return undefined;
        }
      }
    } catch (error) {
      connection.release();
      throw error;
    }
    return {
      release: async () => {
        try {
          await connection`
            select pg_advisory_unlock(hashtext('randomuser-elt:run'), hashtext(${name}))`;
        } finally {
          connection.release();
        }
      },
    };
  }

  /**
   * Marks failed every run left `running` by a process that is gone (its lock is free), with
   * its running tries. Returns the runs it marked.
   */
  async recoverOrphans(): Promise<RunRecord[]> {
    const running = await this.#sql<RunRecord[]>`
      select ${this.#runColumns()} from meta.pipeline_runs where state = 'running'
      order by started_at`;
    const orphans: RunRecord[] = [];
    for (const run of running) {
      const lock = await this.#tryLock(run);
      if (!lock) continue; // a live process holds it
      try {
        await this.#markFailed(run);
        orphans.push(run);
      } finally {
        await lock.release();
      }
    }
    return orphans;
  }

  /**
   * Marks failed the runs of (pipeline, ds) still `running`: call it while holding that pair's
   * lock, when no live process can be running them.
   */
  async recoverOrphansOf(run: { pipeline: string; ds: string }): Promise<RunRecord[]> {
    const running = await this.#sql<RunRecord[]>`
      select ${this.#runColumns()} from meta.pipeline_runs
      where state = 'running' and pipeline = ${run.pipeline} and ds = ${run.ds}::date`;
    for (const orphan of running) await this.#markFailed(orphan);
    return running;
  }

  async #markFailed(run: RunRecord): Promise<void> {
    const error = `orphaned: the process running it (pid ${run.pid} on ${run.host}) stopped ` +
      "before it finished";
    await this.#sql.begin(async (tx) => {
      await tx`
        update meta.task_tries
        set state = 'failed', finished_at = now(), error = ${error}, failure = 'orphaned'
        where run_id = ${run.run_id} and state = 'running'`;
      await tx`
        update meta.pipeline_runs
        set state = 'failed', finished_at = now(), error = ${error}, failure = 'orphaned'
        where run_id = ${run.run_id} and state = 'running'`;
    });
  }

  /** Records a new running run and returns its id. */
  async startRun(run: { pipeline: string; ds: string; trigger: Trigger }): Promise<string> {
    const runId = ulid();
    await this.#sql`
      insert into meta.pipeline_runs (run_id, pipeline, ds, trigger, state, host, pid)
      values (${runId}, ${run.pipeline}, ${run.ds}::date, ${run.trigger}, 'running',
              ${hostname()}, ${Deno.pid})`;
    return runId;
  }

  /**
   * The ledger run of an Airflow DAG run, marked running: created on its first try, reopened on
   * the next ones (a retry, or a task after the first). Returns its id.
   */
  async openExternalRun(
    run: { pipeline: string; ds: string; externalRunId: string },
  ): Promise<string> {
    const [row] = await this.#sql<{ run_id: string }[]>`
      insert into meta.pipeline_runs
        (run_id, pipeline, ds, trigger, state, host, pid, external_run_id)
      values (${ulid()}, ${run.pipeline}, ${run.ds}::date, 'airflow', 'running', ${hostname()},
              ${Deno.pid}, ${run.externalRunId})
      on conflict (pipeline, external_run_id) where external_run_id is not null do update
        set state = 'running', finished_at = null, error = null, failure = null,
            host = excluded.host, pid = excluded.pid
      returning run_id`;
    if (!row) throw new Error(`no ledger run for ${run.pipeline} ${run.externalRunId}`);
    return row.run_id;
  }

  async finishRun(
    runId: string,
    outcome: { state: "succeeded" } | { state: "failed"; error: string; failure: Failure },
  ): Promise<void> {
    const failed = outcome.state === "failed" ? outcome : undefined;
    await this.#sql`
      update meta.pipeline_runs
      set state = ${outcome.state}, finished_at = now(), error = ${failed?.error ?? null},
          failure = ${failed?.failure ?? null}
      where run_id = ${runId}`;
  }

  async startTry(
    attempt: { runId: string; task: string; tryNumber: number; logPath: string },
  ): Promise<void> {
    await this.#sql`
      insert into meta.task_tries (run_id, task, try_number, state, log_path)
      values (${attempt.runId}, ${attempt.task}, ${attempt.tryNumber}, 'running', ${attempt.logPath})`;
  }

  async finishTry(
    attempt: { runId: string; task: string; tryNumber: number },
    outcome: TryOutcome,
  ): Promise<void> {
    // One statement: the try and what it printed are recorded together or not at all.
    await this.#sql`
      with finished as (
        update meta.task_tries
        set state = ${outcome.state}, exit_code = ${outcome.exitCode}, finished_at = now(),
            duration_ms = ${Math.round(outcome.durationMs)}, rows = ${outcome.rows},
            error = ${outcome.error}, failure = ${outcome.failure},
            warning = ${outcome.warning}
        where run_id = ${attempt.runId} and task = ${attempt.task}
          and try_number = ${attempt.tryNumber}
        returning run_id, task, try_number
      )
      insert into meta.task_try_output (run_id, task, try_number, output)
      select run_id, task, try_number, ${outcome.output ?? null}::text from finished
      where ${outcome.output ?? null}::text is not null
      on conflict (run_id, task, try_number) do update set output = excluded.output`;
  }

  /** The most recent run of `pipeline` for `ds`, if any. */
  async latestRun(run: { pipeline: string; ds: string }): Promise<RunRecord | undefined> {
    const [latest] = await this.#sql<RunRecord[]>`
      select ${this.#runColumns()} from meta.pipeline_runs
      where pipeline = ${run.pipeline} and ds = ${run.ds}::date
      order by started_at desc, run_id desc limit 1`;
    return latest;
  }

  /** True when some run of `pipeline` for `ds` succeeded. */
  async hasSucceeded(run: { pipeline: string; ds: string }): Promise<boolean> {
    const [row] = await this.#sql`
      select exists (
        select 1 from meta.pipeline_runs
        where pipeline = ${run.pipeline} and ds = ${run.ds}::date and state = 'succeeded'
      ) as ok`;
    return row?.ok === true;
  }

  /** The newest ds for which a run of `pipeline` succeeded, if any. */
  async latestSucceededDs(pipeline: string): Promise<string | undefined> {
    const [row] = await this.#sql<{ ds: string | null }[]>`
      select max(ds)::text as ds from meta.pipeline_runs
      where pipeline = ${pipeline} and state = 'succeeded'`;
    return row?.ds ?? undefined;
  }

  /** The first and the most recent run of `pipeline`, whatever their ds (undefined: none). */
  async firstAndLastRun(
    pipeline: string,
  ): Promise<{ first: RunRecord; last: RunRecord } | undefined> {
    const [first, last] = await this.#sql<RunRecord[]>`
      (select ${this.#runColumns()} from meta.pipeline_runs where pipeline = ${pipeline}
       order by started_at, run_id limit 1)
      union all
      (select ${this.#runColumns()} from meta.pipeline_runs where pipeline = ${pipeline}
       order by started_at desc, run_id desc limit 1)`;
    return first && last ? { first, last } : undefined;
  }

  /** The earliest ds the ledger has seen, if any (the default start of catch-up). */
  async firstDs(): Promise<string | undefined> {
    const [row] = await this.#sql<{ ds: string | null }[]>`
      select min(ds)::text as ds from meta.pipeline_runs`;
    return row?.ds ?? undefined;
  }

  /** The `limit` most recent runs with their tries, newest first. */
  async recentRuns(limit: number): Promise<RunWithTries[]> {
    const runs = await this.#sql<RunRecord[]>`
      select ${this.#runColumns()} from meta.pipeline_runs
      order by started_at desc, run_id desc limit ${limit}`;
    return await this.#withTries(runs);
  }

  /** The run `runId` with its tries, if there is one. */
  async run(runId: string): Promise<RunWithTries | undefined> {
    const runs = await this.#sql<RunRecord[]>`
      select ${this.#runColumns()} from meta.pipeline_runs where run_id = ${runId}`;
    return (await this.#withTries(runs))[0];
  }

  async #withTries(runs: readonly RunRecord[]): Promise<RunWithTries[]> {
    if (runs.length === 0) return [];
    const tries = await this.#sql<TryRecord[]>`
      select ${tryColumns(this.#sql)}
      from meta.task_tries where run_id in ${this.#sql(runs.map((run) => run.run_id))}
      order by started_at, try_number`;
    return runs.map((run) => ({ ...run, tries: tries.filter((t) => t.run_id === run.run_id) }));
  }
}

/**
 * The columns of a {@linkcode RunRecord}, `ds` as `YYYY-MM-DD` text (postgres.js would make it a
 * local-time Date).
 */
export function runColumns(sql: Sql) {
  return sql`
    run_id, pipeline, ds::text as ds, trigger, state, started_at, finished_at, error, failure,
    host, pid, external_run_id`;
}

/** The columns of a {@linkcode TryRecord}. */
export function tryColumns(sql: Sql) {
  return sql`
    run_id, task, try_number, state, exit_code, started_at, finished_at, duration_ms,
    rows::float8 as rows, log_path, error, failure, warning`;
}

function lockName(run: { pipeline: string; ds: string }): string {
  return `${run.pipeline}:${run.ds}`;
}
