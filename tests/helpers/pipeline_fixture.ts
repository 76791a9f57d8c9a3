/**
 * Everything a pipeline test needs, wired together: the fake Random User API over real HTTP,
 * a fresh database on real PostgreSQL, a workspace for `DATA_DIR`, and a way to run tasks as
 * subprocesses against them.
 *
 * @example
 * ```ts
 * await using fixture = await createPipelineFixture();
 * await fixture.run("migrate");
 * ```
 *
 * @module
 */
import {
  type FakeRandomUser,
  startFakeRandomUser,
} from "../../tasks/stand_in/randomuser_server.ts";
import { type LandingFiles, landingFiles } from "../../tasks/landing/landing_zone.ts";
import { createTestDatabase, type TestDatabase } from "./test_warehouse.ts";
import {
  createWorkspace,
  runScript,
  runTaskProcess,
  spawnScript,
  type TaskResult,
  type Workspace,
} from "./task_process.ts";

/** A fake API, a test database and a workspace; disposed together. */
export interface PipelineFixture extends AsyncDisposable {
  readonly api: FakeRandomUser;
  readonly db: TestDatabase;
  readonly workspace: Workspace;
  /** The environment tasks run with (`DATABASE_URL`, `RANDOMUSER_API_URL`, `DATA_DIR`, …). */
  readonly env: Record<string, string>;
  /** Runs `tasks/<task>.ts` with the fixture's environment plus `env`. */
  run(task: string, args?: readonly string[], env?: Record<string, string>): Promise<TaskResult>;
  /** Runs the pipeline CLI (`pipelines/cli.ts`) with the fixture's environment plus `env`. */
  cli(args: readonly string[], env?: Record<string, string>): Promise<TaskResult>;
  /** Starts a script (e.g. `pipelines/cli.ts`) without waiting, to signal or kill it. */
  spawn(script: string, args: readonly string[], env?: Record<string, string>): Deno.ChildProcess;
  /** Landing-zone paths of `ds` in the workspace. */
  files(ds: string): LandingFiles;
}

/** Starts the fake API, creates a database and a workspace. */
export async function createPipelineFixture(): Promise<PipelineFixture> {
  // Ages as of the start of today (UTC), as the real API computes them on the day it answers:
  // the build's test holds them within a year of the ages computed as of the load's day.
  const api = await startFakeRandomUser({ now: new Date(new Date().toISOString().slice(0, 10)) });
  const db = await createTestDatabase();
  const workspace = await createWorkspace();
  const env = {
    DATABASE_URL: db.url,
    RANDOMUSER_API_URL: api.url,
    DATA_DIR: workspace.dataDir,
    API_RETRIES: "3",
    API_RETRY_DELAY: "10ms",
    DBT_RUNNER: "local",
    // `start` serves the console: on a free port, never on 8080 that another test may hold.
    CONSOLE_PORT: "0",
  };
  return {
    api,
    db,
    workspace,
    env,
    run: (task, args = [], extra = {}) =>
      runTaskProcess(task, args, { cwd: workspace.dir, env: { ...env, ...extra } }),
    cli: (args, extra = {}) =>
      runScript("pipelines/cli.ts", args, { cwd: workspace.dir, env: { ...env, ...extra } }),
    spawn: (script, args, extra = {}) =>
      spawnScript(script, args, { cwd: workspace.dir, env: { ...env, ...extra } }),
    files: (ds) => landingFiles(workspace.dataDir, ds),
    async [Symbol.asyncDispose]() {
      await api.close();
      await db[Symbol.asyncDispose]();
      await workspace[Symbol.asyncDispose]();
    },
  };
}

/** Fails with the task's output when it did not exit with `code`. */
export function assertExit(result: TaskResult, code: number): void {
  if (result.code !== code) {
    throw new Error(
      `expected exit ${code}, got ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`,
    );
  }
}

/** The one `error:` line of `stderr`, asserting there is exactly one (the exit-code contract). */
export function errorLine(stderr: string): string {
  const lines = stderr.split(/\r?\n/).filter((line) => line.startsWith("error: "));
  if (lines.length !== 1) {
    throw new Error(`expected one error: line, got ${lines.length}\n--- stderr\n${stderr}`);
  }
  return lines[0]!;
}

/**
 * Asserts that one line of `stderr` matches `pattern` (anchored patterns anchor to that line):
 * the runtime may print lines of its own around ours, so a test never relies on where the
 * stream starts.
 */
export function assertStderrLine(stderr: string, pattern: RegExp): void {
  const lines = stderr.split(/\r?\n/);
  if (!lines.some((line) => pattern.test(line))) {
    throw new Error(`no line of stderr matches ${pattern}\n--- stderr\n${stderr}`);
  }
}
