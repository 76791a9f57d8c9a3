/**
 * The test warehouse as a container, started by testcontainers: `postgres:17` when the engine
 * holds it, else the labelled stand-in (see `images.ts`). `deno task test` uses it when no
 * `TEST_DATABASE_URL` is given and a Docker engine answers.
 *
 * @example
 * ```ts
 * await using warehouse = await startWarehouseContainer();
 * console.log(warehouse.url); // postgres://postgres:…@127.0.0.1:32768/postgres
 * ```
 *
 * @module
 */
import { GenericContainer, Network, Wait } from "testcontainers";
import { testWarehouseImage } from "./images.ts";

/** A running warehouse container; disposing it removes the container and its network. */
export interface WarehouseContainer extends AsyncDisposable {
  readonly url: string;
  readonly image: string;
}

/** Builds (if need be) and starts the test warehouse container. */
export async function startWarehouseContainer(): Promise<WarehouseContainer> {
  const env = Deno.env;
  // Ryuk, testcontainers' reaper, is an image from a registry that cannot be had here; the
  // disposer below removes what it started, and CI stops the whole engine at the end.
  if (env.get("TESTCONTAINERS_RYUK_DISABLED") === undefined) {
    env.set("TESTCONTAINERS_RYUK_DISABLED", "true");
  }
  // On a local engine, published ports are on loopback. Left alone inside a container (as CI
  // is), testcontainers looks for the default bridge's gateway, which an engine started with
  // --bridge=none does not have.
  const dockerHost = env.get("DOCKER_HOST") ?? "unix:///var/run/docker.sock";
  if (env.get("TESTCONTAINERS_HOST_OVERRIDE") === undefined && dockerHost.startsWith("unix:")) {
    env.set("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1");
  }
  const image = await testWarehouseImage();
  const password = crypto.randomUUID();
  // A network of our own: the engine may have no default bridge.
  const network = await new Network().start();
  try {
    const container = await new GenericContainer(image)
      .withNetwork(network)
      .withEnvironment({ POSTGRES_USER: "postgres", POSTGRES_PASSWORD: password })
      .withExposedPorts(5432)
      // Data in memory: the suite creates and drops hundreds of databases.
      .withTmpFs({ "/var/lib/postgresql/data": "rw" })
      .withSharedMemorySize(512 * 1024 * 1024)
      .withLabels({ "randomuser-elt.test": "warehouse" })
      // The compose file's healthcheck: over TCP, so the init server does not count.
      .withWaitStrategy(
        Wait.forSuccessfulCommand("pg_isready -h 127.0.0.1 -p 5432 -U postgres")
          .withStartupTimeout(120_000),
      )
      .start();
    const url = `postgres://postgres:${password}@${container.getHost()}:${
      container.getMappedPort(5432)
    }/postgres`;
    return {
      url,
      image,
      async [Symbol.asyncDispose]() {
        await container.stop({ timeout: 10_000 });
        await network.stop();
      },
    };
  } catch (error) {
    await network.stop();
    throw error;
  }
}
