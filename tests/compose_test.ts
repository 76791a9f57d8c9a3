/**
 * The container stack's files, checked without a Docker engine: the compose file's structure,
 * the Dockerfile's bases, `docker-compose config -q` and hadolint when they are installed (CI
 * installs both), and `.env.example`'s list of variables. `tests/containers/` runs them.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { ConsoleServer } from "../pipelines/console/console_server.ts";
import { definePipelines } from "../pipelines/definitions.ts";
import { CONFIG_VARIABLES } from "../tasks/shared/config.ts";
import { Logger } from "../tasks/shared/logger.ts";
import { PROJECT_ROOT, projectPath } from "../tasks/shared/paths.ts";
import { SecretMask } from "../tasks/shared/secret_mask.ts";
import { createTestDatabase } from "./helpers/test_warehouse.ts";

const read = (path: string) => Deno.readTextFile(projectPath(path));

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string | number>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[]; timeout?: string };
  volumes?: string[];
  ports?: string[];
  restart?: string;
}

const compose = parse(await read("docker-compose.yml")) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};

async function tool(command: string, args: string[]): Promise<Deno.CommandOutput | undefined> {
  try {
    return await new Deno.Command(command, {
      args,
      cwd: PROJECT_ROOT,
      stdout: "piped",
      stderr: "piped",
    })
      .output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

Deno.test("the stack has a warehouse, the pipeline, Metabase and a one-shot provisioning service", () => {
  const { services } = compose;
  assert.deepEqual(Object.keys(services).sort(), [
    "metabase",
    "metabase-database",
    "metabase-setup",
    "pipeline",
    "warehouse",
  ]);
  assert.match(
    services.warehouse!.image!,
    /^postgres:\d+$/,
    "the warehouse image pins a major version",
  );
  assert.match(
    services.metabase!.image!,
    /^metabase\/metabase:v\d+\.\d+\.\d+/,
    "Metabase is pinned",
  );
  assert.deepEqual(services.pipeline!.command, ["deno", "task", "start"]);
  assert.ok(services.pipeline!.build, "the pipeline image is built from the Dockerfile");
  assert.match(services["metabase-setup"]!.command!.join(" "), /deno task metabase:provision/);
  assert.equal(services["metabase-setup"]!.restart, "no");
});

Deno.test("services wait for what they need to be healthy", () => {
  const { services } = compose;
  for (const name of ["warehouse", "metabase", "pipeline"]) {
    assert.ok(services[name]!.healthcheck?.test.length, `${name} has a healthcheck`);
  }
  assert.deepEqual(services.pipeline!.depends_on, { warehouse: { condition: "service_healthy" } });
  // Over TCP, as the services connect: the image's init server listens on the socket only.
  assert.match(services.warehouse!.healthcheck!.test.join(" "), /pg_isready -h 127\.0\.0\.1 /);
  assert.deepEqual(services.metabase!.depends_on, {
    warehouse: { condition: "service_healthy" },
    // Its application database exists on every start, not only on a fresh warehouse volume.
    "metabase-database": { condition: "service_completed_successfully" },
  });
  assert.deepEqual(services["metabase-database"]!.command, ["deno", "task", "metabase:database"]);
  assert.equal(services["metabase-setup"]!.depends_on?.metabase?.condition, "service_healthy");
});

Deno.test("the pipeline service publishes the console on 127.0.0.1:8080 and its healthcheck asks /healthz", () => {
  const pipeline = compose.services.pipeline!;
  assert.deepEqual(pipeline.ports, ["127.0.0.1:${CONSOLE_PORT:-8080}:8080"]);
  const env = pipeline.environment!;
  // Inside the container on every interface (else the published port reaches nothing).
  assert.deepEqual([env.CONSOLE_HOST, env.CONSOLE_PORT], ["0.0.0.0", "8080"]);
  assert.equal(env.CONSOLE_TOKEN, "${CONSOLE_TOKEN:-}");
  const [kind, ...command] = pipeline.healthcheck!.test;
  assert.equal(kind, "CMD");
  assert.deepEqual(command.slice(0, 2), ["deno", "eval"]);
  assert.match(command[2]!, /fetch\('http:\/\/127\.0\.0\.1:8080\/healthz'/);
});

Deno.test("the pipeline's healthcheck command passes on a 200 from /healthz and fails on a 503 or no console", async () => {
  const [, ...command] = compose.services.pipeline!.healthcheck!.test;
  await using db = await createTestDatabase();
  await using server = ConsoleServer.listen({
    host: "127.0.0.1",
    port: 0,
    mode: "console",
    pipelines: definePipelines({ retries: 0, retryDelayMs: 0 }),
    dataDir: "/nonexistent",
    mask: new SecretMask(),
    token: undefined,
    logger: new Logger("console", () => {}),
  });
  // The compose file's own command, aimed at this console's port instead of the container's 8080.
  const check = async (port: number) => {
    const script = command[2]!.replace("127.0.0.1:8080", `127.0.0.1:${port}`);
    const output = await new Deno.Command(command[0]!, {
      args: [command[1]!, script],
      cwd: PROJECT_ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { code: output.code, stdout: new TextDecoder().decode(output.stdout) };
  };
  const port = Number(new URL(server.url).port);
  const starting = await check(port);
  assert.equal(starting.code, 1, "503 while the warehouse is being opened");
  assert.match(starting.stdout, /"status": "unavailable"/);
  server.attach({ warehouseUrl: db.url });
  const healthy = await check(port);
  assert.equal(healthy.code, 0, healthy.stdout);
  assert.match(healthy.stdout, /"status": "ok"/);
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closed = listener.addr.port;
  listener.close();
  assert.equal((await check(closed)).code, 1, "nothing listening");
});

Deno.test("data lives in named volumes and Metabase keeps its own data in the warehouse server", () => {
  const { services, volumes } = compose;
  assert.ok(services.warehouse!.volumes?.includes("warehouse-data:/var/lib/postgresql/data"));
  assert.ok(services.pipeline!.volumes?.includes("pipeline-data:/data"));
  assert.deepEqual(Object.keys(volumes).sort(), [
    "metabase-setup",
    "pipeline-data",
    "warehouse-data",
  ]);
  const env = services.metabase!.environment!;
  assert.deepEqual([env.MB_DB_TYPE, env.MB_DB_HOST, env.MB_DB_DBNAME], [
    "postgres",
    "warehouse",
    "metabase",
  ]);
});

Deno.test("no secret in the stack but the documented defaults", async () => {
  const example = await read(".env.example");
  const documented = new Map(
    [...example.matchAll(/^#?\s*([A-Z_]+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!.trim()]),
  );
  const text = await read("docker-compose.yml");
  // `$${X}` is the container's own variable, not one of ours.
  for (const [, name, fallback] of text.matchAll(/(?<!\$)\$\{([A-Z_]+)(?::-([^}]*))?\}/g)) {
    assert.ok(
      documented.has(name!),
      `${name} is used in docker-compose.yml but not in .env.example`,
    );
    if (fallback && /PASSWORD|USER/.test(name!)) {
      assert.equal(fallback, documented.get(name!), `${name}'s default differs from .env.example`);
    }
  }
  for (const [serviceName, service] of Object.entries(compose.services)) {
    for (const [key, value] of Object.entries(service.environment ?? {})) {
      // A *_FILE variable names a file (a path), not a secret.
      if (/PASS|SECRET|TOKEN/.test(key) && !key.endsWith("_FILE")) {
        assert.match(
          String(value),
          /^\$\{[A-Z_]+:-[^}]*\}$/,
          `${serviceName}.${key} is a literal secret`,
        );
      }
      if (typeof value === "string" && value.includes("://")) {
        assert.doesNotMatch(
          value,
          /:\/\/[^$:]+:(?!\$\{)[^@]+@/,
          `${serviceName}.${key} has a literal password`,
        );
      }
    }
  }
});

Deno.test("Metabase is published on 127.0.0.1 only and has no fixed admin password", async () => {
  const { services } = compose;
  for (const [name, service] of Object.entries(services)) {
    for (const port of service.ports ?? []) {
      assert.match(port, /^127\.0\.0\.1:/, `${name} publishes ${port} beyond this machine`);
    }
  }
  assert.ok(services.metabase!.ports?.length, "Metabase is published");
  for (const file of ["docker-compose.yml", ".env.example"]) {
    const text = await read(file);
    assert.doesNotMatch(text, /METABASE_ADMIN_PASSWORD:-[^}]/, `${file} has a default password`);
    assert.doesNotMatch(text, /^METABASE_ADMIN_PASSWORD=./m, `${file} sets an admin password`);
  }
  for (const name of ["metabase-setup", "pipeline"]) {
    assert.equal(
      services[name]!.environment!.METABASE_ADMIN_PASSWORD_FILE,
      "/metabase-setup/admin_password",
    );
  }
  assert.ok(services["metabase-setup"]!.volumes?.includes("metabase-setup:/metabase-setup"));
});

// docs/configuration.md is held to the same list by tests/docs_test.ts.
Deno.test(".env.example names every configuration variable", async () => {
  const example = await read(".env.example");
  for (const name of CONFIG_VARIABLES) {
    assert.match(example, new RegExp(`^#? ?${name}=`, "m"), `.env.example lacks ${name}`);
  }
});

Deno.test("the pipeline image runs as a non-root user", async () => {
  const dockerfile = await read("Dockerfile");
  const users = [...dockerfile.matchAll(/^USER\s+(\S+)/gm)].map((m) => m[1]);
  assert.ok(users.length > 0, "the Dockerfile sets a USER");
  assert.doesNotMatch(users.at(-1)!, /^(root|0)(:|$)/);
  assert.match(dockerfile, /COPY --from=deno \/deno \/usr\/local\/bin\/deno/);
});

Deno.test("the image starts only from public images, with the Deno release CI installs", async () => {
  const dockerfile = await read("Dockerfile");
  const args = new Map(
    [...dockerfile.matchAll(/^ARG\s+([A-Z_]+)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!]),
  );
  const bases = [...dockerfile.matchAll(/^FROM\s+(\S+)/gm)].map((m) =>
    m[1]!.replace(/^\$\{([A-Z_]+)\}$/, (_, name: string) => args.get(name) ?? name)
  );
  const denoVersion = /^DENO_VERSION=(\S+)$/m.exec(await read(".ci/run"))?.[1];
  assert.deepEqual(bases, [`denoland/deno:bin-${denoVersion}`, "debian:bookworm-slim"]);
  // A build-time CA goes in as a BuildKit secret; nothing of it is named in the Dockerfile.
  assert.doesNotMatch(dockerfile, /ca-certificates\.crt|BEGIN CERTIFICATE|NODE_EXTRA_CA_CERTS/);
  assert.doesNotMatch(
    dockerfile,
    /^(COPY|ADD)\s.*\btests\//m,
    "the image copies nothing from tests/",
  );
  const pins = await read("dbt_project/requirements.txt");
  assert.match(pins, /^dbt-postgres==1\.11\.0$/m);
  assert.match(dockerfile, /-r \/opt\/dbt-requirements\.txt/, "dbt from the pinned requirements");
});

const inCi = Deno.env.get("CI") === "true";
const composeCli = await tool("docker-compose", ["version"]);
Deno.test({
  name: "docker-compose config -q accepts the compose file",
  ignore: !inCi && composeCli === undefined,
  async fn() {
    const result = await tool("docker-compose", ["config", "-q"]);
    assert.ok(result, "docker-compose is not installed (CI installs Debian's package)");
    assert.equal(result.code, 0, new TextDecoder().decode(result.stderr));
  },
});

const hadolint = projectPath(".venv", "bin", "hadolint");
const hadolintInstalled = await tool(hadolint, ["--version"]) !== undefined;
Deno.test({
  name: "hadolint finds nothing in the Dockerfile and the stand-ins' Dockerfiles",
  ignore: !inCi && !hadolintInstalled,
  async fn() {
    for (
      const file of [
        "Dockerfile",
        "tests/containers/warehouse_standin/Dockerfile",
        "tests/containers/metabase_standin/Dockerfile",
      ]
    ) {
      const result = await tool(hadolint, [file]);
      assert.ok(
        result,
        "hadolint is not installed (CI installs tests/requirements.txt into .venv)",
      );
      assert.equal(result.code, 0, `${file}: ${new TextDecoder().decode(result.stdout)}`);
    }
  },
});
