/**
 * A set of UUIDs that costs 16 bytes a member (about 22 with the table's free slots) instead of
 * the ~100 of a `Set<string>`: the extract remembers every user of a run in it, to drop a user
 * the API repeats, so it is the one part of the extract's memory that grows with the run (about
 * 22 MB for a million users, allocated once: the run says how many users to expect).
 *
 * Case does not matter (`A0…` and `a0…` are the same UUID, as PostgreSQL's `uuid` type says).
 *
 * @example
 * ```ts
 * const seen = new UuidSet();
 * seen.add("0f8b6a9e-8c1d-4d4e-9a51-6f0e2c9d1b77"); // true: new
 * seen.add("0F8B6A9E-8C1D-4D4E-9A51-6F0E2C9D1B77"); // false: already there
 * ```
 *
 * @module
 */
import { fmix32 } from "../shared/fmix32.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MIN_SLOTS = 1 << 12;
/** Members per slot before the table grows; linear probing stays short up to here. */
const MAX_LOAD = 0.75;

/** An open-addressing hash set of 128-bit keys, four 32-bit words per slot. */
export class UuidSet {
  #slots: number;
  #words: Uint32Array;
  /** Which slots hold a key (a key may be all zeros, so the words alone cannot say). */
  #used: Uint8Array;
  #size = 0;

  /** A set sized for `expected` members (it grows past them, at the cost of a copy). */
  constructor(expected = 0) {
    this.#slots = Math.max(MIN_SLOTS, Math.ceil(expected / MAX_LOAD) + 1);
    this.#words = new Uint32Array(this.#slots * 4);
    this.#used = new Uint8Array(this.#slots);
  }

  /** Members so far. */
  get size(): number {
    return this.#size;
  }

  /** Adds `uuid` (8-4-4-4-12 hex digits, any case); false when it was already a member. */
  add(uuid: string): boolean {
    const words = new Uint32Array(4);
    writeUuidWords(uuid, words, 0);
    return this.addWords(words, 0);
  }

  /**
   * Adds the UUID held in `words[at…at+3]` (as {@linkcode writeUuidWords} wrote it); false when it
   * was already a member.
   */
  addWords(words: Uint32Array, at: number): boolean {
    if (!this.#insert(words[at]!, words[at + 1]!, words[at + 2]!, words[at + 3]!)) return false;
    this.#size++;
    if (this.#size > this.#slots * MAX_LOAD) this.#grow();
    return true;
  }

  /** Inserts the key unless present; true when it was inserted. */
  #insert(a: number, b: number, c: number, d: number): boolean {
    const slots = this.#slots;
    // UUIDs of version 4 are random, but a hostile API could send crafted ones: mix all words,
    // then scale the 32-bit hash to the table's size (any size, not only powers of two).
    const hash = fmix32(a ^ fmix32(b ^ fmix32(c ^ fmix32(d)))) >>> 0;
    let slot = Math.min(slots - 1, Math.floor(hash * slots / 4_294_967_296));
    const words = this.#words;
    while (this.#used[slot]) {
      const at = slot * 4;
      if (words[at] === a && words[at + 1] === b && words[at + 2] === c && words[at + 3] === d) {
        return false;
      }
      slot = slot + 1 === slots ? 0 : slot + 1;
    }
    this.#used[slot] = 1;
    const at = slot * 4;
    words[at] = a;
    words[at + 1] = b;
    words[at + 2] = c;
    words[at + 3] = d;
    return true;
  }

  #grow(): void {
    const words = this.#words;
    const used = this.#used;
    this.#slots *= 2;
    this.#words = new Uint32Array(this.#slots * 4);
    this.#used = new Uint8Array(this.#slots);
    for (let slot = 0; slot < used.length; slot++) {
      if (!used[slot]) continue;
      const at = slot * 4;
      this.#insert(words[at]!, words[at + 1]!, words[at + 2]!, words[at + 3]!);
    }
  }
}

/** Writes the 128 bits of `uuid` (8-4-4-4-12 hex digits, any case) as four words at `at`. */
export function writeUuidWords(uuid: string, into: Uint32Array, at: number): void {
  if (!UUID.test(uuid)) throw new TypeError(`not a UUID: ${JSON.stringify(uuid)}`);
  into[at] = parseInt(uuid.slice(0, 8), 16);
  into[at + 1] = parseInt(uuid.slice(9, 13) + uuid.slice(14, 18), 16);
  into[at + 2] = parseInt(uuid.slice(19, 23) + uuid.slice(24, 28), 16);
  into[at + 3] = parseInt(uuid.slice(28, 36), 16);
}

/** The UUID held in `words[at…at+3]`, as lower-case 8-4-4-4-12 text. */
export function uuidText(words: Uint32Array, at: number): string {
  const hex = [0, 1, 2, 3].map((i) => words[at + i]!.toString(16).padStart(8, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-` +
    hex.slice(20);
}
