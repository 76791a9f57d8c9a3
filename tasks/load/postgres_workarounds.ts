/**
 * The two workarounds the load needs for postgres.js 3.4.9 (pinned in deno.json), in one place.
 * Both fail loudly rather than silently when an upgrade changes what they rely on; revisit them
 * when upgrading postgres.js.
 *
 * 1. {@linkcode serverErrorOf}: when the server rejects COPY data after the last chunk was sent,
 *    the query's writable never settles and the transaction never rolls back
 *    (porsager/postgres#1173, open in 3.4.9). The server's error still reaches the query's
 *    internal `reject`, so we listen there.
 * 2. {@linkcode onConnectionCutDuringCopy}: when the server cuts the connection mid-COPY,
 *    postgres.js can throw from a timer after its socket is gone (connection.js `nextWrite`)
 *    instead of rejecting our query, which then never settles; it surfaces as an uncaught error
 *    event, and `CopyWriter` turns it into the failure of the COPY in progress.
 *
 * @module
 */
import { TerminalError } from "../shared/errors.ts";
import type { Sql } from "../warehouse/sql_client.ts";

/** A COPY query as `sql\`copy … from stdin\`` returns it. */
export type CopyQuery = ReturnType<Sql["unsafe"]>;

/**
 * A promise that rejects with the server's error for `query` (and never resolves): race it
 * against the copy so a refused COPY fails at once instead of hanging (porsager/postgres#1173).
 */
export function serverErrorOf(query: CopyQuery): Promise<never> {
  const internals = query as unknown as { reject?: (error: unknown) => void };
  const originalReject = internals.reject;
  if (typeof originalReject !== "function") {
    throw new TerminalError(
      "postgres.js internals changed: the COPY error guard needs Query.reject; keep postgres " +
        "pinned at 3.4.9 or revisit tasks/load/postgres_workarounds.ts",
    );
  }
  const serverError = new Promise<never>((_, reject) => {
    internals.reject = (error) => {
      reject(error);
      originalReject(error);
    };
  });
  serverError.catch(() => {}); // the caller races it; this only prevents an unhandled rejection
  return serverError;
}

/**
 * Calls `handle` with the error postgres.js throws from a timer when the server cut the
 * connection mid-COPY (connection.js `nextWrite`), instead of letting it crash the process
 * with a stack trace; `handle` returns false for an error it does not own (while no COPY is in
 * progress), which then crashes the process as any uncaught error does.
 */
export function onConnectionCutDuringCopy(handle: (error: unknown) => boolean): void {
  addEventListener("error", (event) => {
    if (handle(event.error)) event.preventDefault();
  });
}
