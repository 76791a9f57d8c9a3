/**
 * Error classes that tell a retry apart from a stop: a {@linkcode TransientError} may heal on
 * its own (timeouts, 429, 5xx, a dropped connection), a {@linkcode TerminalError} will not
 * (bad configuration, a schema mismatch, invalid data past the threshold).
 *
 * @module
 */

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

/** The text of any thrown value, for messages and logs. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** A `.catch` handler for removals and reads where "it is not there" is fine; rethrows the rest. */
export function ignoreNotFound(error: unknown): void {
  if (!(error instanceof Deno.errors.NotFound)) throw error;
}
