/**
 * The file source of a load: a landing file streamed into the load's COPY in 1 MB chunks, the
 * next read while the last is on its way to the server.
 *
 * @example
 * ```ts
 * const copied = await copyFileInto(target.copy, files.csv); // { bytes, sha256 }
 * ```
 *
 * @module
 */
import type { CopiedBytes, CopyWriter } from "./copy_writer.ts";

const COPY_CHUNK_BYTES = 1 << 20;

/** Streams `file` into `copy` in 1 MB chunks and ends it. */
export async function copyFileInto(copy: CopyWriter, file: string): Promise<CopiedBytes> {
  using handle = await Deno.open(file, { read: true });
  // The next chunk is read while the last one is on its way to the server.
  let next = readChunk(handle);
  try {
    for (;;) {
      const chunk = await next;
      if (chunk === undefined) break;
      next = readChunk(handle);
      await copy.write(chunk);
    }
  } catch (error) {
    // The read ahead ends with the file, closed on the way out: its failure is not news.
    next.catch(() => {});
    copy.abort(error instanceof Error ? error : new Error(String(error)));
    throw error;
  }
  return await copy.end();
}

/** Up to 1 MB of `file` (one read syscall per MB, not per 64 KB); `undefined` at its end. */
async function readChunk(file: Deno.FsFile): Promise<Uint8Array | undefined> {
  const chunk = new Uint8Array(COPY_CHUNK_BYTES);
  let filled = 0;
  while (filled < chunk.length) {
    const read = await file.read(chunk.subarray(filled));
    if (read === null) break;
    filled += read;
  }
  return filled === 0 ? undefined : chunk.subarray(0, filled);
}

/** Whether `path` does not exist (a parent that is not a directory is for the kind checks). */
export async function isMissing(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => false, (error) => {
    if (error instanceof Deno.errors.NotFound) return true;
    if (error instanceof Deno.errors.NotADirectory) return false;
    throw error;
  });
}
