/**
 * Values at each boundary of what `raw.users` can hold (accepted by the extract, and loaded as
 * sent) and just past it (rejected by the extract, naming the field): PostgreSQL's timestamptz
 * range, offsets and precision, numeric's digits, int4, text without NUL or lone surrogates.
 *
 * @module
 */
import type { FieldPatch } from "../../tasks/stand_in/faults.ts";
import { HOSTILE_TEXT } from "./hostile_text.ts";

/** `[field path, a value at the boundary, a value just past it]`. */
export const BOUNDARY_VALUES: ReadonlyArray<readonly [string, unknown, unknown]> = [
  ["dob.date", "0001-01-01T00:00:00.000Z", "0000-06-01T00:00:00.000Z"],
  ["registered.date", "2001-02-03T04:05:06+15:59", "2001-02-03T04:05:06+16:00"],
  ["dob.date", "1970-01-01T00:00:00-15:59", "1970-01-01T00:00:00-23:00"],
  ["registered.date", "2010-10-10T10:10:10.123456Z", "2010-10-10T10:10:10.1234567Z"],
  ["location.coordinates.latitude", "9".repeat(131_072), "9".repeat(131_073)],
  ["location.coordinates.longitude", "-0." + "1".repeat(16_383), "-0." + "1".repeat(16_384)],
  ["dob.age", 2_147_483_647, 2_147_483_648],
  ["location.street.number", -2_147_483_648, -2_147_483_649],
  ["name.last", "tab\tand \\N", "nul\u0000byte"],
  ["location.city", "pair 😀", "lone \ud83d surrogate"],
];

/**
 * Patches for a stand-in page of at least 100 users: each hostile text in one user's names, city
 * and id value (from index 0), then each boundary value at and past it (from index 50).
 */
export function hostileAndBoundaryPatches(): FieldPatch[] {
  return [
    ...HOSTILE_TEXT.map((value, index) => ({
      index,
      set: { "name.first": value, "location.city": value, "id.value": value },
    })),
    ...BOUNDARY_VALUES.flatMap(([path, at, past], i) => [
      { index: 50 + 2 * i, set: { [path]: at } },
      { index: 51 + 2 * i, set: { [path]: past } },
    ]),
  ];
}
