/**
 * The load stage's errors, classified once: PostgreSQL's SQLSTATEs the load tells apart are named
 * here (the classes every stage shares — transient, terminal, a lost connection — are in
 * `shared/errors.ts`), and a failure becomes a message that names the file, says that
 * `raw.users` is unchanged and what to do.
 *
 * @example
 * ```ts
 * try { … } catch (error) { throw describeLoadError(error, files.csv); }
 * ```
 *
 * @module
 */
import postgres from "postgres";
import {
  errorMessage,
  isConnectionLoss,
  isTransientPostgresError,
  TerminalError,
  TransientError,
} from "../shared/errors.ts";

/** SQLSTATEs the load tells apart. */
const SQLSTATE = {
  /** A direct COPY met an id already in raw.users (another ds has the user): stage and merge. */
  uniqueViolation: "23505",
} as const;

/** Whether `error` is the unique violation a direct COPY meets when an id already exists. */
export function isExistingRow(error: unknown): boolean {
  return (error as { code?: unknown }).code === SQLSTATE.uniqueViolation;
}

/** Turns a load failure into a message that names the file, says that nothing changed and what to do. */
export function describeLoadError(error: unknown, file: string): Error {
  if (error instanceof TerminalError || error instanceof TransientError) return error;
  if (isConnectionLoss(error)) {
    // Which words arrive depends on a race (the server's FATAL, the socket's EPIPE, postgres.js's
    // CONNECTION_CLOSED): one message for all of them.
    return new TransientError(
      `loading ${file} into raw.users failed: the warehouse connection broke ` +
        `(${errorMessage(error)}); raw.users is unchanged. Retrying may succeed.`,
      { cause: error },
    );
  }
  const pg = error instanceof postgres.PostgresError ? error : undefined;
  const message = `loading ${file} into raw.users failed: ${errorMessage(error)}` +
    `${pg?.where ? ` (${pg.where})` : ""}; raw.users is unchanged`;
  if (pg && !isTransientPostgresError(pg)) {
    // Data (22), integrity (23), schema (42) … errors: the file or the table is wrong.
    return new TerminalError(
      `${message}. Re-run \`deno task extract\` for this ds to rewrite the file, or ` +
        "`deno task migrate` if the table is behind.",
      { cause: error },
    );
  }
  return new TransientError(`${message}. Retrying may succeed.`, { cause: error });
}
