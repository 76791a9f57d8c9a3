/**
 * Opening the warehouse: PostgreSQL at `DATABASE_URL`, or, when it is unset, the embedded
 * PostgreSQL (started on first use); a probe and the first query, within the connect timeout, say
 * whether it answers, and a failure is classified — a server that is not PostgreSQL, a refused
 * login or a missing database will not heal, a refused connection or a slow server may.
 *
 * @example
 * ```ts
 * await using warehouse = await openWarehouse(config.warehouse);
 * const [{ now }] = await warehouse.sql`select now()`;
 * ```
 *
 * @module
 */
import { errorMessage, TerminalError, TransientError } from "../shared/errors.ts";
import type { Logger } from "../shared/logger.ts";
import { parseConnectionUrl } from "../shared/connection_url.ts";
import { redactUrl } from "../shared/redact_url.ts";
import { ensureEmbeddedWarehouse } from "./embedded_postgres.ts";
import { probeServer, type ServerAddress } from "./server_probe.ts";
import { connect, CONNECT_TIMEOUT_SECONDS, type Sql } from "./sql_client.ts";
import { isMissingDatabase, isRefusedLogin } from "./warehouse_errors.ts";

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

/** Which warehouse: the server at `url`, or — when it is `undefined` — the embedded one. */
export interface WarehouseTarget {
  /** `DATABASE_URL`; `undefined` means the embedded PostgreSQL in `embeddedDir`. */
  readonly url: string | undefined;
  readonly embeddedDir: string;
}

/** Options for {@linkcode openWarehouse}. */
export interface OpenWarehouseOptions {
  logger?: Logger;
  /** Connections in the pool; default 4. */
  max?: number;
}

/**
 * Connects to the warehouse and checks that it answers, within {@linkcode CONNECT_TIMEOUT_SECONDS}
 * as a whole: first the server probe (is it PostgreSQL at all?), then a first query. Throws a
 * {@linkcode TransientError} naming the (password-free) URL when it cannot be reached or does not
 * answer in time, a {@linkcode TerminalError} when it is not PostgreSQL or refuses the login; the
 * pool is ended either way, so nothing keeps reconnecting.
 */
export async function openWarehouse(
  target: WarehouseTarget,
  options: OpenWarehouseOptions = {},
): Promise<Warehouse> {
  let url = target.url;
  const embedded = url === undefined;
  let startedServer = false;
  if (url === undefined) {
    const server = await ensureEmbeddedWarehouse(target.embeddedDir, options);
    url = server.url;
    startedServer = server.started;
  }
  // Creating the pool opens no connection: the probe goes first, to the addresses it resolved.
  const sql = connect(url, { max: options.max ?? 4 });
  const displayUrl = redactUrl(url);
  const log = `${target.embeddedDir}/postgres.log`;
  const context: OpeningContext = {
    displayUrl,
    sslmode: parseConnectionUrl(url).params.sslmode,
    hint: embedded ? `see ${log}` : "is PostgreSQL running, and is DATABASE_URL right?",
    wrongServerHint: embedded
      ? `another program may hold the embedded warehouse's port; see ${log}`
      : "check the host and port in DATABASE_URL",
  };
  // One deadline for the whole opening, cleared once open (no timer outlives it).
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), CONNECT_TIMEOUT_SECONDS * 1000);
  try {
    await probe(sql, deadline.signal, context);
    await firstQuery(sql, deadline.signal, context);
  } catch (error) {
    // Nothing to finish gracefully: end at once, so no connection of the pool retries.
    await sql.end({ timeout: 0 });
    throw connectionError(error, context);
  } finally {
    clearTimeout(timer);
  }
  const close = () => sql.end({ timeout: 5 });
  return { sql, url, displayUrl, embedded, startedServer, close, [Symbol.asyncDispose]: close };
}

/** What messages about opening the warehouse need to know. */
interface OpeningContext {
  readonly displayUrl: string;
  /** What to check when the server cannot be reached. */
  readonly hint: string;
  /** What to check when the server at the URL is not PostgreSQL. */
  readonly wrongServerHint: string;
  /** `DATABASE_URL`'s `sslmode`, when it has one. */
  readonly sslmode: string | undefined;
}

/**
 * Probes the servers the pool would connect to (`server_probe.ts`) and classifies what they did:
 *
 * - answered what PostgreSQL never sends (`HTTP/1.1 400 …`): {@linkcode TerminalError}, exit 3.
 *   The URL names another service; a retry asks it again and gets the same answer.
 * - closed the connection without a word, on each of the probe's few tries: terminal too.
 *   PostgreSQL answers the SSLRequest before it refuses anything — a full server or one shutting
 *   down says so after the handshake, a failed fork in an error message — so this is not
 *   PostgreSQL, or a TCP proxy with none behind it, which the message names as well. A wrong
 *   port is the likelier cause, and hours of retries would only hide it.
 * - accepted the connection and stayed silent until the deadline: {@linkcode TransientError},
 *   exit 1. A real PostgreSQL under heavy load answers late; the runner's retry gives it time.
 * - could not be connected to (refused, unknown host): transient, `cannot reach …` as ever.
 *
 * With `sslnegotiation=direct` the first bytes must be a TLS hello (a TLS-terminating proxy would
 * take an SSLRequest for garbage): no probe, the first query's deadline still holds.
 */
async function probe(sql: Sql, deadline: AbortSignal, context: OpeningContext): Promise<void> {
  const parsed = sql.options;
  if ("sslnegotiation" in parsed && parsed.sslnegotiation === "direct") return;
  const addresses: ServerAddress[] = parsed.path
    ? [{ path: parsed.path }]
    : parsed.host.map((hostname, i) => ({ hostname, port: parsed.port[i] ?? 5432 }));
  const result = await probeServer(addresses, { signal: deadline });
  const server = `the server at ${context.displayUrl}`;
  switch (result.kind) {
    case "postgres":
      if (result.tls === false && (parsed.ssl === "require" || typeof parsed.ssl === "object")) {
        throw new TerminalError(
          `${server} does not accept TLS connections (it declined the SSLRequest), and ` +
            `DATABASE_URL asks for TLS (sslmode=${
              context.sslmode ?? "verify-full"
            }): turn ssl on ` +
            "in the server's postgresql.conf, or set sslmode=prefer in DATABASE_URL",
        );
      }
      return;
    case "unreachable":
      throw new TransientError(
        `cannot reach the warehouse at ${context.displayUrl}: ${errorMessage(result.error)}; ` +
          context.hint,
        { cause: result.error },
      );
    case "foreign":
      throw new TerminalError(
        `${server} is not PostgreSQL: it answered "${result.answer}" to the startup handshake; ` +
          context.wrongServerHint,
      );
    case "closed":
      throw new TerminalError(
        `${server} closed the connection during the startup handshake ` +
          `(${result.attempts} ${result.attempts === 1 ? "try" : "tries"}), which PostgreSQL ` +
          "never does: it is not PostgreSQL, or a proxy with no server behind it; " +
          context.wrongServerHint,
      );
    case "silent":
      throw new TransientError(
        `${server} accepted the connection but did not answer the startup handshake within ` +
          `${CONNECT_TIMEOUT_SECONDS} s; a PostgreSQL under load may answer on a retry, ` +
          `another service never will: ${context.wrongServerHint}`,
      );
  }
}

/**
 * The pool's first query, held to the deadline: postgres.js alone may wait for it forever while
 * it reconnects (porsager/postgres#1193), even to a server that passed the probe.
 */
async function firstQuery(
  sql: Sql,
  deadline: AbortSignal,
  context: OpeningContext,
): Promise<void> {
  let giveUp = () => {};
  const late = new Promise<never>((_, reject) => {
    giveUp = () =>
      reject(
        new TransientError(
          `the warehouse at ${context.displayUrl} answered the startup handshake but did not ` +
            `finish connecting within ${CONNECT_TIMEOUT_SECONDS} s; ${context.hint}`,
        ),
      );
  });
  deadline.addEventListener("abort", giveUp, { once: true });
  if (deadline.aborted) giveUp();
  try {
    await Promise.race([sql`select 1`, late]);
  } finally {
    deadline.removeEventListener("abort", giveUp);
  }
}

/**
 * Classifies a failed opening: our own errors (the probe, the deadline) are classified already;
 * wrong credentials or a missing database will not heal ({@linkcode TerminalError}); a refused
 * or dropped connection may ({@linkcode TransientError}).
 */
function connectionError(error: unknown, context: OpeningContext): Error {
  if (error instanceof TerminalError || error instanceof TransientError) return error;
  const detail = errorMessage(error);
  if (isRefusedLogin(error)) {
    return new TerminalError(
      `the warehouse at ${context.displayUrl} refused the login: ${detail}. ` +
        "Check the user and password in DATABASE_URL.",
      { cause: error },
    );
  }
  if (isMissingDatabase(error)) {
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
