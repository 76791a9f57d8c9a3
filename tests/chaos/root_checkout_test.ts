/**
 * The embedded warehouse as root from a checkout inside a folder only root can enter (`/root/x`,
 * a `mktemp -d` folder): the server runs as `postgres`, who cannot reach the checkout's binaries
 * or `DATA_DIR`, so they live under the shared home instead — and where even that cannot be
 * written, the error names the folder and the fix. Only as root; elsewhere these tests are ignored.
 */
import assert from "node:assert/strict";
import { dirname, resolve } from "node:path";
import { startFakeRandomUser } from "../../tasks/stand_in/randomuser_server.ts";
import { TerminalError } from "../../tasks/shared/errors.ts";
import { PROJECT_ROOT } from "../../tasks/shared/paths.ts";
import { ensureEmbeddedWarehouse } from "../../tasks/warehouse/embedded_postgres.ts";
import { SHARED_HOME } from "../../tasks/warehouse/embedded_layout.ts";
import { connect } from "../../tasks/warehouse/sql_client.ts";
import { assertExit } from "../helpers/pipeline_fixture.ts";
import { childEnv, type TaskResult, taskResult } from "../helpers/task_process.ts";
import { warehouseState } from "../helpers/warehouse_state.ts";
import { recordChaos } from "./chaos_report.ts";
import { secondsSince } from "./chaos_fixture.ts";

const asRoot = Deno.uid() === 0;
const DS = "2026-09-01";
const USERS = 300;

/** A copy of this checkout (its tracked and untracked files, no `data/`) in `dir`, set up. */
async function copyCheckout(dir: string): Promise<void> {
  const listed = await new Deno.Command("git", {
    args: ["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
    cwd: PROJECT_ROOT,
    stdout: "piped",
  }).output();
  assert.equal(listed.code, 0, "git ls-files failed");
  const files = new TextDecoder().decode(listed.stdout).split("\0").filter((file) => file !== "");
  for (const file of files) {
    const target = resolve(dir, file);
    await Deno.mkdir(dirname(target), { recursive: true });
    await Deno.copyFile(resolve(PROJECT_ROOT, file), target).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error; // deleted, not yet committed
    });
  }
  assertExit(await deno(dir, ["task", "setup"]), 0);
}

/** `deno …` in the checkout at `cwd`, with nothing of ours in its environment but `env`. */
async function deno(
  cwd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<TaskResult> {
  const output = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    clearEnv: true,
    env: childEnv(env),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(300_000),
  }).output();
  return taskResult(output);
}

Deno.test({
  name:
    "as root, a checkout inside a 0700 folder starts, loads into and restarts the embedded warehouse",
  ignore: !asRoot,
  fn: async () => {
    const started = performance.now();
    const outer = await Deno.makeTempDir({ prefix: "relt-root-" });
    assert.equal((await Deno.stat(outer)).mode! & 0o777, 0o700);
    const checkout = resolve(outer, "x");
    await using api = await startFakeRandomUser();
    const task = (name: string, args: string[] = []) =>
      deno(checkout, ["run", "-A", `tasks/${name}.ts`, ...args], {
        RANDOMUSER_API_URL: api.url,
      });
    const link = resolve(checkout, "data", "warehouse", "pgdata");
    try {
      await copyCheckout(checkout);
      const migrate = await task("migrate");
      assertExit(migrate, 0);
      const why = `why="as root the server runs as postgres, who cannot enter ${outer}; ` +
        `its binaries and cluster are kept in ${SHARED_HOME} instead"`;
      const created = migrate.stderr.split("\n").find((line) =>
        line.includes('msg="creating the embedded warehouse"')
      );
      assert.ok(created?.includes(why), `no line says why:\n${migrate.stderr}`);
      assert.match(created!, new RegExp(`cluster=${SHARED_HOME}/clusters/[0-9a-f]{16}/pgdata `));
      // The cluster lives in the shared home, owned by postgres; DATA_DIR links to it.
      const cluster = await Deno.realPath(link);
      assert.ok(cluster.startsWith(`${SHARED_HOME}/clusters/`), cluster);
      assert.equal((await Deno.stat(cluster)).uid, Number(await id("-u")));

      assertExit(await task("extract", ["--ds", DS, "--users", String(USERS)]), 0);
      const load = await task("load", ["--ds", DS]);
      assertExit(load, 0);
      assert.match(load.stdout, new RegExp(`inserted=${USERS} `));
      const before = await stateOf(await task("warehouse_control", ["url"]));
      assert.equal(before.rawUsers.rows, USERS);

      // Stopped and started again, it keeps every row; a reload changes none.
      assert.match((await task("warehouse_control", ["stop"])).stdout, /state=stopped/);
      const again = await task("load", ["--ds", DS]);
      assertExit(again, 0);
      assert.match(again.stderr, /msg="started the embedded warehouse"/);
      assert.match(again.stdout, new RegExp(`unchanged=${USERS} `));
      const after = await stateOf(await task("warehouse_control", ["url"]));
      assert.deepEqual(after.rawUsers, before.rawUsers);
      await recordChaos("warehouse", {
        scenario:
          "as root, from a checkout inside a 0700 folder: embedded warehouse in the shared home",
        faultsInjected: 1,
        runsRecovered: 1,
        rowsExpected: USERS,
        rowsFound: after.rawUsers.rows,
        seconds: secondsSince(started),
      });
    } finally {
      await task("warehouse_control", ["stop"]);
      const cluster = await Deno.realPath(link).catch(() => undefined);
      if (cluster?.startsWith(`${SHARED_HOME}/clusters/`)) {
        await Deno.remove(dirname(cluster), { recursive: true });
      }
      await Deno.remove(outer, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "as root, when the shared home cannot be written either, the error names the folder and the fix",
  ignore: !asRoot,
  fn: async () => {
    const outer = await Deno.makeTempDir({ prefix: "relt-root-" });
    // A file where the shared home would be: nothing can be made under it.
    const blocked = resolve(outer, "..", `${outer.split("/").at(-1)}-not-a-folder`);
    await Deno.writeTextFile(blocked, "");
    try {
      const error = await ensureEmbeddedWarehouse(resolve(outer, "data", "warehouse"), {
        sharedHome: resolve(blocked, "home"),
      }).then(() => undefined, (error: unknown) => error);
      assert.ok(error instanceof TerminalError, `expected a terminal error, got ${error}`);
      assert.equal(
        error.message,
        "as root, the embedded warehouse's server runs as the `postgres` user, who cannot enter " +
          `${outer}; its binaries and cluster would then live in ${blocked}/home, but that ` +
          `failed (Not a directory (os error 20): mkdir '${blocked}/home'). Let \`postgres\` ` +
          `enter the folder (\`chmod o+x ${outer}\`), make ${blocked}/home writable by root, ` +
          "run as another user, or set DATABASE_URL",
      );
    } finally {
      await Deno.remove(outer, { recursive: true });
      await Deno.remove(blocked);
    }
    await recordChaos("warehouse", {
      scenario: "as root, a 0700 checkout and no shared home: a terminal error naming the folder",
      faultsInjected: 1,
    });
  },
});

/** The state of the warehouse whose URL `url` printed. */
async function stateOf(url: TaskResult) {
  assertExit(url, 0);
  const sql = connect(url.stdout.trim(), { max: 1 });
  try {
    return await warehouseState(sql);
  } finally {
    await sql.end();
  }
}

async function id(flag: string): Promise<string> {
  const output = await new Deno.Command("id", { args: [flag, "postgres"], stdout: "piped" })
    .output();
  return new TextDecoder().decode(output.stdout).trim();
}
