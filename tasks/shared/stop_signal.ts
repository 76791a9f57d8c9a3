/**
 * How every entry point stops on SIGINT or SIGTERM, in two stages: the first signal aborts the
 * returned `AbortSignal` so the work winds down (requests cancelled, temporary files removed, a
 * try recorded); a second one, while that is under way, exits at once with exit code 1
 * (transient: nothing finished, a retry may run it again — the table is in `errors.ts`).
 *
 * @example
 * ```ts
 * using stop = listenForStop({ reason: () => new Error("interrupted; nothing was written") });
 * await work({ signal: stop.signal });
 * ```
 *
 * @module
 */
import { ExitCode } from "./errors.ts";

const SIGNALS = ["SIGINT", "SIGTERM"] as const;

/** A stop signal, the first of SIGINT and SIGTERM to arrive. */
export type StopSignalName = typeof SIGNALS[number];

/** Options of {@linkcode listenForStop}. */
export interface StopOptions {
  /** The abort reason of the first signal (default: an Error naming the signal). */
  reason?: (signal: StopSignalName) => Error;
  /** Called once, on the first signal, before the abort (a log line, say). */
  onStop?: (signal: StopSignalName) => void;
}

/** The listener of {@linkcode listenForStop}; disposing it removes the signal handlers. */
export interface StopListener extends Disposable {
  /** Aborted by the first SIGINT or SIGTERM. */
  readonly signal: AbortSignal;
  /** Resolves on the first SIGINT or SIGTERM. */
  readonly stopped: Promise<StopSignalName>;
}

/**
 * Listens for SIGINT and SIGTERM: the first aborts {@linkcode StopListener.signal}, a second
 * exits the process at once with {@linkcode ExitCode.transient}.
 */
export function listenForStop(options: StopOptions = {}): StopListener {
  const controller = new AbortController();
  let resolveStopped!: (signal: StopSignalName) => void;
  const stopped = new Promise<StopSignalName>((resolve) => resolveStopped = resolve);
  const handlers = SIGNALS.map((name) => {
    const handler = () => {
      if (controller.signal.aborted) {
        console.error(`error: a second ${name}: stopping at once`);
        Deno.exit(ExitCode.transient);
      }
      options.onStop?.(name);
      controller.abort(options.reason?.(name) ?? new Error(`stopped by ${name}`));
      resolveStopped(name);
    };
    Deno.addSignalListener(name, handler);
    return [name, handler] as const;
  });
  return {
    signal: controller.signal,
    stopped,
    [Symbol.dispose]() {
      for (const [name, handler] of handlers) Deno.removeSignalListener(name, handler);
    },
  };
}
