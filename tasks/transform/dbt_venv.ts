/**
 * The local dbt runtime: `.venv` with the pinned dbt-postgres from `dbt_project/requirements.txt`,
 * created on first use and again whenever the requirements change (a stamp file holds their
 * hash).
 *
 * @example
 * ```ts
 * const dbt = await ensureLocalDbt({ python: "python3", logger });
 * ```
 *
 * @module
 */
import { createHash } from "node:crypto";
import { resolve } from "node:path";
import { errorMessage, ignoreNotFound, TerminalError } from "../shared/errors.ts";
import { exists } from "../shared/exists.ts";
import type { Logger } from "../shared/logger.ts";
import { DBT_PROJECT_DIR, VENV_DIR } from "../shared/paths.ts";

const REQUIREMENTS = resolve(DBT_PROJECT_DIR, "requirements.txt");

/** Options for {@linkcode ensureLocalDbt}. */
export interface LocalDbtOptions {
  /** The Python 3.10+ that creates the venv (`PYTHON`, default `python3`). */
  python: string;
  logger?: Logger;
}

/**
 * Creates `.venv` with the pinned dbt from `dbt_project/requirements.txt` when it is missing or
 * the requirements changed, and returns the path of its `dbt`.
 */
export async function ensureLocalDbt(options: LocalDbtOptions): Promise<string> {
  const dbt = resolve(VENV_DIR, "bin", "dbt");
  const stamp = resolve(VENV_DIR, ".requirements.sha256");
  const wanted = createHash("sha256").update(await Deno.readTextFile(REQUIREMENTS)).digest("hex");
  const installed = await Deno.readTextFile(stamp).catch((error) => {
    ignoreNotFound(error);
    return "";
  });
  if (installed.trim() === wanted && await exists(dbt, { isFile: true })) return dbt;
  options.logger?.info("installing the pinned dbt into .venv (first use; about half a minute)", {
    requirements: "dbt_project/requirements.txt",
  });
  await exec(options.python, ["-m", "venv", VENV_DIR], "create .venv (is Python 3.10+ installed?)");
  await exec(
    resolve(VENV_DIR, "bin", "pip"),
    ["install", "--quiet", "--disable-pip-version-check", "-r", REQUIREMENTS],
    "install dbt into .venv (is PyPI reachable?)",
  );
  await Deno.writeTextFile(stamp, wanted);
  return dbt;
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
