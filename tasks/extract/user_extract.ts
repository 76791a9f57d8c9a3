/**
 * The extract of one logical date: API pages (bytes, `API_CONCURRENCY` requests in flight) →
 * workers that turn each page into CSV bytes (`page_transcoder.ts`, one page per worker at a
 * time) → the landing files, in page order, streamed end to end with memory bounded by the pages
 * in flight. Beside the CSV: `rejects.jsonl` with the reason of every record that failed
 * validation, and the manifest that vouches for the CSV (rows, bytes, SHA-256, columns, pages).
 * The three are written under temporary names and published together only when all are durable:
 * a failure — a full disk included — leaves the previous files of the ds as they were.
 *
 * @example
 * ```ts
 * const summary = await extractUsers({ ds: "2026-01-01", dataDir, api, users: 10_000, … });
 * console.log(summary.users, summary.rejects);
 * ```
 *
 * @module
 */
import { basename } from "node:path";
import { errorMessage, TerminalError, TransientError } from "../shared/errors.ts";
import { checkLandingKinds, landingFiles } from "../landing/landing_zone.ts";
import { encodeManifest, MANIFEST_FORMAT } from "../landing/landing_manifest.ts";
import { type Logger, Progress } from "../shared/logger.ts";
import {
  maxPageBytes,
  RandomUserClient,
  type RandomUserClientOptions,
  seedFor,
} from "./randomuser_client.ts";
import { AtomicFile } from "../shared/atomic_file.ts";
import { type ByteSink, LandingPageSink } from "./landing_page_sink.ts";
import { PageTranscoderPool } from "./page_transcoder_pool.ts";
import { USER_COLUMNS } from "./user_fields.ts";

/**
 * The extract's version, written into every manifest: bump it when the CSV contract or the
 * validation rules change. 2: validation as strict as PostgreSQL, repeated users dropped.
 */
export const EXTRACT_VERSION = "2";

/** Options for {@linkcode extractUsers}. */
export interface ExtractOptions {
  /** Logical date, `YYYY-MM-DD`. */
  ds: string;
  /** The landing zone: the files go to `<dataDir>/raw/ds=<ds>/`. */
  dataDir: string;
  /** The API and the client's retry policy. */
  api: Omit<RandomUserClientOptions, "onRetry">;
  /** Users to fetch. */
  users: number;
  /** Users per request, and requests in flight at once. */
  pageSize: number;
  concurrency: number;
  /** The share of refused records past which the extract fails (and publishes no CSV). */
  maxRejectRate: number;
  /** Threads that turn pages into CSV; default one per core (none on one core). */
  workers?: number;
  /**
   * A second destination of the CSV bytes, written as they are (the streamed load's COPY). It
   * must not throw: the extract's own outcome does not depend on it.
   */
  copy?: ByteSink;
  logger?: Logger;
  signal?: AbortSignal;
  /** Draw progress on stderr; default: when stderr is a terminal. */
  progress?: boolean;
}

/** What one extract produced. */
export interface ExtractSummary {
  readonly ds: string;
  /** Users written to the CSV. */
  readonly users: number;
  /** Records written to `rejects.jsonl` instead. */
  readonly rejects: number;
  /** Records dropped because their uuid came earlier in the run. */
  readonly duplicates: number;
  readonly pages: number;
  /** Response bytes received from the API. */
  readonly apiBytes: number;
  readonly csvBytes: number;
  readonly csvSha256: string;
  readonly file: string;
  readonly manifestFile: string;
  readonly rejectsFile: string;
  readonly seconds: number;
}

/**
 * Fetches `users` users for `ds` and writes them atomically as CSV, with its manifest. Fails with
 * a {@linkcode TerminalError} when the share of rejected records exceeds `maxRejectRate`; the CSV
 * is then not published (a previous one stays), but `rejects.jsonl` is, for inspection. A full
 * disk is a {@linkcode TransientError} that says so; nothing of the ds changes then.
 */
export async function extractUsers(options: ExtractOptions): Promise<ExtractSummary> {
  const started = performance.now();
  const { ds, users, logger } = options;
  const files = landingFiles(options.dataDir, ds);
  await checkLandingKinds(files);
  // Bytes in flight are bounded by pages: at most `concurrency` bodies downloading or waiting, one
  // page per worker being transcoded, and their CSV buffers; the pool keeps that many for reuse.
  const workers = options.workers ?? PageTranscoderPool.defaultSize();
  using pool = PageTranscoderPool.create(workers, {
    buffers: 2,
  });
  const client = new RandomUserClient({
    ...options.api,
    allocate: (size) => pool.buffers.take(size),
    maxPageBytes: maxPageBytes(options.pageSize),
    onRetry: (event) =>
      logger?.warn("retrying page", {
        page: event.page,
        attempt: event.attempt,
        delay_ms: event.delayMs,
        error: event.error.message,
      }),
  });
  const pageCount = RandomUserClient.pageCount(users, options.pageSize);
  const progress = new Progress(
    options.progress === undefined ? {} : { enabled: options.progress },
  );
  const csv = await AtomicFile.create(files.csv, { sha256: true }).catch(diskError(files.csv));
  const rejectsFile = await AtomicFile.create(files.rejects).catch(async (error) => {
    await csv.abort();
    throw diskError(files.rejects)(error);
  });
  const sink = new LandingPageSink({
    ds,
    csv,
    rejects: rejectsFile,
    columns: USER_COLUMNS,
    expectedUsers: users,
    recycle: (buffer) => pool.buffers.give(buffer),
    ...(options.copy ? { copy: options.copy } : {}),
    ...(logger ? { logger } : {}),
    onPage: (stats, page) => {
      if (progress.enabled) {
        const rate = Math.round(stats.users / ((performance.now() - started) / 1000));
        progress.update(
          `extract ${ds}: ${stats.users}/${users} users, page ${stats.pages}/${pageCount}, ` +
            `${stats.rejects} rejects, ${rate} users/s`,
        );
      } else {
        logger?.info("page written", {
          ds,
          page,
          pages: pageCount,
          users: stats.users,
          rejects: stats.rejects,
        });
      }
    },
  });

  const seed = seedFor(ds);
  let manifest: AtomicFile | undefined;
  try {
    await client.pages(
      {
        seed,
        users,
        pageSize: options.pageSize,
        concurrency: options.concurrency,
        ...(options.signal ? { signal: options.signal } : {}),
      },
      (body, request) => pool.transcode(body, { ...request, ds }),
    )
      .pipeTo(sink)
      .catch(diskError(files.csv));
    await rejectsFile.prepare().catch(diskError(files.rejects));
    const { users: written, rejects: rejected } = sink.stats;
    const seen = written + rejected;
    if (seen > 0 && rejected / seen > options.maxRejectRate) {
      await rejectsFile.commit();
      throw new TerminalError(
        `${rejected} of ${seen} records (${(100 * rejected / seen).toFixed(2)}%) failed ` +
          `validation, above MAX_REJECT_RATE=${options.maxRejectRate}; the CSV was not written. ` +
          `Reasons are in ${files.rejects}`,
      );
    }
    // All three durable before any is published, so a full disk changes nothing; a crash between
    // the renames leaves a CSV its manifest does not vouch for, which the load refuses.
    await csv.prepare().catch(diskError(files.csv));
    manifest = await AtomicFile.create(files.manifest).catch(diskError(files.manifest));
    const api = new URL(options.api.baseUrl);
    await manifest.write(encodeManifest({
      format: MANIFEST_FORMAT,
      ds,
      file: basename(files.csv),
      rows: written,
      bytes: csv.bytes,
      sha256: csv.sha256 ?? "",
      columns: [...USER_COLUMNS],
      extract: {
        version: EXTRACT_VERSION,
        rejects: rejected,
        duplicates: sink.stats.duplicates,
      },
      api: {
        url: `${api.origin}${api.pathname}`,
        seed,
        pageSize: options.pageSize,
        pages: [...sink.sources],
      },
      writtenAt: new Date().toISOString(),
    })).catch(diskError(files.manifest));
    await manifest.prepare().catch(diskError(files.manifest));
    await rejectsFile.commit();
    await csv.commit();
    await manifest.commit();
  } catch (error) {
    // Every temporary goes, whatever happens to any; the first error is the one reported.
    await Promise.allSettled([csv.abort(), rejectsFile.abort(), manifest?.abort()]);
    throw error;
  } finally {
    progress.done();
  }
  const stats = sink.stats;
  return {
    ds,
    users: stats.users,
    rejects: stats.rejects,
    duplicates: stats.duplicates,
    pages: stats.pages,
    apiBytes: stats.apiBytes,
    csvBytes: csv.bytes,
    csvSha256: csv.sha256 ?? "",
    file: files.csv,
    manifestFile: files.manifest,
    rejectsFile: files.rejects,
    seconds: (performance.now() - started) / 1000,
  };
}

/**
 * A `.catch` handler that turns "no space left on device" while writing `path` into a message
 * that says so (a retry after space was freed may succeed); other errors pass unchanged.
 */
function diskError(path: string): (error: unknown) => never {
  return (error) => {
    if ((error as { code?: unknown }).code === "ENOSPC") {
      throw new TransientError(
        `no space left on the device while writing ${path} (${errorMessage(error)}); the ` +
          "previous files of this ds are untouched and no temporary file is left. Free space " +
          "under DATA_DIR and run the extract again",
        { cause: error },
      );
    }
    throw error;
  };
}
