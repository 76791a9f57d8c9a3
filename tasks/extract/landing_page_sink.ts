/**
 * The writing end of the extract: {@linkcode LandingPageSink} takes transcoded pages in page
 * order and writes the CSV (header first) and the reject lines, drops a user whose uuid came
 * earlier in the run (any case) with a warning, logs each unknown field once per run, and keeps
 * the counts and the pages' provenance for the manifest. The CSV bytes can go to a second sink at
 * the same time (the warehouse's COPY, for the streamed `extract --load`).
 *
 * @example
 * ```ts
 * const sink = new LandingPageSink({ ds, csv, rejects, columns: USER_COLUMNS, logger });
 * await client.pages(options, transcode).pipeTo(sink);
 * console.log(sink.stats.users, sink.stats.duplicates);
 * ```
 *
 * @module
 */
import type { Logger } from "../shared/logger.ts";
import { csvLine } from "./csv_text.ts";
import type { TranscodedPage } from "./page_transcoder.ts";
import { UuidSet, uuidText } from "./uuid_set.ts";

/** Where bytes go: a file being written, or the warehouse's COPY. */
export interface ByteSink {
  write(bytes: Uint8Array): Promise<void>;
}

/** Options for {@linkcode LandingPageSink}. */
export interface LandingPageSinkOptions {
  /** The logical date (for log lines). */
  ds: string;
  /** The CSV file; its header is written first. */
  csv: ByteSink;
  /** A second destination of the same CSV bytes (header included), written alongside. */
  copy?: ByteSink;
  /** `rejects.jsonl`. */
  rejects: ByteSink;
  /** The CSV header. */
  columns: readonly string[];
  /** Users the run asked for: the uuid set is sized for them once. */
  expectedUsers?: number;
  /** Where a page's CSV buffer goes once written (a pool); default: freed at once. */
  recycle?: (buffer: ArrayBuffer) => void;
  logger?: Logger;
  /** Called after each page, with the counts so far (progress). */
  onPage?: (stats: ExtractStats, page: number) => void;
}

/** Counts of what went where so far. */
export interface ExtractStats {
  /** Rows written to the CSV. */
  readonly users: number;
  /** Records written to the rejects instead. */
  readonly rejects: number;
  /** Valid records dropped because their uuid came earlier in the run. */
  readonly duplicates: number;
  readonly pages: number;
  /** Response bytes of the pages. */
  readonly apiBytes: number;
}

/** Where a run's records came from: one entry per API page, in order. */
export interface PageSource {
  readonly page: number;
  /** Records on the page. */
  readonly users: number;
  readonly bytes: number;
}

/** Writes transcoded pages, in the order they arrive, to the landing files. */
export class LandingPageSink extends WritableStream<TranscodedPage> {
  readonly #stats: { -readonly [K in keyof ExtractStats]: ExtractStats[K] };
  readonly #sources: PageSource[];

  constructor(options: LandingPageSinkOptions) {
    const stats = { users: 0, rejects: 0, duplicates: 0, pages: 0, apiBytes: 0 };
    const sources: PageSource[] = [];
    const seen = new UuidSet(options.expectedUsers);
    const drift = new Set<string>();
    const write = (bytes: Uint8Array) =>
      options.copy
        ? Promise.all([options.csv.write(bytes), options.copy.write(bytes)]).then(() => {})
        : options.csv.write(bytes);
    super({
      start: () => write(new TextEncoder().encode(csvLine(options.columns))),
      write: async (page) => {
        for (const field of page.drift) {
          if (drift.has(field)) continue;
          drift.add(field);
          options.logger?.warn(
            "the API sent a field the data contract does not have; it is ignored",
            { ds: options.ds, page: page.page, field },
          );
        }
        const rows = page.rowEnds.length;
        const repeated: number[] = [];
        for (let row = 0; row < rows; row++) {
          if (!seen.addWords(page.uuids, row * 4)) repeated.push(row);
        }
        const csv = repeated.length === 0 ? page.csv : withoutRows(page, repeated);
        if (repeated.length > 0) {
          options.logger?.warn(
            "the API repeated users of this run (same login.uuid, any case); each is kept once",
            {
              ds: options.ds,
              page: page.page,
              repeated: repeated.length,
              first: uuidText(page.uuids, repeated[0]! * 4),
            },
          );
        }
        await Promise.all([
          csv.length > 0 ? write(csv) : undefined,
          page.rejects.length > 0 ? options.rejects.write(page.rejects) : undefined,
        ]);
        release(page, options.recycle);
        stats.users += rows - repeated.length;
        stats.rejects += page.rejectCount;
        stats.duplicates += repeated.length;
        stats.apiBytes += page.bytes;
        stats.pages++;
        sources.push({ page: page.page, users: page.records, bytes: page.bytes });
        options.onPage?.({ ...stats }, page.page);
      },
    });
    this.#stats = stats;
    this.#sources = sources;
  }

  /** What was written so far. */
  get stats(): ExtractStats {
    return { ...this.#stats };
  }

  /** The pages written so far, in order. */
  get sources(): readonly PageSource[] {
    return [...this.#sources];
  }
}

/**
 * Frees the page's buffers now (they are written), rather than at the next garbage collection,
 * which on this thread — it allocates little else — may be many pages away.
 */
function release(page: TranscodedPage, recycle?: (buffer: ArrayBuffer) => void): void {
  if (recycle) recycle(page.csv.buffer);
  else page.csv.buffer.transfer(0);
  for (const view of [page.rowEnds, page.uuids, page.rejects]) view.buffer.transfer(0);
}

/** The page's CSV without the rows at the (ascending) indices `drop`. */
function withoutRows(page: TranscodedPage, drop: readonly number[]): Uint8Array {
  const kept: Uint8Array[] = [];
  let start = 0;
  for (const row of drop) {
    const rowStart = row === 0 ? 0 : page.rowEnds[row - 1]!;
    if (rowStart > start) kept.push(page.csv.subarray(start, rowStart));
    start = page.rowEnds[row]!;
  }
  kept.push(page.csv.subarray(start));
  const out = new Uint8Array(kept.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of kept) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
