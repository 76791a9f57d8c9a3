/**
 * One API page's bytes → the CSV bytes of its valid users, and everything the extract needs to
 * know about the rest: the reject lines (`rejects.jsonl`: ds, page, index, reason, record), the
 * fields the data contract does not know (dotted paths), and each row's byte end and uuid (so
 * the writer can drop a user the API repeated across pages). Pure and synchronous: it runs in the
 * extract's workers, one page at a time, or on the main thread.
 *
 * Each record takes the fast path (`user_csv_line.ts`); zod (`parseUser`) decides the rest and
 * explains the rejects, so the accept/reject decisions and reasons are the schema's.
 *
 * @example
 * ```ts
 * const page = transcodePage(body, { ds: "2026-01-01", seed, page: 1, results: 5000 });
 * await file.write(page.csv);
 * ```
 *
 * @module
 */
import { type PageRequest, parseApiPage } from "./api_page.ts";
import { csvLine } from "./csv_text.ts";
import { userCsvLine } from "./user_csv_line.ts";
import { flattenUser, KNOWN_FIELD_COUNT, parseUser, unknownFields } from "./user_schema.ts";
import { writeUuidWords } from "./uuid_set.ts";

/** A page to transcode: the request it answers, and the ds its reject lines name. */
export interface TranscodeRequest extends PageRequest {
  readonly ds: string;
}

/** What one page became. The buffers are the page's own (transferable to another thread). */
export interface TranscodedPage {
  readonly page: number;
  /** Bytes of the response body. */
  readonly bytes: number;
  /** Records on the page (rows + rejects). */
  readonly records: number;
  /** The CSV records of the valid users, in page order (no header). */
  readonly csv: Uint8Array<ArrayBuffer>;
  /** Byte offset in `csv` where each row ends. */
  readonly rowEnds: Uint32Array<ArrayBuffer>;
  /** Each row's `login.uuid` as four 32-bit words (see `uuid_set.ts`). */
  readonly uuids: Uint32Array<ArrayBuffer>;
  /** The reject lines of the page, JSON Lines, UTF-8. */
  readonly rejects: Uint8Array<ArrayBuffer>;
  readonly rejectCount: number;
  /** Dotted paths of fields the data contract does not know, each once. */
  readonly drift: readonly string[];
}

const encoder = new TextEncoder();

/** Counts own fields of a JSON object (for-in sees no inherited ones on parsed JSON). */
function fieldCount(value: unknown): number {
  let count = 0;
  for (const _ in value as Record<string, unknown>) count++;
  return count;
}

/**
 * Whether a record the fast path accepted has exactly the contract's fields: then none is unknown
 * (the fast path read every known one, so each is present).
 */
function hasOnlyKnownFields(record: Record<string, Record<string, unknown>>): boolean {
  const location = record.location!;
  return fieldCount(record) === KNOWN_FIELD_COUNT.user &&
    fieldCount(record.name) === KNOWN_FIELD_COUNT.name &&
    fieldCount(location) === KNOWN_FIELD_COUNT.location &&
    fieldCount(location.street) === KNOWN_FIELD_COUNT.street &&
    fieldCount(location.coordinates) === KNOWN_FIELD_COUNT.coordinates &&
    fieldCount(location.timezone) === KNOWN_FIELD_COUNT.timezone &&
    fieldCount(record.login) === KNOWN_FIELD_COUNT.login &&
    fieldCount(record.dob) === KNOWN_FIELD_COUNT.dob &&
    fieldCount(record.registered) === KNOWN_FIELD_COUNT.registered &&
    fieldCount(record.id) === KNOWN_FIELD_COUNT.id &&
    fieldCount(record.picture) === KNOWN_FIELD_COUNT.picture;
}

/** A growable byte buffer that UTF-8 text is appended to. */
class ByteBuffer {
  #bytes: Uint8Array<ArrayBuffer>;
  length = 0;

  constructor(capacity: number) {
    this.#bytes = new Uint8Array(Math.max(capacity, 64));
  }

  append(text: string): void {
    // UTF-8 needs at most 3 bytes per UTF-16 code unit.
    if (this.#bytes.length - this.length < text.length * 3) {
      const grown = new Uint8Array(Math.max(this.#bytes.length * 2, this.length + text.length * 3));
      grown.set(this.#bytes.subarray(0, this.length));
      this.#bytes = grown;
    }
    this.length += encoder.encodeInto(text, this.#bytes.subarray(this.length)).written;
  }

  /** The bytes written, as a buffer of their own size. */
  take(): Uint8Array<ArrayBuffer> {
    return this.#bytes.slice(0, this.length);
  }
}

/**
 * Transcodes one page. Throws the {@linkcode PageError} of `parseApiPage` when the body is not
 * the page asked for (the client retries the request).
 */
export function transcodePage(body: Uint8Array, request: TranscodeRequest): TranscodedPage {
  const records = parseApiPage(body, request);
  // CSV is never longer than the JSON it came from: no keys, shorter escapes.
  const csv = new ByteBuffer(body.length);
  const rowEnds = new Uint32Array(records.length);
  const uuids = new Uint32Array(records.length * 4);
  const rejectLines: string[] = [];
  const drift = new Set<string>();
  let rows = 0;
  for (let index = 0; index < records.length; index++) {
    const record = records[index];
    let line = userCsvLine(record);
    let uuid: string;
    if (line !== undefined) {
      const fields = record as Record<string, Record<string, unknown>>;
      uuid = fields.login!.uuid as string;
      if (!hasOnlyKnownFields(fields)) {
        for (const path of unknownFields(record)) drift.add(path);
      }
    } else {
      for (const path of unknownFields(record)) drift.add(path);
      const parsed = parseUser(record);
      if (!parsed.ok) {
        rejectLines.push(JSON.stringify({
          ds: request.ds,
          page: request.page,
          index,
          reason: parsed.reason,
          record,
        }));
        continue;
      }
      line = csvLine(flattenUser(parsed.user));
      uuid = parsed.user.login.uuid;
    }
    csv.append(line);
    rowEnds[rows] = csv.length;
    writeUuidWords(uuid, uuids, rows * 4);
    rows++;
  }
  return {
    page: request.page,
    bytes: body.length,
    records: records.length,
    csv: csv.take(),
    rowEnds: rowEnds.slice(0, rows),
    uuids: uuids.slice(0, rows * 4),
    rejects: rejectLines.length > 0
      ? encoder.encode(rejectLines.join("\n") + "\n")
      : new Uint8Array(0),
    rejectCount: rejectLines.length,
    drift: [...drift],
  };
}
