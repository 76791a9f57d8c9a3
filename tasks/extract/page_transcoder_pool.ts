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
import { BufferPool } from "./buffer_pool.ts";
import { type TranscodedPage, transcodePage, type TranscodeRequest } from "./page_transcoder.ts";

/** A page sent to a worker: its body, the first `length` bytes of a buffer. */
export interface TranscodeJob {
  readonly id: number;
  readonly body: ArrayBuffer;
  readonly length: number;
  readonly request: TranscodeRequest;
}

/**
 * A worker's answer: the page, or the error it threw (a `PageError` is retried by the client),
 * with the buffers it is done with.
 */
export type TranscodeReply =
  & { readonly id: number; readonly returned: readonly ArrayBuffer[] }
  & (
    | { readonly page: TranscodedPage }
    | { readonly error: { readonly name: string; readonly message: string } }
  );

interface Pending {
  readonly job: TranscodeJob;
  readonly resolve: (page: TranscodedPage) => void;
  readonly reject: (error: Error) => void;
}

/**
 * Pages a worker transcodes before a fresh one takes its place. Measured at 1 000 000 users: a
 * worker's heap grew from 16 to 47 MB over 200 pages without a full collection; replaced every
 * 40 pages it stays near 20 MB, at the cost of one worker start (~50 ms) per 200 000 users.
 */
const PAGES_PER_WORKER = 40;

/** Transcodes pages on worker threads (or on this one when the pool has none). */
export class PageTranscoderPool implements Disposable {
  readonly size: number;
  /**
   * The buffers of the pages in flight: bodies are read into them, the CSV is written over the
   * body, and the buffer comes back once used (give a page's CSV buffer back after writing it).
   */
  readonly buffers: BufferPool;
  readonly #idle: Worker[] = [];
  readonly #busy = new Map<Worker, Pending>();
  /** Pages each worker has transcoded: it is replaced after {@linkcode PAGES_PER_WORKER}. */
  readonly #pages = new Map<Worker, number>();
  readonly #queue: Pending[] = [];
  #nextId = 1;
  #closed = false;

  private constructor(size: number, keep: number) {
    this.size = size;
    this.buffers = new BufferPool({ keep });
    for (let i = 0; i < size; i++) this.#idle.push(this.#spawn());
  }

  #spawn(): Worker {
    const worker = new Worker(new URL("./page_worker.ts", import.meta.url).href, {
      type: "module",
    });
    worker.onmessage = (event: MessageEvent<TranscodeReply>) => this.#settle(worker, event.data);
    worker.onerror = (event) => {
      event.preventDefault();
      this.#fail(worker, new Error(`an extract worker crashed: ${event.message}`));
    };
    this.#pages.set(worker, 0);
    return worker;
  }

  /**
   * Workers for this machine: one per core the process may use, or none on a single core, where
   * handing pages to another thread would only add copies and a second heap.
   */
  static defaultSize(): number {
    const cores = navigator.hardwareConcurrency ?? 1;
    return cores > 1 ? Math.min(cores, 8) : 0;
  }

  /**
   * A pool of `size` workers (0: transcode on the calling thread), keeping up to `buffers` free
   * page buffers for reuse (enough for the pages in flight: about twice the requests in flight).
   */
  static create(size: number, options: { buffers: number } = { buffers: 8 }): PageTranscoderPool {
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`bad pool size ${size}`);
    return new PageTranscoderPool(size, options.buffers);
  }

  /**
   * Transcodes `body`, a view from the start of a buffer the pool may take back (one from
   * {@linkcode buffers}, or one of its own): do not use it afterwards.
   */
  transcode(body: Uint8Array, request: TranscodeRequest): Promise<TranscodedPage> {
    if (this.#closed) return Promise.reject(new Error("the transcoder pool is closed"));
    const own = body.byteOffset === 0 ? body as Uint8Array<ArrayBuffer> : body.slice();
    const buffer = own.buffer;
    if (this.size === 0) {
      return transcodePage(own, request).then(
        (page) => {
          if (page.csv.buffer !== buffer) this.buffers.give(buffer);
          return page;
        },
        (error) => {
          this.buffers.give(buffer);
          throw error;
        },
      );
    }
    return new Promise((resolve, reject) => {
      const job = { id: this.#nextId++, body: buffer, length: body.length, request };
      this.#queue.push({ job, resolve, reject });
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
    this.#pages.clear();
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
    const pages = (this.#pages.get(worker) ?? 0) + 1;
    if (pages < PAGES_PER_WORKER) {
      this.#pages.set(worker, pages);
      this.#idle.push(worker);
    } else {
      // A worker's heap keeps what pages left behind until a full collection, which an isolate
      // with room to grow puts off: a fresh one bounds it (issue 18, see the constant).
      this.#pages.delete(worker);
      worker.terminate();
      this.#idle.push(this.#spawn());
    }
    for (const buffer of reply.returned) this.buffers.give(buffer);
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
