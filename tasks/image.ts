/**
 * `deno task image [--tag T] [--ca-bundle FILE]`: builds the project's image from the
 * `Dockerfile` (the one `docker-compose.yml` runs and `DBT_RUNNER=docker` uses).
 *
 * @module
 */
import { Logger } from "./shared/logger.ts";
import { printSummary, runTask, taskCommand } from "./shared/task_command.ts";
import { buildProjectImage, PROJECT_IMAGE } from "./transform/project_image.ts";

const program = taskCommand(
  "image",
  "Build the project's Docker image (Debian slim, the pinned dbt, Deno, the code) with BuildKit.",
)
  .option("--tag <tag>", "image tag", PROJECT_IMAGE)
  .option(
    "--ca-bundle <file>",
    "CA bundle for the build's downloads behind a TLS-inspecting proxy (a build secret, in no layer)",
  );

if (import.meta.main) {
  await runTask(program, async (options) => {
    const logger = new Logger("image");
    const started = performance.now();
    await buildProjectImage(options.tag, {
      logger,
      ...(options.caBundle ? { caBundle: options.caBundle } : {}),
    });
    printSummary("image", {
      tag: options.tag,
      seconds: ((performance.now() - started) / 1000).toFixed(1),
    });
  });
}
