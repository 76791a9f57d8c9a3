/**
 * The validation step of the extract: {@linkcode UserValidationStream} turns API pages into rows
 * of the users the data contract accepts, writes every record it refuses to a rejects sink
 * (`rejects.jsonl`: one JSON line with the page, the index, the reason and the record), drops a
 * user whose uuid came earlier in the run (any case) with a warning, and logs once per run each
 * field the contract does not know, at any depth, by its dotted path (schema drift).
 *
 * @example
 * ```ts
 * const validation = new UserValidationStream({ ds, rejects: rejectsFile.writable, logger });
 * await pages.pipeThrough(validation).pipeThrough(new UserCsvStream({ columns })).pipeTo(csv);
 * console.log(validation.stats.users, validation.stats.rejects);
 * ```
 *
 * @module
 */
import type { Logger } from "../shared/logger.ts";
import type { ApiPage } from "./randomuser_client.ts";
import { flattenUser, parseUser, unknownFields, type UserRow } from "./user_schema.ts";
import { UuidSet } from "./uuid_set.ts";

/** Options for {@linkcode UserValidationStream}. */
export interface UserValidationStreamOptions {
  /** The logical date, written into each reject line. */
  ds: string;
  /** Where the JSON lines of refused records go; the stream does not close it. */
  rejects: WritableStream<Uint8Array>;
  /** Warned once per field the data contract does not know. */
  logger?: Logger;
  /** Called after each page, with the counts so far (progress). */
  onPage?: (stats: ValidationStats, page: number) => void;
}

/** Counts of what passed through so far. */
export interface ValidationStats {
  /** Records accepted (rows emitted). */
  readonly users: number;
  /** Records refused (written to the rejects sink). */
  readonly rejects: number;
  /** Valid records dropped because their uuid came earlier in the run. */
  readonly duplicates: number;
  readonly pages: number;
  /** Response bytes of the pages seen. */
  readonly apiBytes: number;
}

/** Where a run's records came from: one entry per API page, in order. */
export interface PageSource {
  readonly page: number;
  /** Records on the page. */
  readonly users: number;
  readonly bytes: number;
}

/** A record that failed validation, as written to `rejects.jsonl`. */
interface Reject {
  page: number;
  index: number;
  reason: string;
  record: unknown;
}

/** Emits, per API page, the rows of its valid users; refused records go to the rejects sink. */
export class UserValidationStream extends TransformStream<ApiPage, UserRow[]> {
  readonly #stats: { -readonly [K in keyof ValidationStats]: ValidationStats[K] };
  readonly #sources: PageSource[];

  constructor(options: UserValidationStreamOptions) {
    const stats = { users: 0, rejects: 0, duplicates: 0, pages: 0, apiBytes: 0 };
    const sources: PageSource[] = [];
    const writer = options.rejects.getWriter();
    const encoder = new TextEncoder();
    const drift = new Set<string>();
    const seen = new UuidSet();
    super({
      async transform(page, controller) {
        const rows: UserRow[] = [];
        const rejects: Reject[] = [];
        const repeated: string[] = [];
        page.results.forEach((record, index) => {
          for (const field of unknownFields(record)) {
            if (drift.has(field)) continue;
            drift.add(field);
            options.logger?.warn(
              "the API sent a field the data contract does not have; it is ignored",
              { ds: options.ds, page: page.page, field },
            );
          }
          const parsed = parseUser(record);
          if (!parsed.ok) rejects.push({ page: page.page, index, reason: parsed.reason, record });
          else if (seen.add(parsed.user.login.uuid)) rows.push(flattenUser(parsed.user));
          else repeated.push(parsed.user.login.uuid);
        });
        if (rejects.length > 0) {
          const lines = rejects.map((reject) => JSON.stringify({ ds: options.ds, ...reject }));
          await writer.write(encoder.encode(lines.join("\n") + "\n"));
        }
        if (repeated.length > 0) {
          options.logger?.warn(
            "the API repeated users of this run (same login.uuid, any case); each is kept once",
            { ds: options.ds, page: page.page, repeated: repeated.length, first: repeated[0] },
          );
        }
        stats.users += rows.length;
        stats.rejects += rejects.length;
        stats.duplicates += repeated.length;
        stats.apiBytes += page.bytes;
        stats.pages++;
        sources.push({ page: page.page, users: page.results.length, bytes: page.bytes });
        options.onPage?.({ ...stats }, page.page);
        controller.enqueue(rows);
      },
      flush() {
        writer.releaseLock();
      },
    });
    this.#stats = stats;
    this.#sources = sources;
  }

  /** What passed through so far. */
  get stats(): ValidationStats {
    return { ...this.#stats };
  }

  /** The pages seen so far, in order. */
  get sources(): readonly PageSource[] {
    return [...this.#sources];
  }
}
