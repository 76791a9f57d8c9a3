/**
 * How a failure ends a process — the one exit-code table of every task and command: `0` ok,
 * `1` transient (a retry may heal it: network, timeout, 5xx after the client's own retries, a
 * dropped connection, a lock timeout), `2` usage (a bad flag or configuration), `3` terminal
 * (retrying cannot help: a contract violation, a header or manifest mismatch, the reject
 * threshold, a refused login, a path of the wrong kind, a value the warehouse refuses). The
 * pipeline runner retries exit 1 only.
 *
 * @example
 * ```ts
 * try { await main(); } catch (error) { Deno.exit(exitCodeFor(error)); }
 * ```
 *
 * @module
 */

/** The exit codes, by what they mean. */
export const ExitCode = { ok: 0, transient: 1, usage: 2, terminal: 3 } as const;

/** What kind of failure ended a process or a try. */
export type FailureClass = "transient" | "usage" | "terminal";

/** A failure that retrying later may fix. */
export class TransientError extends Error {
  override name = "TransientError";
}

/** A failure that retrying will not fix: the input, the configuration or the schema is wrong. */
export class TerminalError extends Error {
  override name = "TerminalError";
}

/** Bad command-line arguments or configuration: the process exits with code 2. */
export class UsageError extends TerminalError {
  override name = "UsageError";
}

// SQLSTATE classes that may heal on a retry: connection exception, transaction rollback
// (serialization, deadlock), insufficient resources, operator intervention (shutdown, cancel).
const TRANSIENT_SQLSTATE = /^(08|40|53|57)/;

/**
 * The class of a thrown value. Our own classes say it; a PostgreSQL error (postgres.js
 * `PostgresError`, told by its name and SQLSTATE `code`) is transient for the SQLSTATE classes
 * above and terminal otherwise (data, integrity, schema, authentication); anything else — a
 * network error, a bug — is transient, so it gets the runner's retries.
 */
export function failureClassOf(error: unknown): FailureClass {
  if (error instanceof UsageError) return "usage";
  if (error instanceof TerminalError) return "terminal";
  if (error instanceof TransientError) return "transient";
  const sqlstate = postgresErrorCode(error);
  if (sqlstate !== undefined) return TRANSIENT_SQLSTATE.test(sqlstate) ? "transient" : "terminal";
  return "transient";
}

/** True when `error` is a PostgreSQL error whose SQLSTATE class may heal on a retry. */
export function isTransientPostgresError(error: unknown): boolean {
  const sqlstate = postgresErrorCode(error);
  return sqlstate !== undefined && TRANSIENT_SQLSTATE.test(sqlstate);
}

const CONNECTION_LOSS = new Set([
  "EPIPE",
  "ECONNRESET",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "57P01", // admin_shutdown: pg_terminate_backend, or the server stopping
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now
]);

/** Whether `error` says the connection itself went away (rather than the data being wrong). */
export function isConnectionLoss(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" && CONNECTION_LOSS.has(code);
}

/** The exit code for a thrown value (see {@linkcode failureClassOf}). */
export function exitCodeFor(error: unknown): number {
  return ExitCode[failureClassOf(error)];
}

/**
 * The class of a finished process by its exit code: 2 usage, 3 terminal; 1 and anything else
 * (a crash, a signal) transient.
 */
export function failureClassOfExit(code: number | null): FailureClass {
  if (code === ExitCode.usage) return "usage";
  if (code === ExitCode.terminal) return "terminal";
  return "transient";
}

/** The text of any thrown value, for messages and logs. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** A `.catch` handler for removals and reads where "it is not there" is fine; rethrows the rest. */
export function ignoreNotFound(error: unknown): void {
  if (!(error instanceof Deno.errors.NotFound)) throw error;
}

function postgresErrorCode(error: unknown): string | undefined {
  if (!(error instanceof Error) || error.name !== "PostgresError") return undefined;
  const code = (error as Error & { code?: unknown }).code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}
