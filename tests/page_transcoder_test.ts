/**
 * The extract's fast path against zod: over the stand-in's pages, its data faults, hostile text,
 * the warehouse's boundary values and thousands of random mutations, the page transcoder (fast
 * path, zod for the rest) must write exactly the rows and the reject reasons that zod alone gives,
 * and report the same unknown fields — and the fast path must be the one that does the work.
 */
import assert from "node:assert/strict";
import { csvLine } from "../tasks/extract/csv_text.ts";
import { transcodePage } from "../tasks/extract/page_transcoder.ts";
import { PageTranscoderPool } from "../tasks/extract/page_transcoder_pool.ts";
import { userCsvLine } from "../tasks/extract/user_csv_line.ts";
import { z } from "zod";
import { ISO_TIMESTAMP, UUID_TEXT } from "../tasks/extract/column_bounds.ts";
import {
  type FieldTree,
  flattenUser,
  KNOWN_FIELDS,
  unknownFields,
} from "../tasks/extract/user_fields.ts";
import { parseUser, schemaFieldTree } from "../tasks/extract/user_schema.ts";
import { applyDataFault } from "../tasks/stand_in/faults.ts";
import { Random } from "../tasks/stand_in/seeded_random.ts";
import { generatePage } from "../tasks/stand_in/user_generator.ts";
import { BOUNDARY_VALUES, hostileAndBoundaryPatches } from "./helpers/boundary_values.ts";

type Record_ = Record<string, unknown>;

/** Every field path of a record, objects and leaves, and a few the contract does not have. */
const PATHS: readonly string[] = [
  ...(function paths(tree: FieldTree, prefix: string): string[] {
    return Object.entries(tree).flatMap(([field, child]) => [
      prefix + field,
      ...(child ? paths(child, `${prefix}${field}.`) : []),
    ]);
  })(KNOWN_FIELDS, ""),
  "extra",
  "location.extra",
  "login.mfa_secret",
];

/** Values a mutation puts somewhere; `undefined` deletes the field. */
const ODD_VALUES: readonly unknown[] = [
  undefined,
  null,
  "",
  " ",
  "x",
  "\\.",
  "\u0000",
  "a\u0000b",
  "\ud800",
  "😀",
  '"',
  ",",
  "\r\n",
  0,
  -0,
  1.5,
  -1,
  2_147_483_647,
  2_147_483_648,
  -2_147_483_649,
  1e21,
  true,
  [],
  [1],
  {},
  { nested: 1 },
  "12",
  "-69.8246",
  "+.5",
  "5.",
  "1e5",
  "NaN",
  "2000-01-01T00:00:00Z",
  "2000-01-01T00:00:00.1234567Z",
  "2000-01-01T00:00:00+16:00",
  "0000-01-01T00:00:00Z",
  "2000-02-30T00:00:00Z",
  "2000-01-01",
  "0f8b6a9e-8c1d-4d4e-9a51-6f0e2c9d1b77",
  "0F8B6A9E-8C1D-4D4E-9A51-6F0E2C9D1B77",
  "0f8b6a9e8c1d4d4e9a516f0e2c9d1b77",
  ...BOUNDARY_VALUES.flatMap(([, at, past]) => [at, past]),
];

function setPath(record: Record_, path: string, value: unknown): void {
  const keys = path.split(".");
  let node: unknown = record;
  for (const key of keys.slice(0, -1)) {
    if (typeof node !== "object" || node === null) return;
    node = (node as Record_)[key];
  }
  if (typeof node !== "object" || node === null || Array.isArray(node)) return;
  if (value === undefined) delete (node as Record_)[keys.at(-1)!];
  else (node as Record_)[keys.at(-1)!] = structuredClone(value);
}

/** The corpus: clean pages, the stand-in's data faults, hostile text, and random mutations. */
function corpus(): unknown[] {
  const records: unknown[] = [];
  for (const seed of ["corpus-a", "corpus-b"]) {
    records.push(...generatePage({ seed, page: 1, results: 1500 }).results);
  }
  const faulty = generatePage({ seed: "corpus-c", page: 1, results: 200 });
  const patched = applyDataFault(faulty, {
    kind: "patch",
    patches: [
      ...hostileAndBoundaryPatches(),
    ],
  }) as { results: unknown[] };
  records.push(...patched.results);
  const wrong = applyDataFault(generatePage({ seed: "corpus-d", page: 1, results: 20 }), {
    kind: "wrong_types",
    records: 20,
  }) as { results: unknown[] };
  records.push(...wrong.results);
  const random = new Random(18, 2026, 12, 3);
  const base = generatePage({ seed: "corpus-e", page: 1, results: 500 }).results;
  for (let i = 0; i < 20_000; i++) {
    const record = structuredClone(base[i % base.length]) as unknown as Record_;
    for (let m = 0; m <= random.int(3); m++) {
      setPath(record, random.pick(PATHS), ODD_VALUES[random.int(ODD_VALUES.length)]);
    }
    records.push(record);
  }
  records.push(null, 7, "user", [], {});
  return records;
}

/** A page body holding `records`, with one `1e999` (JSON's Infinity) where 987654321 was. */
function pageBody(records: readonly unknown[], request: { seed: string; page: number }) {
  const json = JSON.stringify({ results: records, info: { ...request, results: records.length } });
  return new TextEncoder().encode(json.replace(":987654321,", ":1e999,"));
}

Deno.test("the fast path writes exactly the rows and reject reasons zod gives, over the whole corpus", async () => {
  const records = corpus();
  (records[3] as Record_ & { dob: Record_ }).dob.age = 987654321; // becomes Infinity on the way
  const request = { ds: "2026-01-01", seed: "corpus", page: 1, results: records.length };
  const body = pageBody(records, request);
  const parsed = JSON.parse(new TextDecoder().decode(body)).results as unknown[];

  const expectedRows: string[] = [];
  const expectedReasons: Array<[number, string]> = [];
  const expectedDrift = new Set<string>();
  let fast = 0;
  parsed.forEach((record, index) => {
    for (const path of unknownFields(record)) expectedDrift.add(path);
    const zod = parseUser(record);
    const line = userCsvLine(record);
    if (line !== undefined) {
      fast++;
      assert.ok(
        zod.ok,
        `the fast path accepts record ${index}, zod refuses it: ${!zod.ok && zod.reason}`,
      );
    }
    if (zod.ok) {
      const reference = csvLine(flattenUser(zod.user));
      if (line !== undefined) assert.equal(line, reference, `record ${index}`);
      expectedRows.push(reference);
    } else {
      expectedReasons.push([index, zod.reason]);
    }
  });

  const page = await transcodePage(body, request);
  const text = new TextDecoder().decode(page.csv);
  assert.equal(text, expectedRows.join(""));
  assert.equal(page.rowEnds.length, expectedRows.length);
  assert.equal(page.rowEnds.at(-1), page.csv.length);
  const rejects = new TextDecoder().decode(page.rejects).trim().split("\n")
    .map((line) => JSON.parse(line) as { index: number; reason: string; ds: string; page: number });
  assert.deepEqual(rejects.map((reject) => [reject.index, reject.reason]), expectedReasons);
  assert.equal(page.rejectCount, expectedReasons.length);
  assert.deepEqual(new Set(page.drift), expectedDrift);

  // Both sides of every rule were reached, and the clean records took the fast path.
  assert.ok(
    expectedReasons.length > 5_000 && expectedRows.length > 5_000,
    `${expectedRows.length} rows`,
  );
  assert.ok(fast >= 3_000 + 150, `only ${fast} records took the fast path`);
});

Deno.test("the worker pool transcodes pages as the main thread does, in any order of completion", async () => {
  using pool = PageTranscoderPool.create(2);
  const pages = [1, 2, 3, 4].map((page) => {
    const results = generatePage({ seed: "pool", page, results: 300 }).results;
    return { request: { ds: "2026-01-01", seed: "pool", page, results: 300 }, results };
  });
  const done = await Promise.all(
    pages.map(({ request, results }) => pool.transcode(pageBody(results, request), request)),
  );
  for (const [i, { request, results }] of pages.entries()) {
    const local = await transcodePage(pageBody(results, request), request);
    assert.deepEqual(done[i], local);
  }
  // A body that is not the page asked for is a PageError (retried by the client), not a crash.
  const request = { ds: "2026-01-01", seed: "pool", page: 9, results: 3 };
  await assert.rejects(
    pool.transcode(new TextEncoder().encode('{"results": [1, 2'), request),
    (error: Error) => error.name === "PageError" && /not valid JSON/.test(error.message),
  );
});

Deno.test("the zod-free parts say what zod says: its patterns, and the schema's fields", () => {
  assert.equal(ISO_TIMESTAMP.source, z.regexes.datetime({ offset: true }).source);
  assert.equal(UUID_TEXT.source, z.regexes.guid.source);
  assert.deepEqual(KNOWN_FIELDS, schemaFieldTree());
});
