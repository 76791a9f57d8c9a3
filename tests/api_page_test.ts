/**
 * The record-by-record page reader against `JSON.parse` of the whole body: over every truncation
 * and thousands of random byte mutations of a real page, and over layouts a server may choose
 * (spaces, key order, an error answer), both accept the same bodies with the same records, and
 * refuse the same ones — with the extract's byte path (`byte_path/csv_byte_encoder.ts`) taking the records it
 * can, and without it.
 */
import assert from "node:assert/strict";
import { PageError, readApiPage, TAKEN } from "../tasks/extract/api_page.ts";
import { csvByteEncoder } from "../tasks/extract/byte_path/csv_byte_encoder.ts";
import { Random } from "../tasks/stand_in/seeded_random.ts";
import { generatePage } from "../tasks/stand_in/user_generator.ts";

const REQUEST = { seed: "reader", page: 1, results: 3 };

/** The reference: the whole body through JSON.parse, then the same checks. */
function wholeBody(body: Uint8Array): unknown[] | "refused" {
  let json: { results?: unknown; info?: { seed?: unknown; page?: unknown } };
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch {
    return "refused";
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) return "refused";
  if (!Array.isArray(json.results) || json.results.length !== REQUEST.results) return "refused";
  const info = typeof json.info === "object" && json.info !== null ? json.info : undefined;
  if (info && (info.seed !== REQUEST.seed || Number(info.page) !== REQUEST.page)) return "refused";
  return json.results;
}

const strict = new TextDecoder("utf-8", { fatal: true });
const encoder = csvByteEncoder();

/**
 * The reader's records. `byBytes`: the extract's byte path takes what it can, and each record it
 * takes must be JSON on its own (else this throws, which fails the test): it stands for it.
 */
function ours(body: Uint8Array, byBytes: boolean): unknown[] | "refused" {
  const taken: unknown[] = [];
  const take = (bytes: Uint8Array, start: number) => {
    const end = encoder.encode(bytes, start, new Uint32Array(4), 0);
    if (end >= 0) taken.push(JSON.parse(strict.decode(bytes.subarray(start, end))));
    return end;
  };
  try {
    const records = [...readApiPage(body, REQUEST, undefined, byBytes ? take : undefined)];
    return records.map((record) => record === TAKEN ? taken.shift() : record);
  } catch (error) {
    if (error instanceof PageError) return "refused";
    throw error;
  }
}

/** Both ways of reading agree with the reference; returns the reference. */
function assertReadAsJsonParse(bytes: Uint8Array, message = ""): unknown[] | "refused" {
  const expected = wholeBody(bytes);
  assert.deepEqual(ours(bytes, false), expected, message);
  assert.deepEqual(ours(bytes, true), expected, message);
  return expected;
}

const page = generatePage({ ...REQUEST });
const body = new TextEncoder().encode(JSON.stringify(page));

Deno.test("the page reader accepts what JSON.parse accepts, in any layout", () => {
  const layouts = [
    JSON.stringify(page),
    JSON.stringify(page, null, 2),
    JSON.stringify({ info: page.info, results: page.results }),
    ` \r\n\t${JSON.stringify({ extra: [1, { a: "]}" }], ...page })}\n `,
    JSON.stringify({ results: page.results }),
  ];
  for (const layout of layouts) {
    const bytes = new TextEncoder().encode(layout);
    assert.deepEqual(assertReadAsJsonParse(bytes), page.results);
  }
});

Deno.test("the page reader refuses what JSON.parse refuses: every truncation, random mutations", () => {
  for (let length = 0; length < body.length; length++) {
    const cut = body.subarray(0, length);
    assert.equal(wholeBody(cut), "refused");
    assert.equal(ours(cut, false), "refused", `a body cut at ${length} bytes was accepted`);
    assert.equal(ours(cut, true), "refused", `a body cut at ${length} bytes was accepted`);
  }
  const random = new Random(2026, 12, 3, 18);
  const bytes = new TextEncoder().encode('{}[],:"\\ x0-.e\n');
  let accepted = 0;
  for (let i = 0; i < 5_000; i++) {
    const mutated = body.slice();
    for (let m = 0; m <= random.int(2); m++) {
      mutated[random.int(mutated.length)] = bytes[random.int(bytes.length)]!;
    }
    const expected = assertReadAsJsonParse(mutated, new TextDecoder().decode(mutated));
    if (expected !== "refused") accepted++;
  }
  assert.ok(accepted > 100 && accepted < 4_900, `${accepted} mutations accepted`);

  // Every byte of the page's own structure — its start, the joints between records, `info` —
  // replaced by every structural character, one at a time.
  const text = new TextDecoder().decode(body);
  const joints = [...text.matchAll(/\},\{"gender"/g)].map((match) => match.index);
  const positions = [
    ...Array.from({ length: 16 }, (_, i) => i),
    ...joints.flatMap((at) => [at - 1, at, at + 1, at + 2, at + 3]),
    ...Array.from({ length: 90 }, (_, i) => body.length - 90 + i),
  ];
  for (const position of positions) {
    for (const byte of bytes) {
      const mutated = body.slice();
      mutated[position] = byte;
      assertReadAsJsonParse(mutated, `byte ${position} set to ${byte}`);
    }
  }
});

Deno.test("the page reader says what is wrong with a page that is not the one asked for", () => {
  const cases: Array<[unknown, RegExp]> = [
    [{ error: "Uh oh, something has gone wrong." }, /no "results" array: Uh oh/],
    [{ results: "none" }, /"results" is not an array/],
    [{ ...page, results: page.results.slice(1) }, /the page has 2 users, expected 3/],
    [{ ...page, info: { ...page.info, page: 2 } }, /is for seed reader page 2, expected .* page 1/],
  ];
  for (const [json, message] of cases) {
    assert.throws(
      () => [...readApiPage(new TextEncoder().encode(JSON.stringify(json)), REQUEST)],
      (error: Error) => error instanceof PageError && message.test(error.message),
    );
  }
});
