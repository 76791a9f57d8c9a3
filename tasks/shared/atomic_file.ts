/**
 * A file written under a temporary name in its final directory and renamed into place only when
 * complete, after an fsync of the file and then of the directory: a reader never sees half a
 * file, and a crash leaves the previous version. Temporaries left by dead writers are removed.
 * Several files are published together by preparing (fsyncing) all of them before committing
 * (renaming) any, so a full disk or a failed write leaves every previous version in place.
 *
 * @example
 * ```ts
 * const file = await AtomicFile.create("data/raw/ds=2026-01-01/random_user.csv", {
 *   sha256: true,
 * });
 * await bytes.pipeTo(file.writable);
 * await file.commit();
 * console.log(file.bytes, file.sha256);
 * ```
 *
 * @module
 */
import { createHash, type Hash } from "node:crypto";
import { basename, dirname, join } from "node:path";
import { ignoreNotFound } from "./errors.ts";
import { exists } from "./exists.ts";
import { writeAll } from "./write_all.ts";

/** How old a leftover temporary file must be before {@linkcode AtomicFile.create} removes it. */
const STALE_TEMP_MS = 60 * 60 * 1000;

/** Options for {@linkcode AtomicFile.create}. */
export interface AtomicFileOptions {
  /** Compute the SHA-256 of the content as it is written ({@linkcode AtomicFile.sha256}). */
  sha256?: boolean;
}

/**
 * A file written under a temporary name in its final directory and renamed into place by
 * {@linkcode AtomicFile.commit} after an fsync; {@linkcode AtomicFile.abort} removes it.
 */
export class AtomicFile {
  readonly path: string;
  readonly tempPath: string;
  readonly #file: Deno.FsFile;
  readonly #hash: Hash | undefined;
  #sha256: string | undefined;
  #bytes = 0;
  #state: "writing" | "prepared" | "settled" = "writing";

  private constructor(path: string, tempPath: string, file: Deno.FsFile, hash?: Hash) {
    this.path = path;
    this.tempPath = tempPath;
    this.#file = file;
    this.#hash = hash;
  }

  /** Creates the directory if needed, removes stale temporaries of `path`, opens a new one. */
  static async create(path: string, options: AtomicFileOptions = {}): Promise<AtomicFile> {
    await Deno.mkdir(dirname(path), { recursive: true });
    await removeStaleTemporaries(path);
    const tempPath = `${path}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
    const file = await Deno.open(tempPath, { write: true, createNew: true });
    return new AtomicFile(path, tempPath, file, options.sha256 ? createHash("sha256") : undefined);
  }

  /** Bytes written so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The SHA-256 (hex) of the content, once prepared; `undefined` unless asked for at create. */
  get sha256(): string | undefined {
    return this.#sha256;
  }

  /** A sink for the content; it does not close the file (call commit or abort). */
  get writable(): WritableStream<Uint8Array> {
    return new WritableStream({ write: (chunk) => this.write(chunk) });
  }

  /** Appends `chunk` to the content. */
  async write(chunk: Uint8Array): Promise<void> {
    if (this.#state !== "writing") throw new Error(`${this.path} is no longer open for writing`);
    await writeAll(this.#file, chunk);
    this.#hash?.update(chunk);
    this.#bytes += chunk.length;
  }

  /**
   * Flushes the content to disk and closes the temporary, without publishing it yet: prepare every
   * file of a set before committing any. On failure the temporary is removed.
   */
  async prepare(): Promise<void> {
    if (this.#state === "prepared") return;
    if (this.#state === "settled") throw new Error(`${this.path} was already committed or aborted`);
    this.#state = "prepared";
    try {
      try {
        await this.#file.sync();
      } finally {
        this.#file.close();
      }
    } catch (error) {
      this.#state = "settled";
      await Deno.remove(this.tempPath).catch(ignoreNotFound);
      throw error;
    }
    this.#sha256 = this.#hash?.digest("hex");
  }

  /** Flushes to disk and renames the file to its final name; on failure removes the temporary. */
  async commit(): Promise<void> {
    await this.prepare();
    this.#state = "settled";
    try {
      await Deno.rename(this.tempPath, this.path);
    } catch (error) {
      await Deno.remove(this.tempPath).catch(ignoreNotFound);
      throw error;
    }
    await syncDirectory(dirname(this.path));
  }

  /** Closes and deletes the temporary file; the final name keeps whatever it had before. */
  async abort(): Promise<void> {
    if (this.#state === "settled") return;
    if (this.#state === "writing") this.#file.close();
    this.#state = "settled";
    await Deno.remove(this.tempPath).catch(ignoreNotFound);
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
