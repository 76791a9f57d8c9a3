/**
 * A real Apache Airflow for tests: the pinned `apache-airflow` of
 * `pipelines/airflow/requirements.txt` in its own venv, `.venv-airflow` (created on first use,
 * then reused, like dbt's `.venv`), and an Airflow home per test in a temporary directory — a
 * SQLite metadata database, no server — whose CLI the test runs as a user would.
 *
 * @example
 * ```ts
 * await using airflow = await createAirflowHome({ dagsFolder: "pipelines/airflow", env });
 * assertExit(await airflow.cli(["dags", "test", "extract_load_pipeline", "2026-01-02"]), 0);
 * ```
 *
 * @module
 */
import { createHash } from "node:crypto";
import { resolve } from "node:path";
import { ignoreNotFound } from "../../tasks/shared/errors.ts";
import { childEnv, type TaskResult, taskResult } from "./task_process.ts";

const ROOT = resolve(new URL("../../", import.meta.url).pathname);
const VENV_DIR = resolve(ROOT, ".venv-airflow");
const REQUIREMENTS = resolve(ROOT, "pipelines", "airflow", "requirements.txt");
const FACTS_SCRIPT = resolve(ROOT, "tests", "airflow", "airflow_facts.py");

/**
 * Creates `.venv-airflow` with the pinned Airflow when it is missing or the requirements changed
 * (about half a minute from PyPI), and returns its `bin` directory.
 */
export async function ensureAirflow(): Promise<string> {
  const bin = resolve(VENV_DIR, "bin");
  const stamp = resolve(VENV_DIR, ".requirements.sha256");
  const wanted = createHash("sha256").update(await Deno.readTextFile(REQUIREMENTS)).digest("hex");
  const installed = await Deno.readTextFile(stamp).catch((error) => {
    ignoreNotFound(error);
    return "";
  });
  if (installed.trim() === wanted) return bin;
  console.error("tests: installing the pinned Airflow into .venv-airflow (first use)");
  const started = performance.now();
  await exec("python3", ["-m", "venv", "--clear", VENV_DIR], "create .venv-airflow");
  await exec(
    resolve(bin, "pip"),
    ["install", "--quiet", "--disable-pip-version-check", "-r", REQUIREMENTS],
    "install the pinned Airflow into .venv-airflow (is PyPI reachable?)",
  );
  await Deno.writeTextFile(stamp, wanted);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.error(`tests: .venv-airflow ready in ${seconds} s`);
  return bin;
}

/** Options for {@linkcode createAirflowHome}. */
export interface AirflowHomeOptions {
  /** The DAGs folder Airflow parses. */
  dagsFolder: string;
  /** Environment of the Airflow CLI, and so of the tasks it runs (they inherit it). */
  env: Record<string, string>;
}

/** An Airflow home in a temporary directory with a migrated metadata database. */
export interface AirflowHome extends AsyncDisposable {
  readonly dir: string;
  /** Runs `airflow …args`, its environment plus `env`. */
  cli(args: readonly string[], env?: Record<string, string>): Promise<TaskResult>;
  /**
   * What Airflow parses from the DAGs folder (`airflow_facts.py dags`), once per environment
   * of `envs` (each on top of the home's), all in one Python process; and Airflow's version.
   */
  dags(envs?: readonly Record<string, string>[]): Promise<AirflowParse>;
  /** The runs of `dagId` in the metadata database, each with every try of every task. */
  runs(dagId: string): Promise<AirflowRun[]>;
}

/** The DAGs of a folder as Airflow parses them. */
export interface AirflowDags {
  readonly import_errors: Record<string, string>;
  readonly dags: Record<string, {
    readonly timetable: string;
    readonly first_runs: { run_after: string; logical_date: string }[];
    readonly catchup: boolean;
    readonly start_date: string | null;
    readonly max_active_runs: number;
    readonly tasks: {
      readonly task_id: string;
      readonly operator: string;
      readonly bash_operator: boolean;
      readonly bash_command: string | null;
      readonly retries: number;
      readonly retry_delay_s: number;
      readonly execution_timeout_s: number | null;
      readonly upstream: string[];
      readonly external_dag_id: string | null;
      readonly timeout_s: number | null;
      readonly pool: string;
      readonly pool_slots: number;
      readonly queue: string;
      readonly env: Record<string, string> | null;
    }[];
  }>;
}

/** Airflow's version, and the DAGs folder as parsed with each environment asked for. */
export interface AirflowParse {
  readonly version: string;
  readonly parsed: AirflowDags[];
}

/** A DAG run in Airflow's metadata database. */
export interface AirflowRun {
  readonly run_id: string;
  readonly logical_date: string;
  readonly state: string;
  readonly tries: { task_id: string; try_number: number; state: string }[];
}

/**
 * The SQLite metadata database as `airflow db migrate` leaves it in a new home: migrated once
 * per test process, then copied into each later home (each migration costs seconds of CPU).
 */
let migratedDatabase: Promise<Uint8Array> | undefined;

/**
 * Installs Airflow if needed, then creates a home whose metadata database is migrated (by
 * `airflow db migrate` in the first home of the process, a copy of that database in the next).
 */
export async function createAirflowHome(options: AirflowHomeOptions): Promise<AirflowHome> {
  const bin = await ensureAirflow();
  const dir = await Deno.makeTempDir({ prefix: "relt-airflow-" });
  const env = {
    ...options.env,
    AIRFLOW_HOME: dir,
    AIRFLOW__CORE__DAGS_FOLDER: options.dagsFolder,
    AIRFLOW__CORE__LOAD_EXAMPLES: "False",
    // Nothing leaves the machine: no usage statistics.
    AIRFLOW__USAGE_DATA_COLLECTION__ENABLED: "False",
    // Parsing the committed DAGs leaves no __pycache__ in the checkout.
    PYTHONDONTWRITEBYTECODE: "1",
    PATH: `${bin}:${childEnv().PATH}`,
  };
  const run = async (
    command: string,
    args: readonly string[],
    extra: Record<string, string> = {},
  ): Promise<TaskResult> => {
    const output = await new Deno.Command(command, {
      args: [...args],
      cwd: dir,
      clearEnv: true,
      env: childEnv({ ...env, ...extra }),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(600_000),
    }).output();
    return taskResult(output);
  };
  const facts = async <T>(args: string[]): Promise<T> => {
    const result = await run(resolve(bin, "python"), [FACTS_SCRIPT, ...args]);
    // Airflow may log a warning on stdout first; the facts are the last line.
    const last = result.stdout.trim().split("\n").at(-1) ?? "";
    if (result.code !== 0 || !last.startsWith("{") && !last.startsWith("[")) {
      throw new Error(
        `airflow_facts.py ${args.join(" ")} failed:\n${result.stdout}${result.stderr}`,
      );
    }
    return JSON.parse(last) as T;
  };
  const home: AirflowHome = {
    dir,
    cli: (args, extra) => run(resolve(bin, "airflow"), args, extra),
    dags: (envs = [{}]) => facts<AirflowParse>(["dags", options.dagsFolder, JSON.stringify(envs)]),
    runs: (dagId) => facts<AirflowRun[]>(["runs", dagId]),
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true });
    },
  };
  const database = resolve(dir, "airflow.db");
  const first = !migratedDatabase;
  migratedDatabase ??= home.cli(["db", "migrate"]).then((migrated) => {
    if (migrated.code !== 0) {
      throw new Error(`airflow db migrate failed:\n${migrated.stdout}${migrated.stderr}`);
    }
    return Deno.readFile(database);
  });
  try {
    const migrated = await migratedDatabase;
    if (!first) await Deno.writeFile(database, migrated);
  } catch (error) {
    if (first) migratedDatabase = undefined;
    await Deno.remove(dir, { recursive: true });
    throw error;
  }
  return home;
}

async function exec(command: string, args: string[], what: string): Promise<void> {
  const output = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" })
    .output()
    .catch((error) => {
      throw new Error(`could not ${what}: ${error.message}`);
    });
  if (!output.success) {
    throw new Error(`could not ${what}: ${new TextDecoder().decode(output.stderr).trim()}`);
  }
}
