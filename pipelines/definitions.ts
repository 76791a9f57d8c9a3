/**
 * The pipelines as data: which tasks, in which order, with what retries, delay and timeout —
 * `extract_load` = `migrate >> extract --load >> load --skip-if-loaded` (the extract streams the
 * CSV into the warehouse as it writes it; the load finishes the job if that did not), `transform`
 * = `dbt_build` (then `metabase_provision` where Metabase runs beside the pipeline) `>>
 * source_freshness` (dbt source freshness of raw.users), daily (UTC).
 *
 * @example
 * ```ts
 * const pipelines = definePipelines({ retries: 3, retryDelayMs: 180_000 });
 * console.log(pipelines.extract_load.tasks.map((task) => task.name)); // migrate, extract, load
 * ```
 *
 * @module
 */

/** Names of the pipelines. */
export const PIPELINE_NAMES = ["extract_load", "transform"] as const;
/** A pipeline's name. */
export type PipelineName = typeof PIPELINE_NAMES[number];

/** One task: a script under `tasks/` run as its own process. */
export interface TaskDefinition {
  readonly name: string;
  /** Path of the entry point, relative to the project root. */
  readonly script: string;
  /** Whether the task takes `--ds`. */
  readonly takesDs: boolean;
  /** Arguments the task always gets. */
  readonly args?: readonly string[];
  /** Flags for `deno run` itself (before the script), e.g. V8's; `deno.json`'s task has them too. */
  readonly denoFlags?: readonly string[];
  /** Calls the Random User API: on Airflow it holds API_CONCURRENCY slots of the API pool. */
  readonly callsApi?: boolean;
  readonly timeoutMs: number;
}

/** A pipeline: tasks in order, their retry policy, its schedule and what must succeed first. */
export interface PipelineDefinition {
  readonly name: PipelineName;
  readonly tasks: readonly TaskDefinition[];
  /** Tries after the first one, per task. */
  readonly retries: number;
  readonly retryDelayMs: number;
  /** Cron expression (UTC) of the daily trigger. */
  readonly schedule: string;
  /** A pipeline that must have succeeded for the same ds before this one runs. */
  readonly upstream?: PipelineName;
}

const MINUTE = 60_000;

/**
 * How the extract runs: with a 1 MB young generation per thread, and V8 tuned for size (smaller
 * heap growth steps). Its pages make a great deal of short-lived garbage, and V8 otherwise grows
 * each thread's young generation to 16 MB semispaces and lets the old one run far ahead of what
 * lives: measured at 1 000 000 users on all cores, peak RSS 257 → 184 MB at the same speed
 * (issue 18). `deno.json`'s `extract` task says the same (a test holds them equal).
 */
export const EXTRACT_DENO_FLAGS: readonly string[] = [
  "--v8-flags=--max-semi-space-size=1,--optimize-for-size",
];

/** Retries of a task after a transient failure, and the delay between its tries. */
export interface RetryPolicy {
  readonly retries: number;
  readonly retryDelayMs: number;
}

/** The pipelines by name. */
export type Pipelines = Readonly<Record<PipelineName, PipelineDefinition>>;

/** What the pipelines include beyond their fixed tasks. */
export interface PipelineOptions {
  /**
   * End the transform with `metabase:provision --if-set-up` (`METABASE_SYNC`), so Metabase's
   * questions and dbt's descriptions follow every build.
   */
  readonly metabase?: boolean;
}

/**
 * The two pipelines, with the retry policy of `TASK_RETRIES` and `TASK_RETRY_DELAY`; with
 * `options.metabase`, the transform is `dbt_build >> metabase_provision >> source_freshness`.
 */
export function definePipelines(
  retryPolicy: RetryPolicy,
  options: PipelineOptions = {},
): Pipelines {
  const policy = { retries: retryPolicy.retries, retryDelayMs: retryPolicy.retryDelayMs };
  return {
    extract_load: {
      name: "extract_load",
      ...policy,
      schedule: "5 0 * * *",
      tasks: [
        {
          name: "migrate",
          script: "tasks/migrate.ts",
          takesDs: false,
          timeoutMs: 5 * MINUTE,
        },
        {
          name: "extract",
          script: "tasks/extract.ts",
          takesDs: true,
          // One streamed pass: the CSV goes into raw.users as it is written (issue 18).
          args: ["--load"],
          denoFlags: EXTRACT_DENO_FLAGS,
          callsApi: true,
          timeoutMs: 30 * MINUTE,
        },
        {
          name: "load",
          script: "tasks/load.ts",
          takesDs: true,
          // A no-op after a streamed extract that loaded this very file; the load otherwise
          // (the streamed load failed, or the task is run again on its own).
          args: ["--skip-if-loaded"],
          timeoutMs: 30 * MINUTE,
        },
      ],
    },
    transform: {
      name: "transform",
      ...policy,
      // Normally started right after extract_load succeeds; this trigger catches a day whose
      // transform did not run then (e.g. the scheduler restarted in between).
      schedule: "35 0 * * *",
      upstream: "extract_load",
      tasks: [
        {
          name: "dbt_build",
          script: "tasks/dbt_build.ts",
          takesDs: true,
          timeoutMs: 60 * MINUTE,
        },
        ...(options.metabase
          ? [{
            name: "metabase_provision",
            script: "tasks/metabase_provision.ts",
            takesDs: false,
            // The stack's one-shot metabase-setup does the first-run setup; this run never races it.
            args: ["--if-set-up"],
            timeoutMs: 15 * MINUTE,
          }]
          : []),
        {
          // Last: a stale raw.users fails the run (or warns) without holding back the marts.
          name: "source_freshness",
          script: "tasks/source_freshness.ts",
          takesDs: true,
          timeoutMs: 15 * MINUTE,
        },
      ],
    },
  };
}

/**
 * Minutes past midnight (UTC) of a daily cron expression `M H * * *`; a RangeError for any other
 * schedule (the scheduler's console and the Airflow DAGs know daily schedules only).
 */
export function dailyMinute(schedule: string): number {
  const match = /^(\d{1,2}) (\d{1,2}) \* \* \*$/.exec(schedule);
  const minute = Number(match?.[1]);
  const hour = Number(match?.[2]);
  if (!match || minute > 59 || hour > 23) {
    throw new RangeError(
      `schedule ${JSON.stringify(schedule)} is not a daily cron expression "M H * * *"; ` +
        "the pipelines support daily schedules only",
    );
  }
  return hour * 60 + minute;
}

/** The first time after `now` that the daily `schedule` fires. */
export function nextScheduledRun(schedule: string, now: Date): Date {
  const minute = dailyMinute(schedule);
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const fires = today + minute * 60_000;
  return new Date(fires > now.getTime() ? fires : fires + 86_400_000);
}

/** Parses a pipeline argument: a pipeline's name, or `all` for both in order. */
export function selectPipelines(name: string): PipelineName[] | undefined {
  if (name === "all") return [...PIPELINE_NAMES];
  return (PIPELINE_NAMES as readonly string[]).includes(name) ? [name as PipelineName] : undefined;
}
