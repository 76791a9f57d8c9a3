/**
 * One `docker-compose` project of the stack for a test: the real `docker-compose.yml` plus the
 * stand-ins' override, under a project name of its own, with its variables in an env file of its
 * own (so neither the developer's `.env` nor the shell's variables reach it).
 *
 * @example
 * ```ts
 * await using stack = await ComposeProject.create({ USERS_PER_RUN: "1000" });
 * await stack.compose(["up", "-d", "--no-build"]);
 * await stack.waitUntilReady({ services, oneShot: ["metabase-setup"], timeoutMs: 600_000 });
 * ```
 *
 * @module
 */
import { resolve } from "node:path";
import { ignoreNotFound } from "../../tasks/shared/errors.ts";

const ROOT = resolve(new URL("../..", import.meta.url).pathname);
const OVERRIDE = "tests/containers/docker-compose.standins.yml";
const decoder = new TextDecoder();

/** A container of the project as `docker inspect` shows it. */
export interface ServiceContainer {
  readonly service: string;
  readonly id: string;
  readonly status: string;
  /** `healthy`, `unhealthy`, `starting`, or "" without a healthcheck. */
  readonly health: string;
  readonly exitCode: number;
  readonly startedAt: string;
}

/** What a command printed and how it ended. */
export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A compose project; disposing it runs `down -v` if the test did not. */
export class ComposeProject implements AsyncDisposable {
  #down = false;

  private constructor(
    readonly name: string,
    readonly envFile: string,
    readonly variables: Readonly<Record<string, string>>,
  ) {}

  /** A project named `relt-test-<random>` with `variables` as its `.env`. */
  static async create(variables: Record<string, string>): Promise<ComposeProject> {
    const name = `relt-test-${crypto.randomUUID().slice(0, 8)}`;
    const envFile = await Deno.makeTempFile({ prefix: `${name}-`, suffix: ".env" });
    await Deno.writeTextFile(
      envFile,
      Object.entries(variables).map(([key, value]) => `${key}=${value}\n`).join(""),
    );
    return new ComposeProject(name, envFile, variables);
  }

  /** Runs `docker-compose <args>` for this project. */
  async compose(
    args: readonly string[],
    options: { check?: boolean } = {},
  ): Promise<CommandResult> {
    if (args[0] === "down") this.#down = true;
    const result = await run("docker-compose", [
      "--project-name",
      this.name,
      "--env-file",
      this.envFile,
      "-f",
      "docker-compose.yml",
      "-f",
      OVERRIDE,
      ...args,
    ]);
    if ((options.check ?? true) && result.code !== 0) {
      throw new Error(`docker-compose ${args.join(" ")} exited ${result.code}:\n${result.stderr}`);
    }
    return result;
  }

  /** `docker-compose exec -T <service> <command...>`. */
  exec(service: string, command: readonly string[]): Promise<CommandResult> {
    return this.compose(["exec", "-T", service, ...command], { check: false });
  }

  /** Every container of the project, by service. */
  async containers(): Promise<ServiceContainer[]> {
    const ids = (await run("docker", [
      "ps",
      "--all",
      "--quiet",
      "--filter",
      `label=com.docker.compose.project=${this.name}`,
    ])).stdout.split("\n").filter(Boolean);
    if (ids.length === 0) return [];
    // JSON, not --format: docker 23+ CLIs fail a template on a key an older engine leaves out.
    const inspected = JSON.parse((await run("docker", ["inspect", ...ids])).stdout) as Array<{
      Id: string;
      Config: { Labels: Record<string, string> };
      State: { Status: string; ExitCode: number; StartedAt: string; Health?: { Status: string } };
    }>;
    return inspected.map((container) => ({
      service: container.Config.Labels["com.docker.compose.service"] ?? "",
      id: container.Id,
      status: container.State.Status,
      health: container.State.Health?.Status ?? "",
      exitCode: container.State.ExitCode,
      startedAt: container.State.StartedAt,
    })).sort((a, b) => a.service.localeCompare(b.service));
  }

  /**
   * Waits until each of `services` has a container, every one with a healthcheck is healthy and
   * every `oneShot` one exited 0 (after `since`, when given); fails early, with the service's
   * log, when one cannot get there.
   */
  async waitUntilReady(
    options: {
      services: readonly string[];
      oneShot: readonly string[];
      timeoutMs: number;
      since?: string;
    },
  ): Promise<ServiceContainer[]> {
    const deadline = Date.now() + options.timeoutMs;
    let last: ServiceContainer[] = [];
    while (Date.now() < deadline) {
      last = await this.containers();
      const broken = last.find((c) =>
        c.health === "unhealthy" ||
        (c.status === "exited" && (!options.oneShot.includes(c.service) || c.exitCode !== 0))
      );
      if (broken) {
        throw new Error(
          `${broken.service} is ${broken.health || broken.status} (exit ${broken.exitCode}):\n` +
            (await this.logs(broken.service)),
        );
      }
      const present = last.map((c) => c.service).join(" ");
      const ready = present === [...options.services].sort().join(" ") &&
        last.every((c) =>
          options.oneShot.includes(c.service)
            ? c.status === "exited" && (options.since === undefined || c.startedAt > options.since)
            : c.status === "running" && (c.health === "" || c.health === "healthy")
        );
      if (ready) return last;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    throw new Error(
      `the stack was not ready in ${options.timeoutMs / 1000} s: ` +
        last.map((c) => `${c.service}=${c.health || c.status}`).join(", "),
    );
  }

  /** The last lines of a service's log. */
  async logs(service: string): Promise<string> {
    const result = await this.compose(["logs", "--no-color", "--tail", "40", service], {
      check: false,
    });
    return result.stdout + result.stderr;
  }

  /** Containers, networks and volumes of the project that still exist. */
  async leftovers(): Promise<string[]> {
    const label = `label=com.docker.compose.project=${this.name}`;
    const found: string[] = [];
    for (const kind of ["container", "network", "volume"]) {
      const args = kind === "container"
        ? ["ps", "--all", "--quiet", "--filter", label]
        : [kind, "ls", "--quiet", "--filter", label];
      for (const id of (await run("docker", args)).stdout.split("\n").filter(Boolean)) {
        found.push(`${kind} ${id}`);
      }
    }
    return found;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#down) await this.compose(["down", "-v", "--remove-orphans"], { check: false });
    await Deno.remove(this.envFile).catch(ignoreNotFound);
  }
}

/** Runs a command in the project root with only what docker needs from the environment. */
async function run(command: string, args: readonly string[]): Promise<CommandResult> {
  const env: Record<string, string> = {};
  for (const name of ["PATH", "HOME", "DOCKER_HOST"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  // docker-compose 1.29 gives up on an engine request after 60 s; on a loaded 2-core machine with
  // the vfs storage driver, removing a container's layers can take longer than that.
  env.COMPOSE_HTTP_TIMEOUT = "600";
  const output = await new Deno.Command(command, {
    args: [...args],
    cwd: ROOT,
    clearEnv: true,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}
