/**
 * The extract's worker: transcodes one page at a time (`page_transcoder.ts`) for
 * {@linkcode PageTranscoderPool}, taking the body by transfer and handing the CSV and the rest
 * back the same way, so no page is copied between threads.
 *
 * @module
 */
import { transcodePage } from "./page_transcoder.ts";
import type { TranscodeJob, TranscodeReply } from "./page_transcoder_pool.ts";

/** The parts of a worker's global scope this file uses. */
interface WorkerScope {
  onmessage: ((event: MessageEvent<TranscodeJob>) => void) | null;
  postMessage(message: TranscodeReply, transfer: Transferable[]): void;
}

const scope = globalThis as unknown as WorkerScope;

scope.onmessage = ({ data: job }) => {
  try {
    const page = transcodePage(new Uint8Array(job.body), job.request);
    scope.postMessage({ id: job.id, page }, [
      page.csv.buffer,
      page.rowEnds.buffer,
      page.uuids.buffer,
      page.rejects.buffer,
    ]);
  } catch (error) {
    const { name, message } = error instanceof Error ? error : new Error(String(error));
    scope.postMessage({ id: job.id, error: { name, message } }, []);
  }
};
