/**
 * The end-to-end benchmark: `pipelines/cli.ts run all` for one logical date against the fake
 * Random User API (the real stand-in, generating as it serves) and a fresh database, with the
 * wall time of every task as the run ledger recorded it (`meta.task_tries.duration_ms`).
 *
 * @module
 */
import type { Logger } from "../tasks/shared/logger.ts";
import { startFakeRandomUser } from "../tasks/stand_in/randomuser_server.ts";
import type { BenchDatabase } from "./bench_database.ts";
import { assertSucceeded, denoScript, runTimed, type TimingTools } from "./timed_process.ts";

/** Options for {@linkcode benchPipeline}. */
export interface PipelineBenchOptions {
  db: BenchDatabase;
  users: number;
  ds: string;
  /** `DBT_RUNNER` for the transform. */
  dbtRunner: string;
  workspace: string;
  tools: TimingTools;
  logger: Logger;
}

/** One task of the run. */
export interface TaskFigure {
  readonly pipeline: string;
  readonly task: string;
  readonly seconds: number;
  readonly state: string;
}

/** What the end-to-end benchmark measured. */
export interface PipelineBenchResult {
  readonly users: number;
  readonly tasks: readonly TaskFigure[];
  /** Sum of the tasks' durations. */
  readonly taskSeconds: number;
  /** Wall clock of the whole `run all` process (ledger, migrations and start-up included). */
  readonly totalSeconds: number;
}

/** Runs the benchmark; see the module documentation. */
export async function benchPipeline(options: PipelineBenchOptions): Promise<PipelineBenchResult> {
  const { db } = options;
  await using api = await startFakeRandomUser({
    now: new Date(new Date().toISOString().slice(0, 10)),
  });
  options.logger.info("running the pipelines", { users: options.users, ds: options.ds });
  const run = await runTimed(denoScript("pipelines/cli.ts", ["run", "all", "--ds", options.ds]), {
    cwd: options.workspace,
    env: {
      DATABASE_URL: db.url,
      RANDOMUSER_API_URL: api.url,
      DATA_DIR: `${options.workspace}/pipeline/data`,
      USERS_PER_RUN: String(options.users),
      DBT_RUNNER: options.dbtRunner,
      TASK_RETRIES: "0",
    },
    tools: options.tools,
  });
  assertSucceeded(run, "run all");
  const tries = await db.sql<{ pipeline: string; task: string; ms: number; state: string }[]>`
    select r.pipeline, t.task, t.duration_ms as ms, t.state
    from meta.task_tries as t join meta.pipeline_runs as r using (run_id)
    where r.ds = ${options.ds}::date
    order by t.started_at`;
  const tasks = tries.map((row) => ({
    pipeline: row.pipeline,
    task: row.task,
    seconds: row.ms / 1000,
    state: row.state,
  }));
  return {
    users: options.users,
    tasks,
    taskSeconds: tasks.reduce((sum, task) => sum + task.seconds, 0),
    totalSeconds: run.wallSeconds,
  };
}
