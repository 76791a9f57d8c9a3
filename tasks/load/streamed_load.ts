/**
 * The load of `deno task extract --load`: the CSV bytes go into the warehouse's COPY as the
 * extract writes them to the landing file, so the load overlaps the extract. The transaction
 * commits only after the file and its manifest are durable and vouch for exactly what was copied,
 * so the file alone can always run the load again. The streamed COPY does not fail the extract:
 * when it fails, {@linkcode StreamedLoad.finish} says why and `deno task load` loads the file.
 * Every load it tries leaves a batch row, failed ones included, or the extract fails: on workers
 * that share no disk, the ds's newest row is what a load elsewhere decides from.
 *
 * @example
 * ```ts
 * const streamed = await StreamedLoad.begin(warehouse.sql, { ds, files, columns: USER_COLUMNS });
 * const summary = await extractUsers({ …, copy: streamed });
 * const loaded = await streamed.finish(); // after the files are published
 * ```
 *
 * @module
 */
import { ulid } from "ulid";
import { errorMessage, TransientError } from "../shared/errors.ts";
import type { LandingFiles } from "../landing/landing_zone.ts";
import { readManifest } from "../landing/landing_manifest.ts";
import type { Sql } from "../warehouse/sql_client.ts";
import { checkHeader } from "./csv_header.ts";
import { recordBatch, recordFailedBatch } from "./batch_ledger.ts";
import type { CopyWriter } from "./copy_writer.ts";
import { describeLoadError } from "./load_errors.ts";
import {
  copyMatchesHeader,
  type LoadTarget,
  type LoadTargetOptions,
  openLoadTarget,
  tableColumns,
} from "./load_target.ts";
import {
  copyOrStage,
  loadedCounts,
  type LoadSummary,
  refuseUnvouched,
} from "./load_transaction.ts";

/** Options for {@linkcode StreamedLoad.begin}. */
export interface StreamedLoadOptions {
  ds: string;
  /** The ds's landing files: the extract publishes the CSV and its manifest there. */
  files: LandingFiles;
  /** The CSV header the extract writes. */
  columns: readonly string[];
}

/** What the transaction waits for: the files are published (go on), or the extract failed. */
type Outcome = { readonly publish: true } | { readonly abort: Error };

/** A load that takes the extract's bytes as they come; see the module documentation. */
export class StreamedLoad {
  readonly #target: LoadTarget;
  readonly #outcome: PromiseWithResolvers<Outcome>;
  readonly #done: Promise<LoadSummary>;
  /** Why the COPY stopped taking bytes, if it did (the rest of the bytes are dropped). */
  readonly #state: { failure: unknown };

  private constructor(
    target: LoadTarget,
    state: { failure: unknown },
    promises: { outcome: PromiseWithResolvers<Outcome>; done: Promise<LoadSummary> },
  ) {
    this.#target = target;
    this.#state = state;
    this.#outcome = promises.outcome;
    this.#done = promises.done;
  }

  /**
   * Opens the load's transaction and its COPY (straight into `raw.users` on the ds's first load,
   * else into the staging table). Throws when the warehouse cannot take this ds's CSV at all (no
   * table, another header); the caller then extracts without it.
   */
  static async begin(sql: Sql, options: StreamedLoadOptions): Promise<StreamedLoad> {
    const { ds, files } = options;
    const started = performance.now();
    const startedAt = new Date();
    const batchId = ulid();
    const failed = async (error: unknown) => {
      const failure = describeLoadError(error, files.csv);
      await recordFailedBatch(sql, {
        batchId,
        ds,
        file: files.csv,
        error: failure.message,
        vouched: true,
        startedAt,
      }).catch((recordError) => {
        throw new UnrecordedLoadError(failure, recordError);
      });
      return failure;
    };
    let targetOptions: LoadTargetOptions;
    try {
      const columns = await tableColumns(sql);
      checkHeader(options.columns, { columns, file: files.csv });
      targetOptions = {
        ds,
        batchId,
        header: options.columns,
        columns,
        direct: true,
        headerMatch: await copyMatchesHeader(sql),
      };
    } catch (error) {
      throw await failed(error);
    }
    const ready = Promise.withResolvers<LoadTarget>();
    const outcome = Promise.withResolvers<Outcome>();
    const state: { failure: unknown } = { failure: undefined };
    let aborted = false;
    const committed = sql.begin(async (tx) => {
      const opened = await openLoadTarget(tx, targetOptions);
      ready.resolve(opened);
      const end = await outcome.promise;
      if ("abort" in end) {
        aborted = true;
        throw end.abort;
      }
      // The bytes went in as the extract wrote them; an id in raw.users under another ds means a
      // merge, from the file now published.
      const send = (copy: CopyWriter) => {
        if (state.failure !== undefined) throw state.failure;
        return copy.end();
      };
      const { load, copied } = await copyOrStage(tx, opened, {
        target: targetOptions,
        file: files.csv,
        send,
      });
      const manifest = await readManifest(files.manifest);
      refuseUnvouched({ manifest, observed: { ds, ...copied }, files });
      const counts = await loadedCounts(tx, load, {
        manifestRows: manifest?.rows,
        target: targetOptions,
        deleteMissing: true,
      });
      refuseUnvouched({ manifest, observed: { rows: counts.rows }, files });
      await recordBatch(tx, {
        ...counts,
        ...copied,
        batchId,
        ds,
        file: files.csv,
        vouched: true,
        startedAt,
      });
      return { ...counts, ...copied };
    });
    const done = committed.then(
      (counts): LoadSummary => ({
        ...counts,
        batchId,
        ds,
        file: files.csv,
        vouched: true,
        seconds: (performance.now() - started) / 1000,
      }),
      async (error) => {
        // A load the extract's failure rolled back is no batch of its own.
        if (aborted) throw error;
        throw await failed(error);
      },
    );
    done.catch(() => {}); // finish() and begin() report it
    const target = await Promise.race([ready.promise, done.then(() => never())]);
    return new StreamedLoad(target, state, { outcome, done });
  }

  /** Whether the COPY stopped taking bytes (the load then ends with {@linkcode finish}'s error). */
  get failed(): boolean {
    return this.#state.failure !== undefined;
  }

  /** Sends the next bytes of the CSV; never throws (a failure is kept for `finish`). */
  async write(bytes: Uint8Array): Promise<void> {
    if (this.#state.failure !== undefined) return;
    try {
      await this.#target.copy.write(bytes);
    } catch (error) {
      this.#state.failure = error;
    }
  }

  /**
   * Call after the extract published the CSV and its manifest: checks what was copied against the
   * manifest, merges if needed, records the batch and commits. Rejects with the load's error
   * (classified as the load task classifies it); `raw.users` is then unchanged.
   */
  finish(): Promise<LoadSummary> {
    this.#outcome.resolve({ publish: true });
    return this.#done;
  }

  /** The extract failed: roll the load back. */
  async abort(reason: Error): Promise<void> {
    if (this.#state.failure === undefined) this.#target.copy.abort(reason);
    this.#outcome.resolve({ abort: reason });
    await this.#done.catch(() => {});
  }
}

/**
 * A streamed load that failed where the warehouse could not record even that: the extract must
 * fail too (transient), for the ds's newest batch row would otherwise be an older extract's, and
 * a load on a worker without this file would take that one for it (`loaded_batch.ts`).
 */
export class UnrecordedLoadError extends TransientError {
  constructor(failure: Error, recordError: unknown) {
    super(
      `${failure.message}; and the warehouse could not record that the load failed ` +
        `(${errorMessage(recordError)}), so the extract fails too: run it again`,
      { cause: failure },
    );
  }
}

function never(): never {
  throw new Error(`the streamed load's transaction ended before its COPY began`);
}

/** What {@linkcode withStreamedLoad} returns: the work's result, and the load's outcome. */
export interface StreamedOutcome<T> {
  readonly result: T;
  /** The load's summary, or why it did not happen (then `deno task load` loads the file). */
  readonly load: { readonly summary: LoadSummary } | { readonly error: Error };
}

/**
 * Runs `work` (the extract) with a {@linkcode StreamedLoad} as its second CSV sink, and finishes
 * the load once `work` has published the files; when `work` fails, the load rolls back and the
 * error is `work`'s. A load that cannot begin or finish is reported, not thrown — unless its
 * failure could not be recorded ({@linkcode UnrecordedLoadError}, thrown before `work` runs when
 * the load cannot begin).
 */
export async function withStreamedLoad<T>(
  sql: Sql,
  options: StreamedLoadOptions,
  work: (copy: StreamedLoad | undefined) => Promise<T>,
): Promise<StreamedOutcome<T>> {
  let streamed: StreamedLoad | undefined;
  let beginError: Error | undefined;
  try {
    streamed = await StreamedLoad.begin(sql, options);
  } catch (error) {
    if (error instanceof UnrecordedLoadError) throw error;
    beginError = error instanceof Error ? error : new Error(String(error));
  }
  let result: T;
  try {
    result = await work(streamed);
  } catch (error) {
    await streamed?.abort(error instanceof Error ? error : new Error(String(error)));
    throw error;
  }
  if (!streamed) return { result, load: { error: beginError! } };
  try {
    return { result, load: { summary: await streamed.finish() } };
  } catch (error) {
    if (error instanceof UnrecordedLoadError) throw error;
    return { result, load: { error: error instanceof Error ? error : new Error(String(error)) } };
  }
}
