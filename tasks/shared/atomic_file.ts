/**
 * A file written under a temporary name in its final directory and renamed into place only when
 * complete, after an fsync of the file and then of the directory: a reader never sees half a
 * file, and a crash leaves the previous version. Temporaries left by dead writers are removed.
 *
 * @example
 * ```ts
 * const file = await AtomicFile.create("data/raw/ds=2026-01-01/random_user.csv");
 * await bytes.pipeTo(file.writable);
 * await file.commit();
 * ```
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import { ignoreNotFound } from "./errors.ts";
import { exists } from "./exists.ts";
import { writeAll } from "./write_all.ts";

/** How old a leftover temporary file must be before {@linkcode AtomicFile.create} removes it. */
const STALE_TEMP_MS = 60 * 60 * 1000;

/**
 * A file written under a temporary name in its final directory and renamed into place by
 * {@linkcode AtomicFile.commit} after an fsync; {@linkcode AtomicFile.abort} removes it.
 */
export class AtomicFile {
  readonly path: string;
  readonly tempPath: string;
  readonly #file: Deno.FsFile;
  #bytes = 0;
  #settled = false;

  private constructor(path: string, tempPath: string, file: Deno.FsFile) {
    this.path = path;
    this.tempPath = tempPath;
    this.#file = file;
  }

  /** Creates the directory if needed, removes stale temporaries of `path`, opens a new one. */
  static async create(path: string): Promise<AtomicFile> {
    await Deno.mkdir(dirname(path), { recursive: true });
    await removeStaleTemporaries(path);
    const tempPath = `${path}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
    const file = await Deno.open(tempPath, { write: true, createNew: true });
    return new AtomicFile(path, tempPath, file);
  }

  /** Bytes written so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** A sink for the content; it does not close the file (call commit or abort). */
  get writable(): WritableStream<Uint8Array> {
    return new WritableStream({
      write: async (chunk) => {
        await writeAll(this.#file, chunk);
        this.#bytes += chunk.length;
      },
    });
  }

  /** Flushes to disk and renames the file to its final name; on failure removes the temporary. */
  async commit(): Promise<void> {
    this.#settle();
    try {
      try {
        await this.#file.sync();
      } finally {
        this.#file.close();
      }
      await Deno.rename(this.tempPath, this.path);
    } catch (error) {
      await Deno.remove(this.tempPath).catch(ignoreNotFound);
      throw error;
    }
    await syncDirectory(dirname(this.path));
  }

  /** Closes and deletes the temporary file; the final name keeps whatever it had before. */
  async abort(): Promise<void> {
    if (this.#settled) return;
    this.#settle();
    this.#file.close();
    await Deno.remove(this.tempPath).catch(ignoreNotFound);
  }

  #settle(): void {
    if (this.#settled) throw new Error(`${this.path} was already committed or aborted`);
    this.#settled = true;
  }
}

/**
 * Removes temporaries of `path` left by a process that died (kill -9, power loss): on Linux when
 * the pid in the name is no longer running, elsewhere when untouched for an hour.
 */
async function removeStaleTemporaries(path: string): Promise<void> {
  const prefix = `${basename(path)}.tmp-`;
  for await (const entry of Deno.readDir(dirname(path))) {
    if (!entry.isFile || !entry.name.startsWith(prefix)) continue;
    const full = join(dirname(path), entry.name);
    const pid = Number(entry.name.slice(prefix.length).split("-")[0]);
    const ownerGone = Deno.build.os === "linux" && pid !== Deno.pid &&
      !(await exists(`/proc/${pid}`));
    const stat = await Deno.stat(full).catch((error) => {
      ignoreNotFound(error);
      return null;
    });
    const old = stat?.mtime ? Date.now() - stat.mtime.getTime() > STALE_TEMP_MS : false;
    if (ownerGone || old) await Deno.remove(full).catch(ignoreNotFound);
  }
}

/** Makes a rename durable. Windows cannot open a directory; there NTFS journals the rename. */
async function syncDirectory(path: string): Promise<void> {
  if (Deno.build.os === "windows") return;
  using dir = await Deno.open(path, { read: true });
  await dir.sync();
}
