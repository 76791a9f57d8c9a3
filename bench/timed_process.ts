/**
 * A subprocess run for a benchmark: its wall time, and, where the machine has the tools, its CPU
 * time (GNU `time`) and a pin to one core (`taskset`), plus the fields of its logfmt summary line.
 *
 * @example
 * ```ts
 * const run = await runTimed(denoScript("tasks/extract.ts", ["--users", "1000"]), { env, cwd });
 * console.log(run.wallSeconds, run.summary("extract")?.users);
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { DENO_JSON, projectPath } from "../tasks/shared/paths.ts";
import { readTaskResult, type TaskResult } from "../tasks/shared/task_result.ts";

/** A command line: the program and its arguments. */
export interface CommandLine {
  readonly program: string;
  readonly args: readonly string[];
}

/**
 * `deno run -A --config deno.json …denoFlags <script> …args`, the way `deno task` and the runner
 * run a task (the extract's flags are `EXTRACT_DENO_FLAGS`).
 */
export function denoScript(
  script: string,
  args: readonly string[] = [],
  denoFlags: readonly string[] = [],
): CommandLine {
  return {
    program: Deno.execPath(),
    args: ["run", "-A", "--config", DENO_JSON, ...denoFlags, projectPath(script), ...args],
  };
}

/** Options for {@linkcode runTimed}. */
export interface TimedOptions {
  /** The environment; nothing is inherited but `PATH` and `HOME`. */
  env: Record<string, string>;
  cwd: string;
  /** Run on these CPUs only (`taskset -c`), when `taskset` exists. */
  cpus?: readonly number[] | undefined;
}

/** What a finished process left behind, with its times. */
export interface TimedRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly wallSeconds: number;
  /** User + system CPU seconds; `undefined` without GNU `time`. */
  readonly cpuSeconds: number | undefined;
  /** Peak resident memory in MB as GNU `time` saw it; `undefined` without it. */
  readonly maxRssMb: number | undefined;
  /** The result line of a task (`task_result.ts`), or `undefined` when it printed none. */
  result(): TaskResult | undefined;
  /** The fields of the last stdout line that starts with `<name> ` (the reference's), or `undefined`. */
  summary(name: string): Record<string, string> | undefined;
}

/** The tools {@linkcode runTimed} uses when they are installed. */
export interface TimingTools {
  /** Path of GNU `time`. */
  readonly time: string | undefined;
  readonly taskset: string | undefined;
}

/** Finds GNU `time` and `taskset` on `PATH`. */
export async function findTimingTools(): Promise<TimingTools> {
  return { time: await findProgram("time"), taskset: await findProgram("taskset") };
}

/** Runs `command` to completion and measures it. A non-zero exit is returned, not thrown. */
export async function runTimed(
  command: CommandLine,
  options: TimedOptions & { tools: TimingTools },
): Promise<TimedRun> {
  const { tools } = options;
  const timesFile = tools.time ? await Deno.makeTempFile({ prefix: "relt-bench-time-" }) : "";
  try {
    let argv = [command.program, ...command.args];
    if (tools.time) argv = [tools.time, "-f", "%U %S %M", "-o", timesFile, ...argv];
    if (tools.taskset && options.cpus !== undefined && options.cpus.length > 0) {
      argv = [tools.taskset, "-c", options.cpus.join(","), ...argv];
    }
    const [program = "", ...args] = argv;
    const started = performance.now();
    const output = await new Deno.Command(program, {
      args,
      cwd: options.cwd,
      clearEnv: true,
      env: { ...inherited(), ...options.env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const wallSeconds = (performance.now() - started) / 1000;
    const times = tools.time ? parseTimes(await Deno.readTextFile(timesFile)) : undefined;
    const decoder = new TextDecoder();
    const stdout = decoder.decode(output.stdout);
    return {
      code: output.code,
      stdout,
      stderr: decoder.decode(output.stderr),
      wallSeconds,
      cpuSeconds: times?.cpuSeconds,
      maxRssMb: times?.maxRssMb,
      result: () => readTaskResult(stdout),
      summary: (name) => summaryFields(stdout, name),
    };
  } finally {
    if (timesFile) await Deno.remove(timesFile);
  }
}

/** Throws with the process's last lines of output when it did not exit 0. */
export function assertSucceeded(run: TimedRun, what: string): void {
  if (run.code === 0) return;
  const tail = (run.stderr + run.stdout).trim().split("\n").slice(-15).join("\n");
  throw new Error(`${what} exited with code ${run.code}:\n${tail}`);
}

/** GNU time's `-f "%U %S %M"` line (the last line: a failed child adds one before it). */
function parseTimes(text: string): { cpuSeconds: number; maxRssMb: number } | undefined {
  const line = text.trim().split("\n").at(-1) ?? "";
  const match = /^([\d.]+) ([\d.]+) (\d+)$/.exec(line);
  if (!match) return undefined;
  return {
    cpuSeconds: Number(match[1]) + Number(match[2]),
    maxRssMb: Math.round(Number(match[3]) / 1024),
  };
}

/** Parses a logfmt summary line such as `extract users=10 file="a b"` into its fields. */
function summaryFields(stdout: string, name: string): Record<string, string> | undefined {
  const line = stdout.split("\n").findLast((text) => text.startsWith(`${name} `));
  if (line === undefined) return undefined;
  const fields: Record<string, string> = {};
  for (const match of line.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
    const [, key = "", raw = ""] = match;
    fields[key] = raw.startsWith('"') ? JSON.parse(raw) as string : raw;
  }
  return fields;
}

async function findProgram(name: string): Promise<string | undefined> {
  for (const dir of (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":")) {
    if (!dir) continue;
    try {
      const info = await Deno.stat(join(dir, name));
      if (info.isFile && ((info.mode ?? 0) & 0o111) !== 0) return join(dir, name);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  return undefined;
}

/**
 * The only variables a measured process inherits: where programs are, the home directory and
 * the Deno cache — so a developer's `DATABASE_URL` or `DENO_V8_FLAGS` cannot skew a figure.
 */
function inherited(): Record<string, string> {
  const kept: Record<string, string> = { NO_COLOR: "1" };
  for (const name of ["PATH", "HOME", "DENO_DIR"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) kept[name] = value;
  }
  return kept;
}
