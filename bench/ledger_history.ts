/**
 * A long ledger history for the console's benchmark and its metrics test: every day of the
 * period, a scheduled `extract_load` and `transform` run as the scheduler records them — tries
 * with retries after transient failures, now and then a terminal failure and the manual run that
 * fixed it — with what each try printed, the load batches and the dbt builds. Written through the
 * ledger's own tables, in a few multi-row inserts.
 *
 * @example
 * ```ts
 * await migrate(db.sql);
 * const { runs, tries } = await fillLedgerHistory(db.sql, { days: 1095, lastDs: "2026-01-01" });
 * ```
 *
 * @module
 */
import { ulid } from "ulid";
import { addDays } from "../tasks/shared/dates.ts";
import { Logger } from "../tasks/shared/logger.ts";
import { SecretMask } from "../tasks/shared/secret_mask.ts";
import type { Sql } from "../tasks/warehouse/sql_client.ts";
import { definePipelines } from "../pipelines/definitions.ts";
import { ConsoleServer } from "../pipelines/console/console_server.ts";

/** Options for {@linkcode fillLedgerHistory}. */
export interface LedgerHistoryOptions {
  /** Days of history, ending with `lastDs`. */
  readonly days: number;
  readonly lastDs: string;
}

/** What the history holds. */
export interface LedgerHistory {
  readonly runs: number;
  readonly tries: number;
  /** The run with the most tries (the run page the benchmark reads). */
  readonly busiestRun: string;
}

interface Run {
  run_id: string;
  pipeline: string;
  ds: string;
  trigger: string;
  state: string;
  started_at: Date;
  finished_at: Date;
  error: string | null;
  failure: string | null;
  host: string;
  pid: number;
}

interface Try {
  run_id: string;
  task: string;
  try_number: number;
  state: string;
  exit_code: number;
  started_at: Date;
  finished_at: Date;
  duration_ms: number;
  rows: number | null;
  log_path: string;
  error: string | null;
  failure: string | null;
  output: string;
}

const USERS = 10_000;
const RETRY_DELAY_MS = 180_000;
const TRANSIENT = "page 1: the API answered 503 Service Unavailable (gave up after 6 attempts)";
const TERMINAL = "the CSV header of /data/raw/ds=DS/random_user.csv does not match raw.users " +
  "(missing nickname). Re-run `deno task extract` for this ds, or `deno task migrate`";

/** One task of a run: how many tries, the last one's outcome, its rows and its time. */
interface TaskPlan {
  readonly task: string;
  readonly tries: number;
  readonly last: "ok" | "terminal";
  readonly rows: number | null;
  readonly seconds: number;
}

/** Writes the history; see the module documentation. */
export async function fillLedgerHistory(
  sql: Sql,
  options: LedgerHistoryOptions,
): Promise<LedgerHistory> {
  const runs: Run[] = [];
  const tries: Try[] = [];
  const batches: Record<string, unknown>[] = [];
  const builds: Record<string, unknown>[] = [];
  let busiest = { runId: "", tries: 0 };
  const record = (
    pipeline: string,
    ds: string,
    run: { trigger: string; start: number; tasks: readonly TaskPlan[] },
  ): number => {
    const runId = ulid(run.start);
    let clock = run.start;
    let failed: TaskPlan | undefined;
    for (const plan of run.tasks) {
      for (let tryNumber = 1; tryNumber <= plan.tries; tryNumber++) {
        const last = tryNumber === plan.tries;
        const ok = last && plan.last === "ok";
        const ms = Math.round(plan.seconds * 1000 * (ok ? 1 : 0.3));
        const error = ok ? null : last ? TERMINAL.replace("DS", ds) : TRANSIENT;
        tries.push({
          run_id: runId,
          task: plan.task,
          try_number: tryNumber,
          state: ok ? "succeeded" : "failed",
          exit_code: ok ? 0 : last ? 3 : 1,
          started_at: new Date(clock),
          finished_at: new Date(clock + ms),
          duration_ms: ms,
          rows: ok ? plan.rows : null,
          log_path: `/data/logs/${pipeline}/ds=${ds}/${plan.task}/${runId}-try${tryNumber}.log`,
          error,
          failure: ok ? null : last ? "terminal" : "transient",
          output: tryOutput(plan.task, ds, error),
        });
        clock += ms + (ok || last ? 0 : RETRY_DELAY_MS);
        if (plan.task === "load") {
          batches.push(loadBatch(ds, { ok, start: clock - ms, end: clock, error }));
        }
        if (plan.task === "dbt_build") {
          builds.push(dbtBuild(ds, { ok, start: clock - ms, end: clock }));
        }
      }
      if (plan.last !== "ok") {
        failed = plan;
        break;
      }
    }
    const count = run.tasks.reduce((sum, plan) => sum + plan.tries, 0);
    if (count > busiest.tries) busiest = { runId, tries: count };
    runs.push({
      run_id: runId,
      pipeline,
      ds,
      trigger: run.trigger,
      state: failed ? "failed" : "succeeded",
      started_at: new Date(run.start),
      finished_at: new Date(clock),
      error: failed
        ? `${failed.task} failed after ${failed.tries} tries: ${TERMINAL.replace("DS", ds)}`
        : null,
      failure: failed ? "terminal" : null,
      host: "pipeline",
      pid: 1,
    });
    return clock;
  };

  const first = addDays(options.lastDs, 1 - options.days);
  for (let day = 0; day < options.days; day++) {
    const ds = addDays(first, day);
    const midnight = Date.parse(`${ds}T00:00:00Z`);
    const broken = day % 30 === 29;
    const extractLoad = (last: "ok" | "terminal"): TaskPlan[] => [
      { task: "migrate", tries: 1, last: "ok", rows: 0, seconds: 0.4 },
      { task: "extract", tries: 1 + (day % 4), last: "ok", rows: USERS, seconds: 14 },
      { task: "load", tries: last === "ok" ? 1 + (day % 2) : 1, last, rows: USERS, seconds: 3 },
    ];
    let end = record("extract_load", ds, {
      trigger: "schedule",
      start: midnight + 5 * 60_000,
      tasks: extractLoad(broken ? "terminal" : "ok"),
    });
    if (broken) {
      // Someone fixed it and ran it again by hand that morning.
      end = record("extract_load", ds, {
        trigger: "manual",
        start: midnight + 9 * 3_600_000,
        tasks: extractLoad("ok"),
      });
    }
    record("transform", ds, {
      trigger: "schedule",
      start: end + 1_000,
      tasks: [
        { task: "dbt_build", tries: 1 + (day % 4), last: "ok", rows: 12, seconds: 40 },
        { task: "metabase_provision", tries: 1, last: "ok", rows: null, seconds: 6 },
      ],
    });
  }
  await sql.begin(async (tx) => {
    for (const chunk of chunks(runs)) await tx`insert into meta.pipeline_runs ${tx(chunk)}`;
    for (const chunk of chunks(tries)) {
      await tx`insert into meta.task_tries ${
        tx(chunk.map(({ output: _, ...attempt }) => attempt))
      }`;
      await tx`insert into meta.task_try_output ${
        tx(
          chunk.map(({ run_id, task, try_number, output }) => ({
            run_id,
            task,
            try_number,
            output,
          })),
        )
      }`;
    }
    for (const chunk of chunks(batches)) await tx`insert into meta.load_batches ${tx(chunk)}`;
    for (const chunk of chunks(builds)) await tx`insert into meta.dbt_runs ${tx(chunk)}`;
  });
  await sql`
    analyze meta.pipeline_runs, meta.task_tries, meta.task_try_output, meta.load_batches,
      meta.dbt_runs`;
  return { runs: runs.length, tries: tries.length, busiestRun: busiest.runId };
}

/**
 * A read-only console (`deno task console`'s) over the warehouse at `warehouseUrl`, on a free
 * loopback port, for the pipelines the history holds; close it (`await using`).
 */
export function historyConsole(warehouseUrl: string): ConsoleServer {
  const server = ConsoleServer.listen({
    host: "127.0.0.1",
    port: 0,
    mode: "console",
    pipelines: definePipelines({ retries: 3, retryDelayMs: RETRY_DELAY_MS }, { metabase: true }),
    dataDir: "/nonexistent",
    mask: new SecretMask(),
    token: undefined,
    logger: new Logger("console", () => {}),
  });
  server.attach({ warehouseUrl });
  return server;
}

/** What a try of `task` prints, about as long as the real one. */
function tryOutput(task: string, ds: string, error: string | null): string {
  const at = `${ds}T00:05:00.000Z`;
  const lines = task === "extract"
    ? [1, 2].map((page) =>
      `time=${at} level=info task=extract msg="page written" ds=${ds} page=${page} pages=2 ` +
      `users=5000 rejects=0`
    ).concat(`extract ds=${ds} users=${USERS} rejects=0 pages=2 duplicates=0 seconds=14.1`)
    : task === "dbt_build"
    ? Array.from(
      { length: 24 },
      (_, i) =>
        `${String(i + 1).padStart(2)} of 24 OK created sql table model analytics.model_${i} ` +
        `.......... [SELECT ${USERS} in 0.${i}s]`,
    )
    : [`${task} ds=${ds} ok=true`];
  return [...lines, ...(error ? [`error: ${error}`] : [])].join("\n");
}

function loadBatch(
  ds: string,
  batch: { ok: boolean; start: number; end: number; error: string | null },
): Record<string, unknown> {
  return {
    batch_id: ulid(batch.start),
    ds,
    file: `/data/raw/ds=${ds}/random_user.csv`,
    status: batch.ok ? "succeeded" : "failed",
    rows_in_file: USERS,
    inserted: batch.ok ? USERS : null,
    updated: batch.ok ? 0 : null,
    deleted: batch.ok ? 0 : null,
    unchanged: batch.ok ? 0 : null,
    error: batch.error,
    started_at: new Date(batch.start),
    finished_at: new Date(batch.end),
  };
}

function dbtBuild(ds: string, build: { ok: boolean; start: number; end: number }) {
  return {
    run_id: ulid(build.start),
    ds,
    runner: "local",
    command: "dbt build",
    status: build.ok ? "succeeded" : "failed",
    exit_code: build.ok ? 0 : 1,
    models: 7,
    tests: 60,
    failures: build.ok ? 0 : 1,
    started_at: new Date(build.start),
    finished_at: new Date(build.end),
  };
}

function* chunks<T>(rows: readonly T[], size = 1_000): Generator<T[]> {
  for (let i = 0; i < rows.length; i += size) yield rows.slice(i, i + size);
}
