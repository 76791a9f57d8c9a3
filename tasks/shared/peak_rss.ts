/**
 * The process's peak resident memory, for the summaries of the extract and the benchmarks.
 *
 * @module
 */

/** The peak resident memory of this process in MB (Linux `VmHWM`); `undefined` elsewhere. */
export function peakRssMb(): number | undefined {
  try {
    const kb = /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync("/proc/self/status"))?.[1];
    return kb === undefined ? undefined : Math.round(Number(kb) / 1024);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}
