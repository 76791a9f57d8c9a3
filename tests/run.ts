/**
 * `deno task test`: runs the whole suite against real PostgreSQL. With `TEST_DATABASE_URL` it
 * uses that server; without it, when a Docker engine answers, a warehouse container started by
 * testcontainers (`tests/containers/warehouse_container.ts`); else an embedded PostgreSQL in a
 * temporary directory. Either is stopped afterwards. Extra arguments go to `deno test` (e.g. a
 * file or `--filter`). `deno task test:containers` (`--containers`) runs `tests/containers/`.
 *
 * `deno task test:chaos` (`--chaos`) runs the reliability suite in `tests/chaos/` instead, and
 * prints its summary: faults injected, runs recovered, rows expected, found and lost, secrets
 * leaked, per category. `deno task test:airflow` (`--airflow`) runs `tests/airflow/`: the
 * pipelines on a real Apache Airflow.
 *
 * @module
 */
import { errorMessage } from "../tasks/shared/errors.ts";
import {
  ensureEmbeddedWarehouse,
  stopEmbeddedWarehouse,
} from "../tasks/warehouse/embedded_postgres.ts";
import { PROJECT_ROOT } from "../tasks/shared/paths.ts";
import { dockerAnswers } from "./containers/images.ts";
import {
  startWarehouseContainer,
  type WarehouseContainer,
} from "./containers/warehouse_container.ts";

let url = Deno.env.get("TEST_DATABASE_URL");
let embeddedDir: string | undefined;
let tempDir: string | undefined;
let container: WarehouseContainer | undefined;

if (!url && Deno.env.get("CONTAINER_TESTS") !== "skip" && await dockerAnswers()) {
  const started = performance.now();
  try {
    container = await startWarehouseContainer();
    url = container.url;
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.error(
      `tests: warehouse container ${container.image} on ${new URL(url).host} ` +
        `(testcontainers, ready in ${seconds} s)`,
    );
  } catch (error) {
    // CI must exercise this path: there, a container that does not start fails the run.
    if (Deno.env.get("CI") === "true") throw error;
    console.error(`tests: no warehouse container (${errorMessage(error)}); embedded instead`);
  }
}
if (!url) {
  tempDir = await Deno.makeTempDir({ prefix: "relt-test-warehouse-" });
  await Deno.chmod(tempDir, 0o755);
  embeddedDir = `${tempDir}/warehouse`;
  const server = await ensureEmbeddedWarehouse(embeddedDir);
  url = server.url;
  console.error(`tests: embedded PostgreSQL on 127.0.0.1:${server.port} (${embeddedDir})`);
} else if (!container) {
  console.error("tests: using TEST_DATABASE_URL");
}

const chaos = Deno.args[0] === "--chaos";
// `deno task test:airflow` (`--airflow`): the tests on a real Airflow, in `tests/airflow/`;
// `deno task test:containers` (`--containers`): the container tests alone.
const airflow = Deno.args[0] === "--airflow";
const containers = Deno.args[0] === "--containers";
const extra = chaos || airflow || containers ? Deno.args.slice(1) : Deno.args;
const chaosReport = chaos
  ? await Deno.makeTempFile({ prefix: "relt-chaos-", suffix: ".jsonl" })
  : undefined;
// The chaos suite takes minutes, the Airflow tests too: `deno task test` leaves them to
// `deno task test:chaos` and `deno task test:airflow`.
const args = extra.length > 0
  ? extra
  : chaos
  ? ["tests/chaos/"]
  : airflow
  ? ["tests/airflow/"]
  : containers
  ? ["tests/containers/"]
  : ["--ignore=tests/chaos,tests/airflow", "tests/"];
let code = 1;
let summary = "";
try {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", "--no-check", ...args],
    cwd: PROJECT_ROOT,
    env: {
      TEST_DATABASE_URL: url,
      NO_COLOR: "1",
      ...(containers ? { CONTAINER_TESTS: "require" } : {}),
      ...(chaosReport ? { CHAOS_REPORT: chaosReport } : {}),
    },
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const decoder = new TextDecoder();
  let tail = "";
  for await (const chunk of child.stdout) {
    await Deno.stdout.write(chunk);
    tail = (tail + decoder.decode(chunk, { stream: true })).slice(-4096);
  }
  code = (await child.status).code;
  // deno test ends with "ok | 12 passed (3 steps) | 0 failed (4s)"; restate it plainly for CI.
  const match = /(\d+) passed[^|]*\| (\d+) failed/.exec(tail);
  if (match) summary = `tests: ${match[1]} passed, ${match[2]} failed`;
} finally {
  await container?.[Symbol.asyncDispose]();
  if (embeddedDir) await stopEmbeddedWarehouse(embeddedDir);
  if (tempDir) await Deno.remove(tempDir, { recursive: true });
}
if (chaosReport) {
  const { printChaosSummary } = await import("./chaos/chaos_report.ts");
  await printChaosSummary(chaosReport);
  await Deno.remove(chaosReport);
}
if (summary) console.log(summary);
Deno.exit(code);
