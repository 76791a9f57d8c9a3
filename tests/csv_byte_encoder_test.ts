/**
 * The extract's byte path (`tasks/extract/byte_path/`) against the slower paths it stands in for: for
 * every record it takes, its line is `userCsvLine(JSON.parse(record))` byte for byte, its uuid
 * words are `writeUuidWords`'s, and the record is JSON with no field the contract lacks — over
 * the stand-in's users of every nationality, hostile text, the warehouse's boundary values, and
 * thousands of byte-level mutations (control characters, broken UTF-8, escapes, odd numbers).
 */
import assert from "node:assert/strict";
import { isStorableTimestamp } from "../tasks/extract/column_bounds.ts";
import { csvByteEncoder } from "../tasks/extract/byte_path/csv_byte_encoder.ts";
import { isPlainUtcTimestamp, isUtf8 } from "../tasks/extract/byte_path/value_bytes.ts";
import { userCsvLine } from "../tasks/extract/user_csv_line.ts";
import { unknownFields } from "../tasks/extract/user_fields.ts";
import { writeUuidWords } from "../tasks/extract/uuid_set.ts";
import { applyDataFault } from "../tasks/stand_in/faults.ts";
import { Random } from "../tasks/stand_in/seeded_random.ts";
import { generatePage } from "../tasks/stand_in/user_generator.ts";
import { hostileAndBoundaryPatches } from "./helpers/boundary_values.ts";

const strict = new TextDecoder("utf-8", { fatal: true });
const utf8 = new TextEncoder();
const encoder = csvByteEncoder();

/** What the slower paths make of `bytes`: the CSV line and uuid words, or why nothing. */
function slowerPaths(bytes: Uint8Array): { line: string; words: Uint32Array } | string {
  let record: unknown;
  try {
    record = JSON.parse(strict.decode(bytes));
  } catch (error) {
    return `not JSON: ${error}`;
  }
  if (unknownFields(record).length > 0) return "fields the contract lacks";
  const line = userCsvLine(record);
  if (line === undefined) return "the fast path leaves it to zod";
  const words = new Uint32Array(4);
  writeUuidWords((record as { login: { uuid: string } }).login.uuid, words, 0);
  return { line, words };
}

/** Encodes `bytes` (one record) and checks the result against {@linkcode slowerPaths}. */
function assertAsSlowerPaths(bytes: Uint8Array, label: string): boolean {
  const words = new Uint32Array(4);
  const end = encoder.encode(bytes, 0, words, 0);
  if (end < 0) return false;
  const taken = bytes.subarray(0, end);
  const expected = slowerPaths(taken);
  assert.ok(typeof expected !== "string", `${label}: taken, but ${expected}`);
  assert.equal(strict.decode(encoder.csv), expected.line, label);
  assert.deepEqual(words, expected.words, label);
  return true;
}

/** The stand-in's users (every nationality), then hostile text and boundary values in them. */
function records(): unknown[] {
  const clean = generatePage({ seed: "bytes", page: 1, results: 3000 }).results;
  const patched = applyDataFault(generatePage({ seed: "bytes-b", page: 1, results: 200 }), {
    kind: "patch",
    patches: [
      ...hostileAndBoundaryPatches(),
      { index: 120, set: { "id.value": null, "location.postcode": 0 } },
      { index: 121, set: { "location.postcode": -123456789012345, "dob.age": -2_147_483_648 } },
      { index: 122, set: { "location.postcode": 1234567890123456, "dob.age": 2_147_483_647 } },
      { index: 123, set: { "registered.age": 2_147_483_648, "location.postcode": 1.5 } },
      { index: 124, set: { "location.coordinates.latitude": "+.5", "dob.age": 1e3 } },
      {
        index: 125,
        set: { "location.postcode": "", "login.uuid": "0F8B6A9E-8C1D-4D4E-9A51-6F0E2C9D1B77" },
      },
    ],
  }) as { results: unknown[] };
  return [...clean, ...patched.results];
}

Deno.test("the byte path writes the fast path's line and the uuid's words for what it takes", () => {
  const all = records();
  let taken = 0;
  all.forEach((record, index) => {
    if (assertAsSlowerPaths(utf8.encode(JSON.stringify(record)), `record ${index}`)) taken++;
  });
  // Every clean user of every nationality, and most of the patched ones, went the fast way.
  assert.ok(taken >= 3000 + 100, `only ${taken} of ${all.length} records taken`);
});

Deno.test("the byte path takes nothing the slower paths would read otherwise: byte mutations", () => {
  const random = new Random(18, 12, 2026, 3);
  const base = generatePage({ seed: "bytes-m", page: 1, results: 200 }).results
    .map((record) => utf8.encode(JSON.stringify(record)));
  const alphabet = [
    ...utf8.encode('{}[],:" \\/.-+0159eEnul\t'),
    0x00,
    0x1f,
    0x7f,
    0x80,
    0xbf,
    0xc0,
    0xc2,
    0xc3,
    0xdf,
    0xe0,
    0xed,
    0xef,
    0xf0,
    0xf4,
    0xf5,
    0xff,
  ];
  let taken = 0;
  let refused = 0;
  for (let i = 0; i < 30_000; i++) {
    let bytes = base[i % base.length]!.slice();
    for (let m = 0; m <= random.int(2); m++) {
      const at = random.int(bytes.length);
      const byte = alphabet[random.int(alphabet.length)]!;
      const how = random.int(3);
      if (how === 0) bytes[at] = byte;
      else if (how === 1) {
        bytes = Uint8Array.of(...bytes.subarray(0, at), byte, ...bytes.subarray(at));
      } else bytes = Uint8Array.of(...bytes.subarray(0, at), ...bytes.subarray(at + 1));
    }
    if (assertAsSlowerPaths(bytes, `mutation ${i}: ${new TextDecoder().decode(bytes)}`)) taken++;
    else refused++;
  }
  assert.ok(taken > 5_000 && refused > 5_000, `${taken} taken, ${refused} refused`);
});

Deno.test("the byte path's UTF-8 check is the strict decoder's", () => {
  const random = new Random(8, 8, 8, 8);
  const interesting = [
    0x00,
    0x41,
    0x7f,
    0x80,
    0x8f,
    0x90,
    0x9f,
    0xa0,
    0xbf,
    0xc0,
    0xc1,
    0xc2,
    0xdf,
  ];
  interesting.push(0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xf8, 0xff);
  const valid = (bytes: Uint8Array) => {
    try {
      strict.decode(bytes);
      return true;
    } catch {
      return false;
    }
  };
  let accepted = 0;
  for (let i = 0; i < 200_000; i++) {
    const bytes = Uint8Array.from(
      { length: 1 + random.int(5) },
      () => random.int(4) === 0 ? random.int(256) : interesting[random.int(interesting.length)]!,
    );
    assert.equal(isUtf8(bytes, 0, bytes.length), valid(bytes), `bytes ${[...bytes]}`);
    if (valid(bytes)) accepted++;
  }
  assert.ok(accepted > 10_000, `${accepted}`);
  for (const text of ["é", "中文", "😀", "\u{10FFFF}", "\uFFFF", "\u07FF", "\u0800"]) {
    const bytes = utf8.encode(`a${text}b`);
    assert.ok(isUtf8(bytes, 0, bytes.length), text);
    assert.ok(!isUtf8(bytes, 0, bytes.length - 2), `${text} cut`);
  }
});

Deno.test("the byte path's own timestamp check takes only what isStorableTimestamp takes", () => {
  const random = new Random(29, 2, 2000, 24);
  const pad = (value: number, width: number) => String(value).padStart(width, "0");
  let plain = 0;
  for (let i = 0; i < 100_000; i++) {
    // Every field a little past its range; Feb 29 of any century, often.
    const year = random.int(4) === 0
      ? random.int(100) * 100 + random.int(2) * 4
      : random.int(10_000);
    const month = random.int(3) === 0 ? 2 : random.int(14);
    const day = random.int(3) === 0 ? 29 + random.int(3) : random.int(33);
    const text = `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${pad(random.int(26), 2)}:` +
      `${pad(random.int(62), 2)}:${pad(random.int(62), 2)}.${pad(random.int(1000), 3)}Z`;
    const bytes = utf8.encode(text);
    const ours = isPlainUtcTimestamp(bytes, 0, bytes.length);
    assert.equal(ours, isStorableTimestamp(text), text);
    if (ours) plain++;
  }
  assert.ok(plain > 10_000, `${plain}`);
  for (const text of ["2000-01-01T00:00:00Z", "2000-01-01T00:00:00.000+00:00", "2000-01-01"]) {
    assert.ok(!isPlainUtcTimestamp(utf8.encode(text), 0, text.length), text);
  }
});
