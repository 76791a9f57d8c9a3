/**
 * The extract of one logical date: API pages → validated users → CSV file, streamed end to end
 * with bounded memory, plus `rejects.jsonl` with the reason of every record that failed
 * validation.
 *
 * @example
 * ```ts
 * const summary = await extractUsers(config, { ds: "2026-01-01" });
 * console.log(summary.users, summary.rejects);
 * ```
 *
 * @module
 */
import type { Config } from "./config.ts";
import { TerminalError } from "./errors.ts";
import { landingFiles } from "./landing_zone.ts";
import { type Logger, Progress } from "./logger.ts";
import { type ApiPage, RandomUserClient, seedFor } from "./randomuser_client.ts";
import { AtomicFile, UserCsvStream } from "./user_csv.ts";
import {
  flattenUser,
  parseUser,
  unknownFields,
  USER_COLUMNS,
  type UserRow,
} from "./user_schema.ts";

/** Options for {@linkcode extractUsers}. */
export interface ExtractOptions {
  /** Logical date, `YYYY-MM-DD`. */
  ds: string;
  /** Users to fetch; default `config.usersPerRun`. */
  users?: number;
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

/** A record that failed validation, as written to `rejects.jsonl`. */
interface Reject {
  page: number;
  index: number;
  reason: string;
  record: unknown;
}

/**
 * Fetches `users` users for `ds` and writes them atomically as CSV. Fails with a
 * {@linkcode TerminalError} when the share of rejected records exceeds `config.maxRejectRate`;
 * the CSV is then not published (a previous one stays), but `rejects.jsonl` is, for inspection.
 */
export async function extractUsers(
  config: Config,
  options: ExtractOptions,
): Promise<ExtractSummary> {
  const started = performance.now();
  const users = options.users ?? config.usersPerRun;
  const files = landingFiles(config.dataDir, options.ds);
  const logger = options.logger;
  const client = new RandomUserClient({
    baseUrl: config.apiUrl,
    retries: config.apiRetries,
    timeoutMs: config.apiTimeoutMs,
    retryBaseDelayMs: config.apiRetryDelayMs,
    onRetry: (event) =>
      logger?.warn("retrying page", {
        page: event.page,
        attempt: event.attempt,
        delay_ms: event.delayMs,
        error: event.error.message,
      }),
  });
  const pageCount = RandomUserClient.pageCount(users, config.apiPageSize);
  const progress = new Progress(
    options.progress === undefined ? {} : { enabled: options.progress },
  );
  const csv = await AtomicFile.create(files.csv);
  const rejectsFile = await AtomicFile.create(files.rejects).catch(async (error) => {
    await csv.abort();
    throw error;
  });
  const rejectWriter = rejectsFile.writable.getWriter();
  const encoder = new TextEncoder();
  let written = 0;
  let rejected = 0;
  let pagesDone = 0;
  let apiBytes = 0;
  const unknown = new Set<string>();

  const validation = new TransformStream<ApiPage, UserRow[]>({
    async transform(page, controller) {
      const rows: UserRow[] = [];
      const rejects: Reject[] = [];
      page.results.forEach((record, index) => {
        for (const field of unknownFields(record)) {
          if (!unknown.has(field)) {
            unknown.add(field);
            logger?.warn("the API sent a field the data contract does not have; it is ignored", {
              ds: options.ds,
              page: page.page,
              field,
            });
          }
        }
        const parsed = parseUser(record);
        if (parsed.ok) rows.push(flattenUser(parsed.user));
        else rejects.push({ page: page.page, index, reason: parsed.reason, record });
      });
      if (rejects.length > 0) {
        const lines = rejects.map((reject) => JSON.stringify({ ds: options.ds, ...reject })).join(
          "\n",
        );
        await rejectWriter.write(encoder.encode(lines + "\n"));
      }
      written += rows.length;
      rejected += rejects.length;
      apiBytes += page.bytes;
      pagesDone++;
      const fields = {
        ds: options.ds,
        page: page.page,
        pages: pageCount,
        users: written,
        rejects: rejected,
      };
      if (progress.enabled) {
        const rate = Math.round(written / ((performance.now() - started) / 1000));
        progress.update(
          `extract ${options.ds}: ${written}/${users} users, page ${pagesDone}/${pageCount}, ` +
            `${rejected} rejects, ${rate} users/s`,
        );
      } else {
        logger?.info("page written", fields);
      }
      controller.enqueue(rows);
    },
  });

  try {
    await client.pages({
      seed: seedFor(options.ds),
      users,
      pageSize: config.apiPageSize,
      concurrency: config.apiConcurrency,
      ...(options.signal ? { signal: options.signal } : {}),
    })
      .pipeThrough(validation)
      .pipeThrough(new UserCsvStream({ columns: USER_COLUMNS }))
      .pipeTo(csv.writable);
    await rejectWriter.close();
    await rejectsFile.commit();
    const seen = written + rejected;
    if (seen > 0 && rejected / seen > config.maxRejectRate) {
      throw new TerminalError(
        `${rejected} of ${seen} records (${(100 * rejected / seen).toFixed(2)}%) failed ` +
          `validation, above MAX_REJECT_RATE=${config.maxRejectRate}; the CSV was not written. ` +
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
  return {
    ds: options.ds,
    users: written,
    rejects: rejected,
    pages: pagesDone,
    apiBytes,
    csvBytes: csv.bytes,
    file: files.csv,
    rejectsFile: files.rejects,
    seconds: (performance.now() - started) / 1000,
  };
}
