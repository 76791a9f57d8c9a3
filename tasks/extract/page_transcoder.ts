/**
 * One API page's bytes → the CSV bytes of its valid users, and everything the extract needs to
 * know about the rest: the reject lines (`rejects.jsonl`: ds, page, index, reason, record), the
 * fields the data contract does not know (dotted paths), and each row's byte end and uuid (so
 * the writer can drop a user the API repeated across pages). Pure and synchronous: it runs in the
 * extract's workers, one page at a time, or on the main thread.
 *
 * Each record takes the fastest path it can: its bytes straight to CSV bytes (`byte_path/`),
 * else `JSON.parse` and the fast path over the object (`user_csv_line.ts`); zod (`parseUser`)
 * decides the rest and explains the rejects, so the accept/reject decisions and reasons are the
 * schema's.
 *
 * @example
 * ```ts
 * const page = transcodePage(body, { ds: "2026-01-01", seed, page: 1, results: 5000 });
 * await file.write(page.csv);
 * ```
 *
 * @module
 */
import { type PageRequest, readApiPage, TAKEN } from "./api_page.ts";
import { csvLine } from "./csv_text.ts";
import { csvByteEncoder } from "./byte_path/csv_byte_encoder.ts";
import { userCsvLine } from "./user_csv_line.ts";
import { flattenUser, hasOnlyKnownFields, keyOf, unknownFields } from "./user_fields.ts";

/** zod, loaded when a record first misses the fast path (a clean run never needs it here). */
let schema: Promise<typeof import("./user_schema.ts")> | undefined;
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
  /**
   * The CSV records of the valid users, in page order (no header): a view of the body's own
   * buffer, written over it, unless it had to move to one of its own.
   */
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

/**
 * Where a page's CSV is written: over the page's own bytes, behind the reader (a record's CSV line
 * is never longer than its JSON — no keys, no braces, escapes no longer than JSON's — so the
 * writer does not catch up in practice; if it would, the CSV moves to a buffer of its own). A page
 * then needs one buffer, not two: at 5 000 users that is 5.5 MB less per page in flight.
 */
class CsvOverBody {
  #bytes: Uint8Array<ArrayBuffer>;
  #own = false;
  length = 0;

  constructor(body: Uint8Array<ArrayBuffer>) {
    this.#bytes = body;
  }

  /** Appends `text`; `readEnd` is where the unread part of the body begins. */
  append(text: string, readEnd: number): void {
    const room = this.#own ? this.#bytes.length : readEnd;
    const { read, written } = encoder.encodeInto(text, this.#bytes.subarray(this.length, room));
    if (read === text.length) {
      this.length += written;
      return;
    }
    this.#move(text.length * 3);
    this.length += encoder.encodeInto(text, this.#bytes.subarray(this.length)).written;
  }

  /** Appends `bytes`; `readEnd` is where the unread part of the body begins. */
  appendBytes(bytes: Uint8Array, readEnd: number): void {
    const room = this.#own ? this.#bytes.length : readEnd;
    if (this.length + bytes.length > room) this.#move(bytes.length);
    this.#bytes.set(bytes, this.length);
    this.length += bytes.length;
  }

  /** `needed` bytes did not fit (in front of the reader, or in our own buffer): a larger one. */
  #move(needed: number): void {
    const grown = new Uint8Array(Math.max(this.#bytes.length, this.length + needed) * 2);
    grown.set(this.#bytes.subarray(0, this.length));
    if (this.#own) this.#bytes.buffer.transfer(0); // freed now, not at the next collection
    this.#bytes = grown;
    this.#own = true;
  }

  /** Whether the CSV left the body's buffer (the body's buffer is then free to go). */
  get moved(): boolean {
    return this.#own;
  }

  /** The bytes written: a view of the buffer, which goes with it (no copy). */
  take(): Uint8Array<ArrayBuffer> {
    return this.#bytes.subarray(0, this.length);
  }
}

/**
 * Transcodes one page, record by record (see `readApiPage`), writing the CSV over the body's bytes
 * as they are read (so `body` is spent: its buffer now holds the CSV, see `TranscodedPage.csv`).
 * Throws `readApiPage`'s {@linkcode PageError} when the body is not the page asked for (the
 * client retries the request).
 */
export async function transcodePage(
  body: Uint8Array<ArrayBuffer>,
  request: TranscodeRequest,
): Promise<TranscodedPage> {
  const read = { end: 0 };
  const csv = new CsvOverBody(body);
  // Sized for the page asked for; a longer page fails readApiPage's count check at its end.
  let rowEnds = new Uint32Array(request.results);
  let uuids = new Uint32Array(request.results * 4);
  const rejectLines: string[] = [];
  const drift = new Set<string>();
  let rows = 0;
  let index = -1;
  const room = () => {
    if (rows < rowEnds.length) return;
    rowEnds = grown(rowEnds, Math.max(16, rows * 2));
    uuids = grown(uuids, rowEnds.length * 4);
  };
  // The page's own byte path: pages transcoded at once (the slower path awaits) share nothing.
  const pageEncoder = csvByteEncoder();
  const take = (bytes: Uint8Array, start: number) => {
    room();
    return pageEncoder.encode(bytes, start, uuids, rows * 4);
  };
  for (const record of readApiPage(body, request, read, take)) {
    index++;
    if (record === TAKEN) {
      // The uuid's words are in place already.
      csv.appendBytes(pageEncoder.csv, read.end);
      rowEnds[rows++] = csv.length;
      continue;
    }
    let line = userCsvLine(record);
    let uuid: string;
    if (line !== undefined) {
      uuid = keyOf(record);
      if (!hasOnlyKnownFields(record)) {
        for (const path of unknownFields(record)) drift.add(path);
      }
    } else {
      for (const path of unknownFields(record)) drift.add(path);
      const parsed = (await (schema ??= import("./user_schema.ts"))).parseUser(record);
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
      uuid = keyOf(parsed.user);
    }
    csv.append(line, read.end);
    room();
    rowEnds[rows] = csv.length;
    writeUuidWords(uuid, uuids, rows * 4);
    rows++;
  }
  return {
    page: request.page,
    bytes: body.length,
    records: index + 1,
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

function grown(words: Uint32Array<ArrayBuffer>, length: number): Uint32Array<ArrayBuffer> {
  const copy = new Uint32Array(length);
  copy.set(words);
  return copy;
}
