/**
 * The extract's fastest path: the CSV bytes of an API record read straight from the page's UTF-8
 * bytes, with no `JSON.parse`, no string and no object — for a record written as the API writes
 * them (its fields in the contract's order, no spaces, no escapes, numbers as plain integers).
 * Any other record, or a value the schema would refuse, is left to the next path
 * (`JSON.parse` → `userCsvLine`, then zod), so it decides nothing of its own: for every record it
 * takes, its bytes are exactly `userCsvLine(JSON.parse(record))` encoded as UTF-8, and its uuid
 * words exactly `writeUuidWords`'s (a differential and a mutation test hold both).
 *
 * What it has to prove to take a record, since the slower paths would otherwise: that the bytes
 * are valid JSON (no control characters in strings, valid UTF-8, as the strict decoder demands),
 * that each value is one the schema takes (`column_bounds.ts`), and that the object has no other
 * field (so there is no drift to report).
 *
 * Why: `JSON.parse`, the garbage it leaves and the fast path over its objects were two thirds of
 * the extract's CPU (issue 18); this reads each byte once.
 *
 * @example
 * ```ts
 * const encoder = csvByteEncoder();
 * const end = encoder.encode(body, start, uuids, row * 4); // -1: not taken
 * if (end >= 0) out.set(encoder.csv);
 * ```
 *
 * @module
 */
import { BACKSLASH, COMMA, CR, DOT, LF, MINUS, NINE, PLUS, QUOTE, ZERO } from "../ascii.ts";
import {
  INT4_MAX,
  INT4_MIN,
  isStorableTimestamp,
  NUMERIC_MAX_FRACTION_DIGITS,
} from "../column_bounds.ts";
import {
  type ContractField,
  type FieldKind,
  type RecordContract,
  USER_CONTRACT,
} from "../user_contract.ts";
import { isPlainUtcTimestamp, isUtf8 } from "./value_bytes.ts";

/**
 * How a value is read (and checked): the contract's kind, text that may be null apart. It says
 * what `userCsvLine` says: the transcoder's differential test puts odd values of every type in
 * every field, and fails on any row the two paths write differently. A kind that may be null
 * other than text is read as its kind: a null there is declined (the slower paths take it).
 */
type Kind = FieldKind | "nullableText";

function kindOf(field: ContractField): Kind {
  return field.kind === "text" && field.nullable ? "nullableText" : field.kind;
}

const NULL_BYTES = new TextEncoder().encode("null");

/**
 * The record's bytes between values, as the API writes them: before each field's value, its key
 * (with the braces that open and close the objects around it), and after the last, the closing
 * braces. Derived from the contract's field paths.
 */
function template(contract: RecordContract): { keys: Uint8Array[]; end: Uint8Array } {
  const encoder = new TextEncoder();
  const keys: Uint8Array[] = [];
  let open: readonly string[] = [];
  for (const [index, { path }] of contract.fields.entries()) {
    const parents = path.slice(0, -1);
    let shared = 0;
    while (shared < open.length && open[shared] === parents[shared]) shared++;
    let text = index === 0 ? "{" : "}".repeat(open.length - shared) + ",";
    for (const parent of parents.slice(shared)) text += `"${parent}":{`;
    keys.push(encoder.encode(`${text}"${path.at(-1)}":`));
    open = parents;
  }
  return { keys, end: encoder.encode("}".repeat(open.length + 1)) };
}

/** Where each dash of an 8-4-4-4-12 uuid is. */
function isUuidDash(offset: number): boolean {
  return offset === 8 || offset === 13 || offset === 18 || offset === 23;
}

function hexValue(code: number): number {
  if (code >= ZERO && code <= NINE) return code - ZERO;
  const lower = code | 0x20;
  return lower >= 97 && lower <= 102 ? lower - 87 : -1;
}

/** The byte path of one thread: what one call needs, it keeps (nothing at module level). */
export interface CsvByteEncoder {
  /**
   * Reads the record that starts at `body[start]`: when it takes it ("mine"), returns the index
   * just past it, sets {@linkcode csv} and writes its uuid as four words at `uuids[uuidAt]`;
   * otherwise -1, "not mine" (and those four words may hold anything).
   */
  encode(body: Uint8Array, start: number, uuids: Uint32Array, uuidAt: number): number;
  /** The CSV line (CRLF included) of the record the last `encode` took: valid until the next. */
  readonly csv: Uint8Array;
}

/**
 * The door to the byte path: an encoder of records of `contract` (the user's by default) whose
 * CSV lines are at most `capacity` bytes (longer records are left to the slower paths).
 */
export function csvByteEncoder(
  options: { capacity?: number; contract?: RecordContract } = {},
): CsvByteEncoder {
  return new RecordCsvEncoder(options);
}

/**
 * Encodes records; {@linkcode encode} leaves the CSV line of the last record it took in
 * {@linkcode csv} (a view of its own buffer, valid until the next call).
 */
class RecordCsvEncoder implements CsvByteEncoder {
  #out: Uint8Array;
  #length = 0;
  /** The read position in the body. */
  #at = 0;
  #body: Uint8Array = new Uint8Array(0);
  /** What {@linkcode #string} read: `[#start, #end)` of the body, and whether it has a comma. */
  #start = 0;
  #end = 0;
  #comma = false;
  /** The words of the uuid {@linkcode #uuid} read, as `writeUuidWords` writes them. */
  readonly #uuidWords = new Uint32Array(4);

  readonly #keys: readonly Uint8Array[];
  readonly #closing: Uint8Array;
  readonly #kinds: readonly Kind[];
  readonly #keyColumn: number;

  /**
   * `capacity`: the longest CSV line taken; longer records are left to the slower paths.
   * `contract`: the record's (the user's unless a test says otherwise).
   */
  constructor(options: { capacity?: number; contract?: RecordContract } = {}) {
    const contract = options.contract ?? USER_CONTRACT;
    this.#out = new Uint8Array(options.capacity ?? 64 * 1024);
    const { keys, end } = template(contract);
    this.#keys = keys;
    this.#closing = end;
    this.#kinds = contract.fields.map(kindOf);
    this.#keyColumn = contract.keyIndex;
  }

  /** The CSV line (CRLF included) of the record the last {@linkcode encode} took. */
  get csv(): Uint8Array {
    return this.#out.subarray(0, this.#length);
  }

  /**
   * Reads the record that starts at `body[start]`: when it takes it, returns the index just past
   * it, sets {@linkcode csv} and writes its uuid as four words at `uuids[uuidAt]`; otherwise -1
   * (and those four words may hold anything).
   */
  encode(body: Uint8Array, start: number, uuids: Uint32Array, uuidAt: number): number {
    this.#body = body;
    this.#at = start;
    this.#length = 0;
    const keys = this.#keys;
    const kinds = this.#kinds;
    for (let column = 0; column < keys.length; column++) {
      if (!this.#literal(keys[column]!)) return -1;
      if (column > 0) {
        if (this.#length === this.#out.length) return -1;
        this.#out[this.#length++] = COMMA;
      }
      if (!this.#value(kinds[column]!)) return -1;
      if (column === this.#keyColumn) uuids.set(this.#uuidWords, uuidAt);
    }
    if (!this.#literal(this.#closing) || this.#length + 2 > this.#out.length) return -1;
    this.#out[this.#length++] = CR;
    this.#out[this.#length++] = LF;
    return this.#at;
  }

  #literal(bytes: Uint8Array): boolean {
    const body = this.#body;
    const at = this.#at;
    if (at + bytes.length > body.length) return false;
    for (let i = 0; i < bytes.length; i++) if (body[at + i] !== bytes[i]) return false;
    this.#at = at + bytes.length;
    return true;
  }

  #value(kind: Kind): boolean {
    switch (kind) {
      case "text":
        return this.#text();
      case "nullableText":
        return this.#literal(NULL_BYTES) || this.#text();
      case "int4":
        return this.#integer(10, true);
      case "postcode":
        return this.#body[this.#at] === QUOTE ? this.#text() : this.#integer(15, false);
      case "decimal":
        return this.#decimal();
      case "timestamp":
        return this.#timestamp();
      case "uuid":
        return this.#uuid();
    }
  }

  /**
   * The string at the read position, if it needs no unescaping and is valid UTF-8: its characters
   * are `[#start, #end)`, and `#comma` says whether one is a comma (CSV then quotes it).
   */
  #string(): boolean {
    const body = this.#body;
    const start = this.#at + 1;
    if (body[this.#at] !== QUOTE) return false;
    let comma = false;
    let ascii = true;
    for (let i = start; i < body.length; i++) {
      const code = body[i]!;
      if (code === QUOTE) {
        if (!ascii && !isUtf8(body, start, i)) return false;
        this.#at = i + 1;
        this.#start = start;
        this.#end = i;
        this.#comma = comma;
        return true;
      }
      // An escape (the slower paths unescape), or a control character (not JSON).
      if (code === BACKSLASH || code < 0x20) return false;
      if (code === COMMA) comma = true;
      else if (code >= 0x80) ascii = false;
    }
    return false;
  }

  /**
   * Text, as `csv_text.ts` writes it: quoted when it holds a comma, `""` when empty. The same checks
   * as {@linkcode #string}, copying as it reads (the hot loop of the extract).
   */
  #text(): boolean {
    const body = this.#body;
    const out = this.#out;
    const first = this.#length;
    let at = this.#at;
    if (body[at] !== QUOTE) return false;
    const start = ++at;
    let length = first;
    const limit = out.length - 2; // room for the quotes
    let comma = false;
    let ascii = true;
    for (;; at++) {
      if (at >= body.length || length >= limit) return false;
      const code = body[at]!;
      if (code === QUOTE) break;
      if (code === BACKSLASH || code < 0x20) return false;
      if (code === COMMA) comma = true;
      else if (code >= 0x80) ascii = false;
      out[length++] = code;
    }
    if (!ascii && !isUtf8(body, start, at)) return false;
    if (comma || at === start) {
      out.copyWithin(first + 1, first, length);
      out[first] = QUOTE;
      out[length + 1] = QUOTE;
      length += 2;
    }
    this.#length = length;
    this.#at = at + 1;
    return true;
  }

  /** A plain integer of at most `digits` digits (no leading zero, no `-0`), within int4 if asked. */
  #integer(digits: number, int4: boolean): boolean {
    const body = this.#body;
    const start = this.#at;
    let at = start;
    const negative = body[at] === MINUS;
    if (negative) at++;
    const first = at;
    let value = 0;
    while (at < body.length && body[at]! >= ZERO && body[at]! <= NINE) {
      value = value * 10 + body[at]! - ZERO;
      at++;
    }
    const count = at - first;
    if (count === 0 || count > digits || (body[first] === ZERO && (count > 1 || negative))) {
      return false;
    }
    // A fraction or an exponent after the digits fails the key that must follow them (`,` or `}`).
    if (int4 && (negative ? -value < INT4_MIN : value > INT4_MAX)) return false;
    this.#at = at;
    return this.#copy(start, at);
  }

  /** A decimal text numeric takes as it is (`DECIMAL_TEXT`, within its fraction's bound). */
  #decimal(): boolean {
    if (!this.#string() || this.#end - this.#start > NUMERIC_MAX_FRACTION_DIGITS) return false;
    const body = this.#body;
    const end = this.#end;
    let at = this.#start;
    if (body[at] === PLUS || body[at] === MINUS) at++;
    let whole = 0;
    while (at < end && body[at]! >= ZERO && body[at]! <= NINE) (at++, whole++);
    let fraction = 0;
    if (at < end && body[at] === DOT) {
      at++;
      while (at < end && body[at]! >= ZERO && body[at]! <= NINE) (at++, fraction++);
    }
    if (at !== end || (whole === 0 && fraction === 0)) return false;
    return this.#copy(this.#start, end);
  }

  /** An ISO timestamp timestamptz takes as the same instant (`isStorableTimestamp`). */
  #timestamp(): boolean {
    if (!this.#string() || this.#comma || this.#end - this.#start > 64) return false;
    if (isPlainUtcTimestamp(this.#body, this.#start, this.#end)) {
      return this.#copy(this.#start, this.#end);
    }
    const bytes = this.#body.subarray(this.#start, this.#end);
    // Byte by byte: non-ASCII bytes become characters the pattern refuses, as it refuses theirs.
    const text = String.fromCharCode.apply(null, bytes as unknown as number[]);
    return isStorableTimestamp(text) && this.#copy(this.#start, this.#end);
  }

  /** 8-4-4-4-12 hex digits (`UUID_TEXT`). */
  #uuid(): boolean {
    if (!this.#string() || this.#end - this.#start !== 36) return false;
    const body = this.#body;
    const words = this.#uuidWords;
    // Its words as it is checked: 0-7, 9-12 + 14-17, 19-22 + 24-27, 28-35 (dashes skipped).
    let word = 0;
    let digits = 0;
    for (let offset = 0; offset < 36; offset++) {
      const code = body[this.#start + offset]!;
      if (isUuidDash(offset)) {
        if (code !== MINUS) return false;
        continue;
      }
      const value = hexValue(code);
      if (value < 0) return false;
      word = word * 16 + value;
      if (++digits % 8 === 0) {
        words[digits / 8 - 1] = word;
        word = 0;
      }
    }
    return this.#copy(this.#start, this.#end);
  }

  /** Copies the body's `[start, end)` (ASCII, nothing to quote) to the line. */
  #copy(start: number, end: number): boolean {
    if (this.#length + (end - start) > this.#out.length) return false;
    const out = this.#out;
    const body = this.#body;
    let length = this.#length;
    for (let i = start; i < end; i++) out[length++] = body[i]!;
    this.#length = length;
    return true;
  }
}
