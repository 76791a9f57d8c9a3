/**
 * Runs a task entry point (`tasks/<name>.ts`) as a subprocess, the way `deno task` and the
 * pipeline runner do, and returns what a user would see: exit code, stdout and stderr.
 *
 * @module
 */
import { DENO_JSON, projectPath } from "../../tasks/shared/paths.ts";

/** What a finished task process left behind. */
export interface TaskResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options for {@linkcode runTaskProcess}. */
export interface TaskProcessOptions {
  /** Environment of the task; `DATABASE_URL` etc. Nothing is inherited but `PATH` and `HOME`. */
  env?: Record<string, string>;
  /** Working directory: a test's workspace, so no developer `.env` is read. */
  cwd: string;
  /** Kill the task after this long, so a hang fails the test instead of the suite; 180 s. */
  timeoutMs?: number;
}

/** Runs `deno run -A tasks/<task>.ts ...args` and waits for it. */
export function runTaskProcess(
  task: string,
  args: readonly string[],
  options: TaskProcessOptions,
): Promise<TaskResult> {
  return runScript(`tasks/${task}.ts`, [...args], options);
}

/** Runs `deno run -A <script> ...args` (a path from the project root) and waits for it. */
export async function runScript(
  script: string,
  args: readonly string[],
  options: TaskProcessOptions,
): Promise<TaskResult> {
  const output = await scriptCommand(script, {
    ...options,
    args,
    signal: AbortSignal.timeout(options.timeoutMs ?? 180_000),
  }).output();
  return taskResult(output);
}

/** The exit code and the decoded output of a finished process. */
export function taskResult(output: Deno.CommandOutput): TaskResult {
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/**
 * Starts `deno run -A <script> ...args` and returns the running process, for tests that signal
 * or kill it; its stdout and stderr are piped (read or cancel them).
 */
export function spawnScript(
  script: string,
  args: readonly string[],
  options: TaskProcessOptions,
): Deno.ChildProcess {
  return scriptCommand(script, { ...options, args }).spawn();
}

/**
 * The whole environment of a child process in tests and benchmarks: `PATH`, `HOME`, the Deno
 * cache (`DENO_DIR`, when set: CI uses a fresh one), `NO_COLOR` and `env` — nothing else leaks
 * in from the developer's shell (no stray `DATABASE_URL`).
 */
export function childEnv(env: Record<string, string> = {}): Record<string, string> {
  const denoDir = Deno.env.get("DENO_DIR");
  return {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: Deno.env.get("HOME") ?? "/tmp",
    ...(denoDir ? { DENO_DIR: denoDir } : {}),
    NO_COLOR: "1",
    ...env,
  };
}

function scriptCommand(
  script: string,
  options: TaskProcessOptions & { args: readonly string[]; signal?: AbortSignal },
): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--config",
      DENO_JSON,
      projectPath(script),
      ...options.args,
    ],
    cwd: options.cwd,
    clearEnv: true,
    env: childEnv(options.env),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

/** A temporary working directory for one test, removed by `Symbol.asyncDispose`. */
export interface Workspace extends AsyncDisposable {
  readonly dir: string;
  /** `<dir>/data`, for `DATA_DIR`. */
  readonly dataDir: string;
}

/** Creates a workspace that the `postgres` user can enter (an embedded server may live in it). */
export async function createWorkspace(): Promise<Workspace> {
  const dir = await Deno.makeTempDir({ prefix: "relt-test-" });
  await Deno.chmod(dir, 0o755);
  return {
    dir,
    dataDir: `${dir}/data`,
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** What a spawned process has logged on stderr so far; its stdout is discarded. */
export interface ProcessLog {
  /** Everything on stderr so far. */
  readonly text: string;
  /** Resolves when both streams have ended (await it after the process exits). */
  readonly drained: Promise<void>;
}

/** Collects `child`'s stderr as text as it comes and discards its stdout. */
export function collectStderr(child: Deno.ChildProcess): ProcessLog {
  let text = "";
  const reading = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stderr) text += decoder.decode(chunk, { stream: true });
  })();
  const drained = Promise.all([reading, child.stdout.cancel()]).then(() => {});
  return {
    get text() {
      return text;
    },
    drained,
  };
}
