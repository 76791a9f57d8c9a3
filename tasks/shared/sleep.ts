/**
 * Waiting: the one `sleep` of the project. Like Deno std's `delay`, it rejects with the signal's
 * reason when the signal aborts, so a caller cannot mistake "interrupted" for "waited".
 *
 * @example
 * ```ts
 * await sleep(500, signal); // throws signal.reason if aborted first
 * ```
 *
 * @module
 */

/** Resolves after `ms`; rejects with `signal.reason` as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
