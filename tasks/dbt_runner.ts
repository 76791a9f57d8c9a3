/**
 * Runs dbt for the transform task: picks the runner (`local` = the pinned dbt-postgres in
 * `.venv`, created on first use; `docker` = the project's own image, which pins the same dbt,
 * built on first use; `auto` = docker only when an engine answers and the image is there or
 * buildable from what the engine holds), passes the warehouse connection through environment
 * variables (no secret in a file), streams dbt's output, and summarises `run_results.json`.
 *
 * @example
 * ```ts
 * const summary = await runDbt(config, { warehouseUrl: warehouse.url, ds: "2026-01-01" });
 * console.log(summary.exitCode, summary.failures);
 * ```
 *
 * @module
 */
import { createHash } from "node:crypto";
import { resolve } from "node:path";
import type { Config } from "./config.ts";
import { errorMessage, ignoreNotFound, TerminalError } from "./errors.ts";
import type { Logger } from "./logger.ts";
import {
  dockerAnswers,
  ensureProjectImage,
  imagePresent,
  projectImageStatus,
} from "./transform/project_image.ts";

const ROOT = resolve(new URL("..", import.meta.url).pathname);
/** The dbt project directory. */
export const DBT_PROJECT_DIR = resolve(ROOT, "dbt_project");
const VENV_DIR = resolve(ROOT, ".venv");
const REQUIREMENTS = resolve(DBT_PROJECT_DIR, "requirements.txt");

/** How dbt is run. */
export type DbtRunner = "local" | "docker";

/** Options for {@linkcode runDbt}. */
export interface DbtRunOptions {
  /** Connection URL of the warehouse (password included; it goes to dbt as an env variable). */
  warehouseUrl: string;
  /** dbt arguments; default `["build"]`. */
  args?: readonly string[];
  /** Logical date, passed to dbt as `--vars {ds: …}`. */
  ds?: string;
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
  readonly seconds: number;
}

/** Which runner and image `DBT_RUNNER` and `DBT_IMAGE` ask for. */
export interface RunnerOptions {
  readonly dbtRunner: "auto" | "docker" | "local";
  readonly dbtImage: string;
}

/**
 * Resolves `DBT_RUNNER`: `auto` means docker when an engine answers and `DBT_IMAGE` is there (or,
 * for the project's own image, can be built from base images the engine holds), else local.
 */
export async function resolveRunner(options: RunnerOptions): Promise<DbtRunner> {
  if (options.dbtRunner !== "auto") return options.dbtRunner;
  if (!await dockerAnswers()) return "local";
  const usable = isProjectImage(options.dbtImage)
    ? await projectImageStatus(options.dbtImage) !== "missing"
    : await imagePresent(options.dbtImage);
  return usable ? "docker" : "local";
}

/**
 * Makes the runner's dbt ready: `.venv` for local (unless `DBT_BIN`), the project image for
 * docker (built when missing). Returns the runner.
 */
export async function prepareRunner(
  options: RunnerOptions & { readonly dbtBin: string | undefined; logger?: Logger },
): Promise<DbtRunner> {
  const runner = await resolveRunner(options);
  const logger = options.logger ? { logger: options.logger } : {};
  if (runner === "local" && !options.dbtBin) await ensureLocalDbt(logger);
  if (runner === "docker" && isProjectImage(options.dbtImage)) {
    await ensureProjectImage(options.dbtImage, logger);
  }
  return runner;
}

/** `randomuser-elt:<tag>` is built from our Dockerfile; any other image is pulled by docker. */
function isProjectImage(image: string): boolean {
  return image.startsWith("randomuser-elt:");
}

/**
 * Creates `.venv` with the pinned dbt from `dbt_project/requirements.txt` when it is missing or
 * the requirements changed, and returns the path of its `dbt`.
 */
export async function ensureLocalDbt(options: { logger?: Logger } = {}): Promise<string> {
  const dbt = resolve(VENV_DIR, "bin", "dbt");
  const stamp = resolve(VENV_DIR, ".requirements.sha256");
  const wanted = createHash("sha256").update(await Deno.readTextFile(REQUIREMENTS)).digest("hex");
  const installed = await Deno.readTextFile(stamp).catch((error) => {
    ignoreNotFound(error);
    return "";
  });
  if (installed.trim() === wanted && await isFile(dbt)) return dbt;
  options.logger?.info("installing the pinned dbt into .venv (first use; about half a minute)", {
    requirements: "dbt_project/requirements.txt",
  });
  const python = Deno.env.get("PYTHON") ?? "python3";
  await exec(python, ["-m", "venv", VENV_DIR], "create .venv (is Python 3.10+ installed?)");
  await exec(
    resolve(VENV_DIR, "bin", "pip"),
    ["install", "--quiet", "--disable-pip-version-check", "-r", REQUIREMENTS],
    "install dbt into .venv (is PyPI reachable?)",
  );
  await Deno.writeTextFile(stamp, wanted);
  return dbt;
}

/** Runs dbt (default `dbt build`) and returns its summary; dbt's output goes to our stdout. */
export async function runDbt(config: Config, options: DbtRunOptions): Promise<DbtRunSummary> {
  const started = performance.now();
  const runner = await resolveRunner(config);
  const targetDir = resolve(config.dataDir, "dbt", "target");
  const logDir = resolve(config.dataDir, "dbt", "logs");
  await Deno.mkdir(targetDir, { recursive: true });
  await Deno.mkdir(logDir, { recursive: true });
  const dbtArgs = [...(options.args ?? ["build"])];
  if (options.ds) dbtArgs.push("--vars", JSON.stringify({ ds: options.ds }));
  const connection = dbtConnection(options.warehouseUrl);
  await Deno.remove(resolve(targetDir, "run_results.json")).catch(ignoreNotFound);
  let command: Deno.Command;
  if (runner === "local") {
    const dbt = config.dbtBin ??
      await ensureLocalDbt(options.logger ? { logger: options.logger } : {});
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
      env: { ...connection, DBT_SEND_ANONYMOUS_USAGE_STATS: "false" },
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
    });
  } else {
    if (isProjectImage(config.dbtImage)) {
      await ensureProjectImage(config.dbtImage, options.logger ? { logger: options.logger } : {});
    }
    command = new Deno.Command("docker", {
      args: [
        "run",
        "--rm",
        "--network=host",
        "--user",
        `${Deno.uid() ?? 1000}:${Deno.gid() ?? 1000}`,
        ...Object.keys(connection).flatMap((name) => ["--env", name]),
        "--env",
        "DBT_SEND_ANONYMOUS_USAGE_STATS=false",
        // The host's uid may have no home in the image.
        "--env",
        "HOME=/tmp",
        "--volume",
        `${DBT_PROJECT_DIR}:/usr/app/dbt:ro`,
        "--volume",
        `${resolve(config.dataDir, "dbt")}:/usr/app/out`,
        "--workdir",
        "/usr/app/dbt",
        config.dbtImage,
        "dbt",
        ...dbtArgs,
        "--profiles-dir",
        "/usr/app/dbt",
        "--target-path",
        "/usr/app/out/target",
        "--log-path",
        "/usr/app/out/logs",
      ],
      env: connection,
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
    });
  }
  options.logger?.info("running dbt", { runner, command: dbtArgs.join(" ") });
  const { code } = await command.spawn().status;
  const results = await readRunResults(resolve(targetDir, "run_results.json"));
  return {
    runner,
    command: `dbt ${dbtArgs.join(" ")}`,
    exitCode: code,
    ...results,
    seconds: (performance.now() - started) / 1000,
  };
}

/** The `DBT_*` variables `dbt_project/profiles.yml` reads, from a `postgres://` URL. */
export function dbtConnection(url: string): Record<string, string> {
  const parsed = new URL(url);
  const sslmode = parsed.searchParams.get("sslmode");
  return {
    DBT_HOST: parsed.hostname || "127.0.0.1",
    DBT_PORT: parsed.port || "5432",
    DBT_USER: decodeURIComponent(parsed.username) || "postgres",
    DBT_PASSWORD: decodeURIComponent(parsed.password),
    DBT_DBNAME: decodeURIComponent(parsed.pathname.replace(/^\//, "")) || "postgres",
    ...(sslmode ? { DBT_SSLMODE: sslmode } : {}),
  };
}

type RunResults = Omit<DbtRunSummary, "runner" | "command" | "exitCode" | "seconds">;

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

async function exec(command: string, args: string[], what: string): Promise<void> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" }).output();
  } catch (error) {
    throw new TerminalError(`could not ${what}: ${errorMessage(error)}`);
  }
  if (!output.success) {
    const stderr = new TextDecoder().decode(output.stderr).trim().split("\n").slice(-5).join(" ");
    throw new TerminalError(`could not ${what}: ${stderr}`);
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
