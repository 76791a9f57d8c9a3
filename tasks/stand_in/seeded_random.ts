/**
 * The stand-in's seeded randomness: a 128-bit hash of the seed, mixed with page and index,
 * drives sfc32, so each user depends only on (seed, page, index).
 *
 * @module
 */
import { fmix32 } from "../shared/fmix32.ts";

/** A small fast PRNG (sfc32) with 128 bits of state. */
export class Random {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(a: number, b: number, c: number, d: number) {
    this.#a = a | 0;
    this.#b = b | 0;
    this.#c = c | 0;
    this.#d = d | 0;
    for (let i = 0; i < 15; i++) this.next();
  }

  /** An unsigned 32-bit integer. */
  next(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (((this.#c << 21) | (this.#c >>> 11)) + t) | 0;
    return t >>> 0;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.next() / 4294967296) * n);
  }

  /** A float in [0, 1) with 53 bits of precision. */
  float(): number {
    return ((this.next() >>> 5) * 67108864 + (this.next() >>> 6)) / 9007199254740992;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new Error("fake randomuser: cannot pick from an empty pool");
    return item;
  }

  /** `count` random decimal digits. */
  digits(count: number): string {
    let out = "";
    for (let i = 0; i < count; i++) out += String.fromCharCode(48 + this.int(10));
    return out;
  }
}

/** cyrb128: a 128-bit non-cryptographic string hash. */
export function hash128(text: string): [number, number, number, number] {
  let h1 = 1779033703, h2 = 3144134277, h3 = 1013904242, h4 = 2773480762;
  for (let i = 0; i < text.length; i++) {
    const k = text.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 ^ text.length, h2, h3, h4];
}

/** The PRNG for one user: distinct (page, index) give distinct 128-bit states for a seed. */
export function userRandom(key: readonly number[], page: number, index: number): Random {
  const [k0 = 0, k1 = 0, k2 = 0, k3 = 0] = key;
  return new Random(
    k0 ^ fmix32(page),
    k1 ^ fmix32(index ^ 0x9e3779b9),
    k2 ^ fmix32(Math.imul(page, 0x27d4eb2f) ^ index),
    k3,
  );
}
