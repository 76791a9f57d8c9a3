/**
 * The writing end of one `COPY … FROM STDIN`: bytes go in as they come (a file's chunks, or the
 * extract's pages as it writes them), their size and SHA-256 are taken on the way, and a COPY
 * the server refuses fails the next write or the end at once instead of hanging
 * (`serverErrorOf`, porsager/postgres#1173).
 *
 * @example
 * ```ts
 * const copy = await CopyWriter.open(tx`copy raw.users (${tx(columns)}) from stdin with (format csv)`);
 * await copy.write(bytes);
 * const { bytes, sha256 } = await copy.end();
 * ```
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { Writable } from "node:stream";
import { errorMessage } from "../shared/errors.ts";
import {
  type CopyQuery,
  onConnectionCutDuringCopy,
  serverErrorOf,
} from "./postgres_workarounds.ts";

/** The COPYs in progress in this process, failed together when postgres.js loses a socket. */
const inProgress = new Set<(error: Error) => void>();
let listening = false;

/** The TypeError postgres.js 3.4.9 throws from connection.js when it writes to a lost socket. */
function isPostgresSocketError(error: unknown): boolean {
  const stack = error instanceof TypeError ? error.stack ?? "" : "";
  return /postgres@?[\d.]*[/\\].*connection\.js/.test(stack);
}

/** Fails every COPY in progress when postgres.js throws from a timer after losing its socket. */
function failCopiesOnConnectionCut(): void {
  if (listening) return;
  listening = true;
  onConnectionCutDuringCopy((error) => {
    // Only postgres.js's own stumble over its lost socket; anything else still crashes.
    if (!isPostgresSocketError(error)) return false;
    const lost = Object.assign(
      new Error(`the connection was lost mid-COPY (postgres.js: ${errorMessage(error)})`),
      { code: "CONNECTION_CLOSED", cause: error },
    );
    for (const fail of inProgress) fail(lost);
    return true;
  });
}

/** What went through a finished COPY. */
export interface CopiedBytes {
  readonly bytes: number;
  readonly sha256: string;
}

/** A COPY in progress, written to chunk by chunk. */
export class CopyWriter {
  readonly #stream: Writable;
  /** The server refused the COPY, or the connection went away. */
  readonly #serverError: Promise<never>;
  readonly #fail: (error: Error) => void;
  readonly #hash = createHash("sha256");
  #bytes = 0;

  private constructor(stream: Writable, serverError: Promise<never>) {
    this.#stream = stream;
    const lost = Promise.withResolvers<never>();
    lost.promise.catch(() => {}); // raced in write and end
    this.#serverError = Promise.race([serverError, lost.promise]);
    this.#serverError.catch(() => {});
    this.#fail = (error) => lost.reject(error);
    inProgress.add(this.#fail);
    // The stream errors when the server refuses the data; the write or end that is waiting
    // reports it (through its callback or the server's error), so an unheard 'error' event must
    // not escape as an uncaught one.
    stream.on("error", () => {});
  }

  /** Starts `query` (a `copy … from stdin`) and waits until the server is ready for data. */
  static async open(query: CopyQuery): Promise<CopyWriter> {
    failCopiesOnConnectionCut();
    const serverError = serverErrorOf(query);
    const stream = await Promise.race([query.writable(), serverError]);
    return new CopyWriter(stream, serverError);
  }

  /** Bytes written so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Sends `chunk`; the caller may reuse its buffer when this returns (the extract recycles its
   * pages' buffers). Waits only when the connection pushes back. Rejects with the server's error
   * when it refused the COPY.
   */
  async write(chunk: Uint8Array): Promise<void> {
    this.#hash.update(chunk);
    this.#bytes += chunk.length;
    // postgres.js copies a chunk into its own message when the stream hands it over, which is at
    // once only when no earlier write is still on its way; otherwise the stream keeps the chunk
    // itself, by reference, until then (and says "go on" below its high-water mark, 64 KB): it
    // gets a copy, or a recycled buffer would reach the server rewritten (or detached, which
    // stalled the COPY for good).
    const owned = this.#stream.writableLength > 0 ? chunk.slice() : chunk;
    if (this.#stream.write(owned)) return;
    const drained = new Promise<void>((resolve) => this.#stream.once("drain", resolve));
    await Promise.race([drained, this.#serverError]);
  }

  /** Ends the data; resolves when the server has taken every row, rejects when it refused one. */
  async end(): Promise<CopiedBytes> {
    const ended = new Promise<void>((resolve) => this.#stream.end(() => resolve()));
    try {
      await Promise.race([ended, this.#serverError]);
    } finally {
      inProgress.delete(this.#fail);
    }
    return { bytes: this.#bytes, sha256: this.#hash.digest("hex") };
  }

  /** Abandons the COPY: the server gets CopyFail and the statement fails (its transaction too). */
  abort(reason: Error): void {
    inProgress.delete(this.#fail);
    this.#stream.destroy(reason);
  }
}
