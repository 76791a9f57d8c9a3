/**
 * The project's own files and directories, named once: every module that needs one imports it
 * from here instead of computing a path relative to itself.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { join, resolve } from "node:path";

/** The project root (where `deno.json` is). */
export const PROJECT_ROOT: string = resolve(fileURLToPath(new URL("../..", import.meta.url)));

/** A path inside the project: `projectPath("sql", "migrations")`. */
export function projectPath(...segments: string[]): string {
  return join(PROJECT_ROOT, ...segments);
}

/** `deno.json`: the configuration every task process runs with. */
export const DENO_JSON: string = projectPath("deno.json");
/** The versioned warehouse migrations. */
export const MIGRATIONS_DIR: string = projectPath("sql", "migrations");
/** The dbt project. */
export const DBT_PROJECT_DIR: string = projectPath("dbt_project");
/** The analytics questions (dbt analyses) behind the report and the Metabase questions. */
export const ANALYSES_DIR: string = projectPath("dbt_project", "analyses");
/** The virtual environment with the pinned dbt (`DBT_RUNNER=local`). */
export const VENV_DIR: string = projectPath(".venv");
