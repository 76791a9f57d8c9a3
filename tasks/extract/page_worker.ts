/**
 * The extract's worker: transcodes one page at a time (`page_transcoder.ts`) for
 * {@linkcode PageTranscoderPool}, taking the body by transfer and handing the CSV — written over
 * the body's own buffer — and the rest back the same way, so no page is copied between threads
 * and the buffer is reused.
 *
 * @module
 */
import { transcodePage } from "./page_transcoder.ts";
import type { TranscodeJob, TranscodeReply } from "./page_transcoder_pool.ts";

/** The parts of a worker's global scope this file uses. */
interface WorkerScope {
  onmessage: ((event: MessageEvent<TranscodeJob>) => void) | null;
  postMessage(message: TranscodeReply, transfer: ArrayBuffer[]): void;
}

const scope = globalThis as unknown as WorkerScope;

scope.onmessage = async ({ data: job }) => {
  try {
    const page = await transcodePage(new Uint8Array(job.body, 0, job.length), job.request);
    // The CSV is written over the body: its buffer goes back with it, or apart when it moved.
    const apart = page.csv.buffer === job.body ? [] : [job.body];
    scope.postMessage({ id: job.id, page, returned: apart }, [
      page.csv.buffer,
      page.rowEnds.buffer,
      page.uuids.buffer,
      page.rejects.buffer,
      ...apart,
    ]);
  } catch (error) {
    const { name, message } = error instanceof Error ? error : new Error(String(error));
    scope.postMessage({ id: job.id, error: { name, message }, returned: [job.body] }, [job.body]);
  }
};
