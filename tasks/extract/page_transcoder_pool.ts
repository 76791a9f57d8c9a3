/**
 * A small pool of workers that transcode API pages (`page_worker.ts`), one page per worker at a
 * time, so the extract uses every core while the main thread downloads and writes. With no
 * workers (one core) the pages are transcoded on the main thread instead.
 *
 * @example
 * ```ts
 * using pool = PageTranscoderPool.create(PageTranscoderPool.defaultSize());
 * const page = await pool.transcode(body, { ds, seed, page: 1, results: 5000 });
 * ```
 *
 * @module
 */
import { PageError } from "./api_page.ts";
import { type TranscodedPage, transcodePage, type TranscodeRequest } from "./page_transcoder.ts";

/** A page sent to a worker; its body buffer is transferred. */
export interface TranscodeJob {
  readonly id: number;
  readonly body: ArrayBuffer;
  readonly request: TranscodeRequest;
}

/** A worker's answer: the page, or the error it threw (a `PageError` is retried by the client). */
export type TranscodeReply =
  | { readonly id: number; readonly page: TranscodedPage }
  | { readonly id: number; readonly error: { readonly name: string; readonly message: string } };

interface Pending {
  readonly job: TranscodeJob;
  readonly resolve: (page: TranscodedPage) => void;
  readonly reject: (error: Error) => void;
}

/** Transcodes pages on worker threads (or on this one when the pool has none). */
export class PageTranscoderPool implements Disposable {
  readonly size: number;
  readonly #idle: Worker[] = [];
  readonly #busy = new Map<Worker, Pending>();
  readonly #queue: Pending[] = [];
  #nextId = 1;
  #closed = false;

  private constructor(size: number) {
    this.size = size;
    for (let i = 0; i < size; i++) {
      const worker = new Worker(new URL("./page_worker.ts", import.meta.url).href, {
        type: "module",
      });
      worker.onmessage = (event: MessageEvent<TranscodeReply>) => this.#settle(worker, event.data);
      worker.onerror = (event) => {
        event.preventDefault();
        this.#fail(worker, new Error(`an extract worker crashed: ${event.message}`));
      };
      this.#idle.push(worker);
    }
  }

  /**
   * Workers for this machine: one per core the process may use, or none on a single core, where
   * handing pages to another thread would only add copies and a second heap.
   */
  static defaultSize(): number {
    const cores = navigator.hardwareConcurrency ?? 1;
    return cores > 1 ? Math.min(cores, 8) : 0;
  }

  /** A pool of `size` workers (0: transcode on the calling thread). */
  static create(size: number): PageTranscoderPool {
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`bad pool size ${size}`);
    return new PageTranscoderPool(size);
  }

  /** Transcodes `body` (whose buffer is handed over: do not use it afterwards). */
  transcode(body: Uint8Array, request: TranscodeRequest): Promise<TranscodedPage> {
    if (this.#closed) return Promise.reject(new Error("the transcoder pool is closed"));
    if (this.size === 0) return Promise.resolve().then(() => transcodePage(body, request));
    // A view of part of a buffer is copied: transferring would hand over the rest too.
    const whole = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength
      ? body.buffer as ArrayBuffer
      : body.slice().buffer;
    return new Promise((resolve, reject) => {
      this.#queue.push({ job: { id: this.#nextId++, body: whole, request }, resolve, reject });
      this.#dispatch();
    });
  }

  /** Stops the workers; pages still waiting fail. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const error = new Error("the transcoder pool was closed");
    for (const pending of this.#queue.splice(0)) pending.reject(error);
    for (const [worker, pending] of this.#busy) {
      pending.reject(error);
      worker.terminate();
    }
    this.#busy.clear();
    for (const worker of this.#idle.splice(0)) worker.terminate();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #dispatch(): void {
    while (this.#idle.length > 0 && this.#queue.length > 0) {
      const worker = this.#idle.pop()!;
      const pending = this.#queue.shift()!;
      this.#busy.set(worker, pending);
      worker.postMessage(pending.job, [pending.job.body]);
    }
  }

  #settle(worker: Worker, reply: TranscodeReply): void {
    const pending = this.#busy.get(worker);
    if (!pending || pending.job.id !== reply.id) return;
    this.#busy.delete(worker);
    this.#idle.push(worker);
    if ("page" in reply) pending.resolve(reply.page);
    else {
      const { name, message } = reply.error;
      pending.reject(name === "PageError" ? new PageError(message) : new Error(message));
    }
    this.#dispatch();
  }

  #fail(worker: Worker, error: Error): void {
    this.#busy.get(worker)?.reject(error);
    this.#busy.delete(worker);
    worker.terminate();
    this.close();
  }
}
