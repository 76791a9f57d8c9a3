/**
 * Writes a whole buffer to a writer that may write less than asked for per call (a file, a pipe,
 * stdout): the one write loop of the project.
 *
 * @module
 */

/** Something with a Deno-style `write` that returns the bytes it wrote. */
export interface Writer {
  write(bytes: Uint8Array): Promise<number>;
}

/** Writes every byte of `bytes` to `writer`. */
export async function writeAll(writer: Writer, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await writer.write(bytes.subarray(offset));
}
