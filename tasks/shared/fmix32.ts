/**
 * murmur3's 32-bit finalizer, the project's one integer hash: the stand-in API's seeded
 * randomness, the bench's replay masks and the extract's UUID set mix with it.
 *
 * @module
 */

/** murmur3's 32-bit finalizer: a bijection on 32-bit integers (the result is signed). */
export function fmix32(value: number): number {
  let h = value | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}
