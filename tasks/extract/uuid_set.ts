/**
 * A set of UUIDs that costs 16 bytes a member (32 at most, with the table's free slots) instead
 * of the ~100 of a `Set<string>`: the extract remembers every user of a run in it, to drop a
 * user the API repeats, so it is the one part of the extract's memory that grows with the run
 * (about 32 MB for a million users).
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
const INITIAL_SLOTS = 1 << 12;

/** An open-addressing hash set of 128-bit keys, four 32-bit words per slot. */
export class UuidSet {
  #slots = INITIAL_SLOTS;
  #words = new Uint32Array(INITIAL_SLOTS * 4);
  /** Which slots hold a key (a key may be all zeros, so the words alone cannot say). */
  #used = new Uint8Array(INITIAL_SLOTS);
  #size = 0;

  /** Members so far. */
  get size(): number {
    return this.#size;
  }

  /** Adds `uuid` (8-4-4-4-12 hex digits, any case); false when it was already a member. */
  add(uuid: string): boolean {
    if (!UUID.test(uuid)) throw new TypeError(`not a UUID: ${JSON.stringify(uuid)}`);
    const hex = uuid.replaceAll("-", "");
    const a = parseInt(hex.slice(0, 8), 16) >>> 0;
    const b = parseInt(hex.slice(8, 16), 16) >>> 0;
    const c = parseInt(hex.slice(16, 24), 16) >>> 0;
    const d = parseInt(hex.slice(24, 32), 16) >>> 0;
    if (!this.#insert(a, b, c, d)) return false;
    this.#size++;
    if (this.#size * 2 > this.#slots) this.#grow();
    return true;
  }

  /** Inserts the key unless present; true when it was inserted. */
  #insert(a: number, b: number, c: number, d: number): boolean {
    const mask = this.#slots - 1;
    // UUIDs of version 4 are random, but a hostile API could send crafted ones: mix all words.
    let slot = fmix32(a ^ fmix32(b ^ fmix32(c ^ fmix32(d)))) & mask;
    const words = this.#words;
    while (this.#used[slot]) {
      const at = slot * 4;
      if (words[at] === a && words[at + 1] === b && words[at + 2] === c && words[at + 3] === d) {
        return false;
      }
      slot = (slot + 1) & mask;
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
