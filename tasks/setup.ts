/**
 * `deno task setup`: installs the pinned npm packages of `deno.lock` (the embedded PostgreSQL
 * binaries' postinstall included, as `allowScripts` in deno.json allows) and caches every entry
 * point there is — tasks, pipelines, bench, tests — so that no later `deno run` downloads
 * anything. In the image, where `bench/` and `tests/` are not copied, it caches what is there.
 *
 * It imports nothing from npm: it runs before the packages are installed.
 *
 * @module
 */
import { join } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;

/** `dir/*<suffix>` under the project root, when `dir` exists. */
function filesIn(dir: string, suffix: string): string[] {
  try {
    return [...Deno.readDirSync(join(ROOT, dir))]
      .filter((entry) => entry.isFile && entry.name.endsWith(suffix))
      .map((entry) => join(dir, entry.name))
      .sort();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

function exists(path: string): boolean {
  try {
    Deno.statSync(join(ROOT, path));
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

if (import.meta.main) {
  const entryPoints = [
    "pipelines/cli.ts",
    ...filesIn("tasks", ".ts"),
    // Loaded at run time by a worker, not imported by any entry point.
    "tasks/extract/page_worker.ts",
    "tasks/extract/user_schema.ts",
    "bench/main.ts",
    "tests/run.ts",
    ...filesIn("tests", "_test.ts"),
    ...["chaos", "airflow", "containers"].flatMap((dir) => filesIn(`tests/${dir}`, "_test.ts")),
  ].filter(exists);
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: ["install", "--frozen", "--entrypoint", ...entryPoints],
    cwd: ROOT,
    stdin: "null",
  }).spawn().status;
  Deno.exit(code);
}
