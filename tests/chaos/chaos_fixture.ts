/**
 * The pipeline fixture with what the chaos suite adds: tasks and the CLI started in the
 * background (to be killed mid-flight, with their whole process tree), waits on the warehouse's
 * sessions (`pg_stat_activity`), the state of `raw.users` and of the run ledger, and a record
 * of every byte of output the suite captured (to look for leaked secrets).
 *
 * @example
 * ```ts
 * await using fixture = await createChaosFixture();
 * const run = fixture.launch("pipelines/cli.ts", { args: ["run", "extract_load"] });
 * const copy = await fixture.waitForSession({
 *   application: "randomuser-elt:load:%",
 *   query: "copy %",
 * });
 * Deno.kill(copy.clientPid, "SIGKILL");
 * ```
 *
 * @module
 */
import { createPipelineFixture, type PipelineFixture } from "../helpers/pipeline_fixture.ts";
import type { TaskResult } from "../helpers/task_process.ts";
import { type RawUsersState, rawUsersState } from "../helpers/raw_users.ts";

export type { RawUsersState };

/** How a background process ended. */
export interface ProcessResult extends TaskResult {
  /** The signal that ended it, if one did. */
  readonly signal: Deno.Signal | null;
}

/** A task or the CLI running in the background. */
export interface BackgroundProcess {
  readonly pid: number;
  /** Resolves when the process has exited and its output is read. */
  readonly finished: Promise<ProcessResult>;
  /** Its output so far (stdout then stderr), for waiting on a log line. */
  readonly outputSoFar: () => string;
  /** Sends `signal` to the process and every process it started. */
  killTree(signal: Deno.Signal): void;
}

/** Options for {@linkcode ChaosFixture.launch}. */
export interface LaunchOptions {
  args?: readonly string[];
  env?: Record<string, string>;
  /** Killed (with its children) after this long; default 10 minutes. */
  timeoutMs?: number;
}

/** A session of the fixture's database, as `pg_stat_activity` shows it. */
export interface WarehouseSession {
  /** The server process of the session (for `pg_terminate_backend`). */
  readonly backendPid: number;
  readonly applicationName: string;
  /** The client process, from `randomuser-elt:<script>:<pid>`; 0 for other clients (dbt). */
  readonly clientPid: number;
  readonly query: string;
}

/** Options for {@linkcode ChaosFixture.waitForSession}. */
export interface SessionFilter {
  /** A LIKE pattern of `application_name`: `randomuser-elt:load:%` for the load task, `dbt`. */
  application: string;
  /** A LIKE pattern (case-insensitive) the session's current query must match. */
  query?: string;
  /** Only sessions running a query (`state = 'active'`); default false. */
  active?: boolean;
  timeoutMs?: number;
}

/** A task try as the ledger holds it. */
export interface LedgerTry {
  readonly task: string;
  readonly try_number: number;
  readonly state: string;
  readonly exit_code: number | null;
  readonly rows: number | null;
  readonly error: string | null;
}

/** A pipeline run as the ledger holds it. */
export interface LedgerRun {
  readonly run_id: string;
  readonly pipeline: string;
  readonly ds: string;
  readonly trigger: string;
  readonly state: string;
  readonly error: string | null;
}

/** The pipeline fixture plus background processes, session waits and captured output. */
export interface ChaosFixture extends PipelineFixture {
  /** Starts `script` (a path from the project root) in the background, in the workspace. */
  launch(script: string, options?: LaunchOptions): BackgroundProcess;
  /** Polls `pg_stat_activity` of the fixture's database until a matching session shows. */
  waitForSession(filter: SessionFilter): Promise<WarehouseSession>;
  /** Resolves once the server process `backendPid` has left `pg_stat_activity`. */
  waitForSessionEnd(backendPid: number, timeoutMs?: number): Promise<void>;
  rawUsers(): Promise<RawUsersState>;
  runs(): Promise<LedgerRun[]>;
  tries(run: { pipeline: string; ds: string }): Promise<LedgerTry[]>;
  /** Everything the fixture's processes printed so far, one entry per stream. */
  readonly captured: readonly string[];
}

/** Creates a {@linkcode PipelineFixture} and adds the chaos tools to it. */
export async function createChaosFixture(): Promise<ChaosFixture> {
  const base = await createPipelineFixture();
  const captured: string[] = [];
  const live = new Map<number, BackgroundProcess>();
  const keep = (result: TaskResult): TaskResult => {
    captured.push(result.stdout, result.stderr);
    return result;
  };
  const sql = base.db.sql;

  const launch = (script: string, options: LaunchOptions = {}): BackgroundProcess => {
    const child = base.spawn(script, options.args ?? [], options.env ?? {});
    let stdout = "";
    let stderr = "";
    const read = async (stream: ReadableStream<Uint8Array>, append: (text: string) => void) => {
      const decoder = new TextDecoder();
      for await (const chunk of stream) append(decoder.decode(chunk, { stream: true }));
    };
    const reading = Promise.all([
      read(child.stdout, (text) => stdout += text),
      read(child.stderr, (text) => stderr += text),
    ]);
    const killTree = (signal: Deno.Signal) => signalTree(child.pid, signal);
    const timer = setTimeout(() => killTree("SIGKILL"), options.timeoutMs ?? 600_000);
    const handle: BackgroundProcess = {
      pid: child.pid,
      outputSoFar: () => stdout + stderr,
      killTree,
      finished: (async () => {
        try {
          const status = await child.status;
          await reading;
          captured.push(stdout, stderr);
          return { code: status.code, signal: status.signal, stdout, stderr };
        } finally {
          clearTimeout(timer);
          live.delete(child.pid);
        }
      })(),
    };
    live.set(child.pid, handle);
    return handle;
  };

  const waitForSession = async (filter: SessionFilter): Promise<WarehouseSession> => {
    const application = filter.application;
    const deadline = Date.now() + (filter.timeoutMs ?? 180_000);
    for (;;) {
      const [session] = await sql<
        { pid: number; application_name: string; query: string }[]
      >`
        select pid, application_name, query from pg_stat_activity
        where datname = current_database() and pid <> pg_backend_pid()
          and application_name like ${application}
          and (${filter.query ?? null}::text is null or query ilike ${filter.query ?? "%"})
          and (not ${filter.active ?? false} or state = 'active')
        order by backend_start limit 1`;
      if (session) {
        const clientPid = Number(
          /^randomuser-elt:[^:]+:(\d+)$/.exec(session.application_name)?.[1],
        );
        return {
          backendPid: session.pid,
          applicationName: session.application_name,
          clientPid: Number.isFinite(clientPid) ? clientPid : 0,
          query: session.query,
        };
      }
      if (Date.now() > deadline) {
        throw new Error(
          `no session of ${application}${filter.query ? ` running ${filter.query}` : ""} ` +
            `showed in pg_stat_activity within ${filter.timeoutMs ?? 180_000} ms`,
        );
      }
      await delay(15);
    }
  };

  const waitForSessionEnd = async (backendPid: number, timeoutMs = 10_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const [row] = await sql<{ n: number }[]>`
        select count(*)::int as n from pg_stat_activity where pid = ${backendPid}`;
      if (row?.n === 0) return;
      if (Date.now() > deadline) {
        throw new Error(`the server process ${backendPid} was still there after ${timeoutMs} ms`);
      }
      await delay(20);
    }
  };

  const rawUsers = () => rawUsersState(sql);

  const runs = async (): Promise<LedgerRun[]> => [
    ...await sql<LedgerRun[]>`
      select run_id, pipeline, ds::text as ds, trigger, state, error from meta.pipeline_runs
      order by started_at, run_id`,
  ];

  const tries = async (run: { pipeline: string; ds: string }): Promise<LedgerTry[]> => [
    ...await sql<LedgerTry[]>`
      select t.task, t.try_number, t.state, t.exit_code, t.rows::int as rows, t.error
      from meta.task_tries as t join meta.pipeline_runs as r using (run_id)
      where r.pipeline = ${run.pipeline} and r.ds = ${run.ds}::date
      order by t.started_at, t.try_number`,
  ];

  return {
    ...base,
    run: async (task, args, env) => keep(await base.run(task, args, env)),
    cli: async (args, env) => keep(await base.cli(args, env)),
    launch,
    waitForSession,
    waitForSessionEnd,
    rawUsers,
    runs,
    tries,
    captured,
    async [Symbol.asyncDispose]() {
      const running = [...live.values()];
      for (const process of running) process.killTree("SIGKILL");
      await Promise.allSettled(running.map((process) => process.finished));
      await base[Symbol.asyncDispose]();
    },
  };
}

/**
 * Polls `check` every 100 ms until it returns true; after `timeoutMs` (default 2 minutes) throws
 * an error naming `what` (a function is called then, e.g. to show a process's output so far).
 */
export async function waitUntil(
  check: () => Promise<boolean> | boolean,
  options: { what: string | (() => string); timeoutMs?: number },
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  while (!(await check())) {
    if (Date.now() > deadline) {
      const what = typeof options.what === "function" ? options.what() : options.what;
      throw new Error(`timed out after ${options.timeoutMs ?? 120_000} ms waiting for ${what}`);
    }
    await delay(100);
  }
}

/** Resolves after `ms`. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Seconds since `started` (a `performance.now()` reading). */
export function secondsSince(started: number): number {
  return (performance.now() - started) / 1000;
}

/** Sends `signal` to `pid` and to every process below it (listed first, then signalled). */
function signalTree(pid: number, signal: Deno.Signal): void {
  for (const target of [pid, ...descendants(pid)]) {
    try {
      Deno.kill(target, signal);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error; // already gone
    }
  }
}

/** Every process below `pid`, from `/proc/<pid>/task/<tid>/children` (Linux). */
function descendants(pid: number): number[] {
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    let tasks: Deno.DirEntry[] = [];
    try {
      tasks = [...Deno.readDirSync(`/proc/${parent}/task`)];
    } catch {
      continue; // the process is gone
    }
    for (const task of tasks) {
      let text = "";
      try {
        text = Deno.readTextFileSync(`/proc/${parent}/task/${task.name}/children`);
      } catch {
        continue;
      }
      for (const child of text.trim().split(/\s+/).filter(Boolean).map(Number)) {
        found.push(child);
        queue.push(child);
      }
    }
  }
  return found;
}
