/**
 * Whether a path exists — optionally as a file or a directory — without racing a separate stat
 * against an open, for the checks where "is it there?" is the question.
 *
 * @module
 */

/** Options for {@linkcode exists}. */
export interface ExistsOptions {
  /** Only a regular file counts. */
  isFile?: boolean;
  /** Only a directory counts. */
  isDirectory?: boolean;
}

/** True when `path` exists (and is of the kind asked for); other errors than NotFound throw. */
export async function exists(path: string, options: ExistsOptions = {}): Promise<boolean> {
  try {
    const info = await Deno.stat(path);
    if (options.isFile && !info.isFile) return false;
    if (options.isDirectory && !info.isDirectory) return false;
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
