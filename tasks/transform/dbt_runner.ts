/**
 * Runs dbt for the transform task: picks the runner (`local` = the pinned dbt-postgres in
 * `.venv`, created on first use; `docker` = the project's own image, which pins the same dbt,
 * built on first use; `auto` = docker only when an engine answers and the image is there or
 * buildable from what the engine holds), passes the warehouse connection through environment
 * variables (no secret in a file), streams dbt's output, and summarises `run_results.json`.
 *
 * @example
 * ```ts
 * const summary = await runDbt(config.dbt, { warehouseUrl, outDir });
 * console.log(summary.exitCode, summary.failures);
 * ```
 *
 * @module
 */
import { parseConnectionUrl } from "../shared/connection_url.ts";
import { resolve } from "node:path";
import { ignoreNotFound } from "../shared/errors.ts";
import type { Logger } from "../shared/logger.ts";
import { DBT_PROJECT_DIR } from "../shared/paths.ts";
import { writeAll } from "../shared/write_all.ts";
import { ensureLocalDbt } from "./dbt_venv.ts";
import {
  dockerAnswers,
  ensureProjectImage,
  imagePresent,
  projectImageStatus,
} from "./project_image.ts";

/** How dbt is run. */
export type DbtRunner = "local" | "docker";

/** Where and how dbt runs (`DBT_RUNNER`, `DBT_BIN`, `DBT_IMAGE`, `PYTHON`). */
export interface DbtSettings {
  /** `auto` = docker when an engine answers, else local. */
  readonly runner: DbtRunner | "auto";
  /** A dbt executable for the local runner instead of `.venv`. */
  readonly bin: string | undefined;
  /** The image the docker runner runs. */
  readonly image: string;
  /** The Python that creates `.venv`. */
  readonly python: string;
}

/** Where dbt's target and log directories go for a landing zone: `<DATA_DIR>/dbt`. */
export function dbtOutDir(dataDir: string): string {
  return resolve(dataDir, "dbt");
}

/** The manifest dbt writes on every run (the models, their columns and descriptions). */
export function dbtManifest(outDir: string): string {
  return resolve(outDir, "target", "manifest.json");
}

/** Options for {@linkcode runDbt}. */
export interface DbtRunOptions {
  /** Connection URL of the warehouse (password included; it goes to dbt as an env variable). */
  warehouseUrl: string;
  /** dbt arguments; default `["build"]`. */
  args?: readonly string[];
  /** More environment variables for dbt (the project's YAML reads some, e.g. freshness's). */
  env?: Readonly<Record<string, string>>;
  /** dbt's target and log directories go to `<outDir>/target` and `<outDir>/logs`. */
  outDir: string;
  logger?: Logger;
}

/** A node of the run that did not pass. */
export interface FailedNode {
  readonly node: string;
  readonly status: string;
  readonly message: string;
}

/** What a dbt run did, from its exit code and `run_results.json`. */
export interface DbtRunSummary {
  readonly runner: DbtRunner;
  readonly command: string;
  readonly exitCode: number;
  readonly models: number;
  readonly seeds: number;
  readonly tests: number;
  readonly unitTests: number;
  /** Nodes with status error or fail. */
  readonly failures: number;
  readonly warnings: number;
  readonly skipped: number;
  readonly failedNodes: readonly FailedNode[];
  /** The last few kilobytes of dbt's output (stdout, then stderr). */
  readonly outputTail: string;
  readonly seconds: number;
}

/**
 * Resolves `DBT_RUNNER`: `auto` means docker when an engine answers and the image is there (or,
 * for the project's own image, can be built from base images the engine holds), else local.
 */
export async function resolveRunner(settings: DbtSettings): Promise<DbtRunner> {
  if (settings.runner !== "auto") return settings.runner;
  if (!await dockerAnswers()) return "local";
  const usable = isProjectImage(settings.image)
    ? await projectImageStatus(settings.image) !== "missing"
    : await imagePresent(settings.image);
  return usable ? "docker" : "local";
}

/** `randomuser-elt:<tag>` is built from our Dockerfile; any other image is pulled by docker. */
function isProjectImage(image: string): boolean {
  return image.startsWith("randomuser-elt:");
}

/** Installs the pinned dbt into `.venv` first when the local runner will run `.venv`'s dbt. */
export async function prepareDbtRuntime(
  settings: DbtSettings,
  options: { logger?: Logger } = {},
): Promise<DbtRunner> {
  const runner = await resolveRunner(settings);
  if (runner === "local" && !settings.bin) {
    await ensureLocalDbt({ python: settings.python, ...options });
  }
  if (runner === "docker" && isProjectImage(settings.image)) {
    await ensureProjectImage(settings.image, options);
  }
  return runner;
}

/** Runs dbt (default `dbt build`) and returns its summary; dbt's output goes to our stdout. */
export async function runDbt(
  settings: DbtSettings,
  options: DbtRunOptions,
): Promise<DbtRunSummary> {
  const started = performance.now();
  const runner = await resolveRunner(settings);
  const targetDir = resolve(options.outDir, "target");
  const logDir = resolve(options.outDir, "logs");
  await Deno.mkdir(targetDir, { recursive: true });
  await Deno.mkdir(logDir, { recursive: true });
  const dbtArgs = [...(options.args ?? ["build"])];
  // Through the environment: the docker runner hands each of these on by name.
  const dbtEnv = { ...dbtConnection(options.warehouseUrl), ...options.env };
  await Deno.remove(resolve(targetDir, "run_results.json")).catch(ignoreNotFound);
  let command: Deno.Command;
  if (runner === "local") {
    const dbt = settings.bin ??
      await ensureLocalDbt({
        python: settings.python,
        ...(options.logger ? { logger: options.logger } : {}),
      });
    command = new Deno.Command(dbt, {
      args: [
        ...dbtArgs,
        "--project-dir",
        DBT_PROJECT_DIR,
        "--profiles-dir",
        DBT_PROJECT_DIR,
        "--target-path",
        targetDir,
        "--log-path",
        logDir,
      ],
      cwd: DBT_PROJECT_DIR,
      env: { ...dbtEnv, DBT_SEND_ANONYMOUS_USAGE_STATS: "false" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    });
  } else {
    if (isProjectImage(settings.image)) {
      await ensureProjectImage(settings.image, options.logger ? { logger: options.logger } : {});
    }
    command = new Deno.Command("docker", {
      args: [
        "run",
        "--rm",
        "--network=host",
        "--user",
        `${Deno.uid() ?? 1000}:${Deno.gid() ?? 1000}`,
        ...Object.keys(dbtEnv).flatMap((name) => ["--env", name]),
        "--env",
        "DBT_SEND_ANONYMOUS_USAGE_STATS=false",
        // The host's uid may have no home in the image.
        "--env",
        "HOME=/tmp",
        "--volume",
        `${DBT_PROJECT_DIR}:/usr/app/dbt:ro`,
        "--volume",
        `${resolve(options.outDir)}:/usr/app/out`,
        "--workdir",
        "/usr/app/dbt",
        settings.image,
        "dbt",
        ...dbtArgs,
        "--profiles-dir",
        "/usr/app/dbt",
        "--target-path",
        "/usr/app/out/target",
        "--log-path",
        "/usr/app/out/logs",
      ],
      env: dbtEnv,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    });
  }
  options.logger?.info("running dbt", { runner, command: dbtArgs.join(" ") });
  const child = command.spawn();
  const [outputTail, errorTail] = await Promise.all([
    copyWithTail(child.stdout, Deno.stdout),
    copyWithTail(child.stderr, Deno.stderr),
  ]);
  const { code } = await child.status;
  const results = await readRunResults(resolve(targetDir, "run_results.json"));
  return {
    runner,
    command: `dbt ${dbtArgs.join(" ")}`,
    exitCode: code,
    ...results,
    outputTail: `${outputTail}\n${errorTail}`.trim(),
    seconds: (performance.now() - started) / 1000,
  };
}

// What dbt (psycopg2) says when the connection, not the project, failed: the server went away or
// refused us, a timeout, a deadlock or serialization failure, a server starting or stopping.
const TRANSIENT_DBT_FAILURE =
  /connection (to server|refused|timed out|already closed)|could not connect|server closed the connection|terminating connection|SSL SYSCALL|timeout expired|deadlock detected|could not serialize|the database system is (starting|shutting)|Name or service not known|could not translate host name/i;

/**
 * Whether a failed dbt run may succeed when retried: yes when what failed was the connection to
 * the warehouse (a message in a failed node or in dbt's output says so), no when the project
 * failed (a data test that fails, a model whose SQL is wrong, a compilation error).
 */
export function dbtFailureIsTransient(summary: DbtRunSummary): boolean {
  const messages = [...summary.failedNodes.map((node) => node.message), summary.outputTail];
  return messages.some((message) => TRANSIENT_DBT_FAILURE.test(message));
}

const TAIL_CHARS = 8 * 1024;

/** Copies a child's output to `target` as it comes and returns its last few kilobytes as text. */
async function copyWithTail(
  stream: ReadableStream<Uint8Array>,
  target: { write(p: Uint8Array): Promise<number> },
): Promise<string> {
  const decoder = new TextDecoder();
  let tail = "";
  for await (const chunk of stream) {
    await writeAll(target, chunk);
    tail = (tail + decoder.decode(chunk, { stream: true })).slice(-TAIL_CHARS);
  }
  return tail;
}

/** The `DBT_*` variables `dbt_project/profiles.yml` reads, from a `postgres://` URL (its first host). */
export function dbtConnection(url: string): Record<string, string> {
  const parsed = parseConnectionUrl(url);
  const sslmode = parsed.params.sslmode;
  return {
    DBT_HOST: parsed.hosts[0]?.host ?? "127.0.0.1",
    DBT_PORT: String(parsed.hosts[0]?.port ?? 5432),
    DBT_USER: parsed.user || "postgres",
    DBT_PASSWORD: parsed.password ?? "",
    DBT_DBNAME: parsed.database || "postgres",
    ...(sslmode ? { DBT_SSLMODE: sslmode } : {}),
  };
}

type RunResults = Omit<
  DbtRunSummary,
  "runner" | "command" | "exitCode" | "outputTail" | "seconds"
>;

async function readRunResults(path: string): Promise<RunResults> {
  const empty: RunResults = {
    models: 0,
    seeds: 0,
    tests: 0,
    unitTests: 0,
    failures: 0,
    warnings: 0,
    skipped: 0,
    failedNodes: [],
  };
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return empty; // dbt failed before running nodes
    throw error;
  }
  const parsed = JSON.parse(text) as {
    results?: Array<{ unique_id: string; status: string; message?: string | null }>;
  };
  const counts = { ...empty, failedNodes: [] as FailedNode[] };
  for (const result of parsed.results ?? []) {
    const kind = result.unique_id.split(".")[0];
    if (kind === "model") counts.models++;
    else if (kind === "seed") counts.seeds++;
    else if (kind === "test") counts.tests++;
    else if (kind === "unit_test") counts.unitTests++;
    if (result.status === "error" || result.status === "fail") {
      counts.failures++;
      counts.failedNodes.push({
        node: result.unique_id,
        status: result.status,
        message: (result.message ?? "").slice(0, 500),
      });
    } else if (result.status === "warn") counts.warnings++;
    else if (result.status === "skipped") counts.skipped++;
  }
  return counts;
}
