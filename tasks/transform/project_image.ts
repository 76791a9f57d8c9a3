/**
 * The project's own image (the `Dockerfile`: Debian slim, the pinned dbt-postgres, Deno and the
 * code), as `DBT_RUNNER=docker` and the compose stack use it: whether a Docker engine answers,
 * whether the image is there or can be built from what the engine already holds, and building it.
 *
 * @example
 * ```ts
 * if (await dockerAnswers() && await projectImageStatus(PROJECT_IMAGE) !== "missing") {
 *   await ensureProjectImage(PROJECT_IMAGE, { logger });
 * }
 * ```
 *
 * @module
 */
import { resolve } from "node:path";
import { errorMessage, TerminalError } from "../shared/errors.ts";
import type { Logger } from "../shared/logger.ts";
import { PROJECT_ROOT } from "../shared/paths.ts";

const DOCKERFILE = resolve(PROJECT_ROOT, "Dockerfile");

/** The tag `docker-compose.yml`, `DBT_IMAGE`'s default and `deno task image` use. */
export const PROJECT_IMAGE = "randomuser-elt:latest";

/**
 * Where no image registry is reachable, `.ci/docker-engine base-images` makes this image of the
 * same release's Deno binary (from npm); a build uses it only when the engine lacks the official
 * `denoland/deno:bin-<version>`.
 */
const LOCAL_DENO_STAGE = "randomuser-elt-local/deno-bin";

/** `present`: in the engine; `buildable`: every base image is; `missing`: a build must pull. */
export type ImageStatus = "present" | "buildable" | "missing";

/** Options for {@linkcode buildImage} and {@linkcode buildProjectImage}. */
export interface BuildImageOptions {
  /**
   * A CA bundle for the build's downloads (PyPI, npm) behind a TLS-inspecting proxy: passed as
   * the BuildKit secret `ca-bundle`, so it is in no layer of the image.
   */
  caBundle?: string;
  /** `--build-arg NAME=value` for each entry. */
  buildArgs?: Record<string, string>;
  logger?: Logger;
}

/** True when a Docker engine answers `docker info` within 5 seconds. */
export async function dockerAnswers(): Promise<boolean> {
  return (await docker(["info", "--format", "{{.ServerVersion}}"], { timeoutMs: 5_000 }))
    ?.success ??
    false;
}

/** True when the engine holds the image `reference`. */
export async function imagePresent(reference: string): Promise<boolean> {
  return (await docker(["image", "inspect", reference]))?.success ?? false;
}

/** Whether the project image `tag` is there, can be built without a registry, or neither. */
export async function projectImageStatus(tag: string): Promise<ImageStatus> {
  if (await imagePresent(tag)) return "present";
  const bases = await resolveBases();
  for (const base of bases.images) if (!await imagePresent(base)) return "missing";
  return "buildable";
}

/** Builds the image if the engine does not hold it; returns whether it built. */
export async function ensureProjectImage(
  tag: string,
  options: BuildImageOptions = {},
): Promise<boolean> {
  if (await imagePresent(tag)) return false;
  options.logger?.info("building the project image (first use; a few minutes)", { tag });
  await buildProjectImage(tag, options);
  return true;
}

/**
 * Builds the `Dockerfile` into `tag`, taking the Deno stage from the engine when it holds one
 * (see {@linkcode LOCAL_DENO_STAGE}).
 */
export async function buildProjectImage(
  tag: string,
  options: BuildImageOptions = {},
): Promise<void> {
  const bases = await resolveBases();
  await buildImage(tag, {
    ...options,
    context: PROJECT_ROOT,
    buildArgs: { ...bases.buildArgs, ...options.buildArgs },
  });
}

/**
 * Builds the Dockerfile in `options.context` into `tag` with BuildKit (the project's Dockerfile
 * mounts a secret), on the host's network when the engine has no default bridge. Fails with the
 * end of the build log.
 */
export async function buildImage(
  tag: string,
  options: BuildImageOptions & { context: string },
): Promise<void> {
  const started = performance.now();
  const cli = await buildKitCli();
  const args = ["build", "--tag", tag, "--progress", "plain"];
  for (const [name, value] of Object.entries(options.buildArgs ?? {})) {
    args.push("--build-arg", `${name}=${value}`);
  }
  if (!(await docker(["network", "inspect", "bridge"]))?.success) args.push("--network", "host");
  if (options.caBundle) args.push("--secret", `id=ca-bundle,src=${resolve(options.caBundle)}`);
  args.push(options.context);
  const output = await new Deno.Command(cli.command, {
    args,
    env: cli.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    const log = new TextDecoder().decode(output.stderr).trimEnd().split("\n").slice(-15);
    throw new TerminalError(`docker build of ${tag} failed:\n${log.join("\n")}`);
  }
  options.logger?.info("built the image", {
    tag,
    seconds: ((performance.now() - started) / 1000).toFixed(1),
  });
}

/** The Dockerfile's base images, with the Deno stage swapped for the local one if need be. */
async function resolveBases(): Promise<{ images: string[]; buildArgs: Record<string, string> }> {
  const text = await Deno.readTextFile(DOCKERFILE);
  const defaults = new Map(
    [...text.matchAll(/^ARG\s+([A-Z_]+)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!]),
  );
  const images: string[] = [];
  const buildArgs: Record<string, string> = {};
  for (const [, from] of text.matchAll(/^FROM\s+(\S+)/gm)) {
    const variable = /^\$\{([A-Z_]+)\}$/.exec(from!)?.[1];
    let image = variable ? defaults.get(variable) ?? "" : from!;
    const release = /^denoland\/deno:bin-(\S+)$/.exec(image)?.[1];
    if (variable && release && !await imagePresent(image)) {
      const local = `${LOCAL_DENO_STAGE}:${release}`;
      if (await imagePresent(local)) {
        image = local;
        buildArgs[variable] = local;
      }
    }
    if (image !== "scratch") images.push(image);
  }
  return { images, buildArgs };
}

/**
 * A docker CLI that builds with BuildKit: `docker` when it has the buildx plugin (Docker 23+);
 * else a docker CLI older than 23 on PATH (Debian's docker.io 20.10), with `DOCKER_BUILDKIT=1`.
 * A CLI of 23+ without buildx only has the legacy builder, which cannot mount secrets.
 */
async function buildKitCli(): Promise<{ command: string; env: Record<string, string> }> {
  if ((await docker(["buildx", "version"]))?.success) return { command: "docker", env: {} };
  for (const dir of (Deno.env.get("PATH") ?? "").split(":").filter(Boolean)) {
    const candidate = resolve(dir, "docker");
    const version = await docker(["version", "--format", "{{.Client.Version}}"], {
      command: candidate,
    });
    const major = Number(/^(\d+)\./.exec(new TextDecoder().decode(version?.stdout))?.[1]);
    if (major > 0 && major < 23) return { command: candidate, env: { DOCKER_BUILDKIT: "1" } };
  }
  throw new TerminalError(
    "building the image needs BuildKit: install Docker's buildx plugin (docker-buildx-plugin)",
  );
}

/** Runs a docker CLI; `undefined` when there is none or it hung past the timeout. */
async function docker(
  args: string[],
  options: { command?: string; timeoutMs?: number } = {},
): Promise<Deno.CommandOutput | undefined> {
  try {
    return await new Deno.Command(options.command ?? "docker", {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "null",
      signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
    }).output();
  } catch (error) {
    if (
      error instanceof Deno.errors.NotFound ||
      (error instanceof DOMException && error.name === "AbortError")
    ) {
      return undefined;
    }
    throw new TerminalError(`could not run docker ${args[0]}: ${errorMessage(error)}`);
  }
}
