/**
 * The extract of one logical date: API pages → validated users → CSV file, streamed end to end
 * with bounded memory, plus `rejects.jsonl` with the reason of every record that failed
 * validation.
 *
 * @example
 * ```ts
 * const summary = await extractUsers({ ds: "2026-01-01", dataDir, api, users: 10_000, … });
 * console.log(summary.users, summary.rejects);
 * ```
 *
 * @module
 */
import { TerminalError } from "../shared/errors.ts";
import { landingFiles } from "../landing/landing_zone.ts";
import { type Logger, Progress } from "../shared/logger.ts";
import { RandomUserClient, type RandomUserClientOptions, seedFor } from "./randomuser_client.ts";
import { AtomicFile } from "../shared/atomic_file.ts";
import { UserCsvStream } from "./user_csv_stream.ts";
import { USER_COLUMNS } from "./user_schema.ts";
import { UserValidationStream } from "./user_validation_stream.ts";

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
  readonly pages: number;
  /** Response bytes received from the API. */
  readonly apiBytes: number;
  readonly csvBytes: number;
  readonly file: string;
  readonly rejectsFile: string;
  readonly seconds: number;
}

/**
 * Fetches `users` users for `ds` and writes them atomically as CSV. Fails with a
 * {@linkcode TerminalError} when the share of rejected records exceeds `maxRejectRate`;
 * the CSV is then not published (a previous one stays), but `rejects.jsonl` is, for inspection.
 */
export async function extractUsers(options: ExtractOptions): Promise<ExtractSummary> {
  const started = performance.now();
  const { ds, users, logger } = options;
  const files = landingFiles(options.dataDir, ds);
  const client = new RandomUserClient({
    ...options.api,
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
  const csv = await AtomicFile.create(files.csv);
  const rejectsFile = await AtomicFile.create(files.rejects).catch(async (error) => {
    await csv.abort();
    throw error;
  });
  const validation = new UserValidationStream({
    ds,
    rejects: rejectsFile.writable,
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

  try {
    await client.pages({
      seed: seedFor(ds),
      users,
      pageSize: options.pageSize,
      concurrency: options.concurrency,
      ...(options.signal ? { signal: options.signal } : {}),
    })
      .pipeThrough(validation)
      .pipeThrough(new UserCsvStream({ columns: USER_COLUMNS }))
      .pipeTo(csv.writable);
    await rejectsFile.commit();
    const { users: written, rejects: rejected } = validation.stats;
    const seen = written + rejected;
    if (seen > 0 && rejected / seen > options.maxRejectRate) {
      throw new TerminalError(
        `${rejected} of ${seen} records (${(100 * rejected / seen).toFixed(2)}%) failed ` +
          `validation, above MAX_REJECT_RATE=${options.maxRejectRate}; the CSV was not written. ` +
          `Reasons are in ${files.rejects}`,
      );
    }
    await csv.commit();
  } catch (error) {
    // Both temporaries go, whatever happens to either; the first error is the one reported.
    await Promise.allSettled([csv.abort(), rejectsFile.abort()]);
    throw error;
  } finally {
    progress.done();
  }
  const stats = validation.stats;
  return {
    ds,
    users: stats.users,
    rejects: stats.rejects,
    pages: stats.pages,
    apiBytes: stats.apiBytes,
    csvBytes: csv.bytes,
    file: files.csv,
    rejectsFile: files.rejects,
    seconds: (performance.now() - started) / 1000,
  };
}
