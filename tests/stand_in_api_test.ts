/**
 * Tests, over real HTTP, of the project's stand-in for randomuser.me (tasks/stand_in/):
 * its v1.4 JSON shape and quirks, determinism, limits, faults, control endpoints and CLI.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { NATIONALITIES } from "../tasks/stand_in/nationality_profiles.ts";
import {
  generatePage,
  type RandomUser,
  type RandomUserPage,
} from "../tasks/stand_in/user_generator.ts";
import { type FakeRandomUser, startFakeRandomUser } from "../tasks/stand_in/randomuser_server.ts";
import { PROJECT_ROOT } from "../tasks/shared/paths.ts";
import { parseFaultRules } from "../tasks/stand_in/faults.ts";

const NOW = new Date("2025-06-15T12:00:00.000Z");

/** The key paths of randomuser.me's documented sample user, in its order. */
const USER_KEYS = [
  "gender",
  "name",
  "name.title",
  "name.first",
  "name.last",
  "location",
  "location.street",
  "location.street.number",
  "location.street.name",
  "location.city",
  "location.state",
  "location.country",
  "location.postcode",
  "location.coordinates",
  "location.coordinates.latitude",
  "location.coordinates.longitude",
  "location.timezone",
  "location.timezone.offset",
  "location.timezone.description",
  "email",
  "login",
  "login.uuid",
  "login.username",
  "login.password",
  "login.salt",
  "login.md5",
  "login.sha1",
  "login.sha256",
  "dob",
  "dob.date",
  "dob.age",
  "registered",
  "registered.date",
  "registered.age",
  "phone",
  "cell",
  "id",
  "id.name",
  "id.value",
  "picture",
  "picture.large",
  "picture.medium",
  "picture.thumbnail",
  "nat",
];

function keyPaths(value: unknown, prefix = ""): string[] {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return [];
  return Object.entries(value).flatMap(([key, child]) => {
    const path = prefix + key;
    return [path, ...keyPaths(child, `${path}.`)];
  });
}

function start(): Promise<FakeRandomUser> {
  return startFakeRandomUser({ now: NOW });
}

function query(api: FakeRandomUser, params: Record<string, string | number>): string {
  const url = new URL(api.url);
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, String(value));
  return url.href;
}

function controlUrl(api: FakeRandomUser, path: string): string {
  return new URL(path, api.url).href;
}

async function getPage(url: string): Promise<RandomUserPage> {
  const response = await fetch(url);
  assert.equal(response.status, 200, `GET ${url} answered ${response.status}`);
  return await response.json() as RandomUserPage;
}

async function getText(url: string): Promise<string> {
  const response = await fetch(url);
  assert.equal(response.status, 200, `GET ${url} answered ${response.status}`);
  return await response.text();
}

function byNat(users: readonly RandomUser[]): Map<string, RandomUser[]> {
  const groups = new Map<string, RandomUser[]>();
  for (const user of users) groups.set(user.nat, [...(groups.get(user.nat) ?? []), user]);
  return groups;
}

function wholeYears(iso: string, now: Date): number {
  const then = new Date(iso);
  let years = now.getUTCFullYear() - then.getUTCFullYear();
  const anniversary = new Date(then);
  anniversary.setUTCFullYear(then.getUTCFullYear() + years);
  if (anniversary.getTime() > now.getTime()) years--;
  return years;
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

// ------------------------------------------------------------------------------------------
// Shape and quirks

Deno.test("a page has randomuser.me v1.4's keys in its order and its value types", async () => {
  await using api = await start();
  const response = await fetch(query(api, { results: 200, seed: "shape" }));
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
  const page = await response.json() as RandomUserPage;
  assert.deepEqual(Object.keys(page), ["results", "info"]);
  assert.deepEqual(keyPaths(page.info), ["seed", "results", "page", "version"]);
  assert.deepEqual(page.info, { seed: "shape", results: 200, page: 1, version: "1.4" });
  assert.equal(page.results.length, 200);
  for (const user of page.results) {
    assert.deepEqual(keyPaths(user), USER_KEYS);
    assert.ok(user.gender === "male" || user.gender === "female");
    assert.ok(Number.isInteger(user.location.street.number));
    assert.equal(typeof user.location.street.name, "string");
    assert.match(user.location.coordinates.latitude, /^-?\d{1,2}\.\d{4}$/);
    assert.match(user.location.coordinates.longitude, /^-?\d{1,3}\.\d{4}$/);
    assert.match(user.location.timezone.offset, /^(?:[+-]\d{1,2}|0):\d{2}$/);
    assert.ok(user.location.timezone.description.length > 0);
    assert.match(user.email, /^[a-z0-9]+\.[a-z0-9]+@example\.com$|^[a-z]+\d+@example\.com$/);
    assert.match(
      user.login.uuid,
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    assert.match(user.login.username, /^[a-z]+\d{3}$/);
    assert.match(user.login.password, /^[a-z]+$/);
    assert.match(user.login.salt, /^[A-Za-z0-9]{8}$/);
    assert.match(user.login.md5, /^[0-9a-f]{32}$/);
    assert.match(user.login.sha1, /^[0-9a-f]{40}$/);
    assert.match(user.login.sha256, /^[0-9a-f]{64}$/);
    for (const moment of [user.dob, user.registered]) {
      assert.match(moment.date, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      assert.ok(Number.isInteger(moment.age) && moment.age >= 0);
    }
    assert.equal(typeof user.phone, "string");
    assert.equal(typeof user.cell, "string");
    const folder = user.gender === "female" ? "women" : "men";
    const portrait = user.picture.large.match(
      new RegExp(`^https://randomuser\\.me/api/portraits/${folder}/(\\d{1,2})\\.jpg$`),
    );
    assert.ok(portrait, `unexpected picture URL ${user.picture.large}`);
    assert.equal(
      user.picture.medium,
      `https://randomuser.me/api/portraits/med/${folder}/${portrait[1]}.jpg`,
    );
    assert.equal(
      user.picture.thumbnail,
      `https://randomuser.me/api/portraits/thumb/${folder}/${portrait[1]}.jpg`,
    );
    assert.ok((NATIONALITIES as readonly string[]).includes(user.nat));
  }
});

Deno.test("all 21 nationalities appear in a 5000-user page", async () => {
  await using api = await start();
  const page = await getPage(query(api, { results: 5000, seed: "nations" }));
  assert.equal(page.results.length, 5000);
  assert.deepEqual([...byNat(page.results).keys()].sort(), [...NATIONALITIES].sort());
});

Deno.test("postcodes are strings for CA, GB, IE and NL and numbers everywhere else", async () => {
  await using api = await start();
  const page = await getPage(query(api, { results: 3000, seed: "postcodes" }));
  for (const user of page.results) {
    const expected = ["CA", "GB", "IE", "NL"].includes(user.nat) ? "string" : "number";
    assert.equal(typeof user.location.postcode, expected, `${user.nat} postcode`);
  }
  const nl = page.results.find((user) => user.nat === "NL");
  assert.match(String(nl?.location.postcode), /^\d{4} [A-Z]{2}$/);
  const ca = page.results.find((user) => user.nat === "CA");
  assert.match(String(ca?.location.postcode), /^[A-Z]\d[A-Z] \d[A-Z]\d$/);
});

Deno.test("IR, NZ, TR and UA ids have an empty name and a null value; others a named string", async () => {
  await using api = await start();
  const page = await getPage(query(api, { results: 3000, seed: "ids" }));
  for (const [nat, users] of byNat(page.results)) {
    for (const user of users) {
      if (["IR", "NZ", "TR", "UA"].includes(nat)) {
        assert.deepEqual(user.id, { name: "", value: null }, `${nat} id`);
      } else {
        assert.ok(user.id.name.length > 0, `${nat} id name`);
        assert.equal(typeof user.id.value, "string", `${nat} id value`);
      }
    }
  }
  const us = page.results.find((user) => user.nat === "US");
  assert.equal(us?.id.name, "SSN");
  assert.match(us?.id.value ?? "", /^\d{3}-\d{2}-\d{4}$/);
});

Deno.test("IR names are in Persian script, UA names in Cyrillic, and emails stay ASCII", async () => {
  await using api = await start();
  const page = await getPage(query(api, { results: 400, seed: "scripts", nat: "ir,ua" }));
  const groups = byNat(page.results);
  for (const user of groups.get("IR") ?? []) {
    assert.match(user.name.first + user.name.last, /^[\u0600-\u06FF\u200c ]+$/u);
  }
  for (const user of groups.get("UA") ?? []) {
    assert.match(user.name.first + user.name.last, /^[\u0400-\u04FF'’ʼ -]+$/u);
  }
  assert.ok((groups.get("IR")?.length ?? 0) > 100 && (groups.get("UA")?.length ?? 0) > 100);
  for (const user of page.results) assert.match(user.email, /^[a-z0-9.]+@example\.com$/);
});

Deno.test("titles agree with gender", async () => {
  await using api = await start();
  const page = await getPage(query(api, { results: 2000, seed: "titles" }));
  const male = new Set(["Mr", "Monsieur", "Herr"]);
  const female = new Set(["Mrs", "Ms", "Miss", "Madame", "Mademoiselle", "Frau"]);
  for (const user of page.results) {
    const allowed = user.gender === "male" ? male : female;
    assert.ok(allowed.has(user.name.title), `${user.gender} ${user.nat} titled ${user.name.title}`);
  }
});

Deno.test("login hashes are the md5, sha1 and sha256 of password plus salt", async () => {
  await using api = await start();
  const page = await getPage(query(api, { results: 50, seed: "hashes" }));
  for (const { login } of page.results) {
    const text = login.password + login.salt;
    assert.equal(login.md5, createHash("md5").update(text).digest("hex"));
    assert.equal(login.sha1, createHash("sha1").update(text).digest("hex"));
    assert.equal(login.sha256, createHash("sha256").update(text).digest("hex"));
  }
});

Deno.test("ages are whole years between each date and the server's pinned now", async () => {
  await using api = await start();
  const page = await getPage(query(api, { results: 500, seed: "ages" }));
  for (const user of page.results) {
    assert.equal(user.dob.age, wholeYears(user.dob.date, NOW));
    assert.equal(user.registered.age, wholeYears(user.registered.date, NOW));
    assert.ok(user.dob.age >= 18 && user.dob.age <= 90, `dob age ${user.dob.age}`);
    assert.ok(Date.parse(user.registered.date) > Date.parse(user.dob.date));
  }
});

// ------------------------------------------------------------------------------------------
// Determinism and limits

Deno.test("the same seed and page return identical bytes, even from another server", async () => {
  await using api = await start();
  await using other = await start();
  const params = { results: 300, seed: "same", page: 3, nat: "us,gb,fr" };
  const first = await getText(query(api, params));
  const again = await getText(query(api, params));
  const elsewhere = await getText(query(other, params));
  assert.equal(again, first);
  assert.equal(elsewhere, first);
  const otherPage = await getText(query(api, { ...params, page: 4 }));
  const otherSeed = await getText(query(api, { ...params, seed: "different" }));
  assert.notEqual(otherPage, first);
  assert.notEqual(otherSeed, first);
});

Deno.test("a smaller results count on the same seed and page is a prefix of a larger one", async () => {
  await using api = await start();
  const small = await getPage(query(api, { results: 7, seed: "prefix", page: 2 }));
  const large = await getPage(query(api, { results: 5000, seed: "prefix", page: 2 }));
  assert.deepEqual(small.results, large.results.slice(0, 7));
  assert.deepEqual(small.info, { seed: "prefix", results: 7, page: 2, version: "1.4" });
});

Deno.test("login uuids are distinct across 40 pages of 5000 users", async () => {
  await using api = await start();
  const uuids = new Set<string>();
  for (let page = 1; page <= 40; page++) {
    const body = await getPage(query(api, { results: 5000, seed: "uuids", page }));
    assert.equal(body.results.length, 5000);
    for (const user of body.results) uuids.add(user.login.uuid);
  }
  assert.equal(uuids.size, 200_000);
});

Deno.test("results above 5000 are capped, and garbage, zero or missing results mean 1", async () => {
  await using api = await start();
  const capped = await getPage(query(api, { results: 9000, seed: "cap" }));
  assert.equal(capped.results.length, 5000);
  assert.equal(capped.info.results, 5000);
  for (const results of ["abc", "0", "-3", ""]) {
    const page = await getPage(query(api, { results, seed: "cap" }));
    assert.equal(page.results.length, 1, `results=${results}`);
    assert.equal(page.info.results, 1);
  }
  const defaults = await getPage(api.url);
  assert.equal(defaults.results.length, 1);
  assert.equal(defaults.info.page, 1);
  const badPage = await getPage(query(api, { page: "zz", seed: "cap" }));
  assert.equal(badPage.info.page, 1);
});

Deno.test("without a seed the fake invents a random 16-hex-char seed, like the real API", async () => {
  await using api = await start();
  const first = await getPage(api.url);
  const second = await getPage(api.url);
  assert.match(first.info.seed, /^[0-9a-f]{16}$/);
  assert.notEqual(first.info.seed, second.info.seed);
  const replay = await getPage(query(api, { seed: first.info.seed }));
  assert.deepEqual(replay, first);
});

Deno.test("nat restricts nationalities case-insensitively and ignores unknown codes", async () => {
  await using api = await start();
  const usGb = await getPage(query(api, { results: 500, seed: "nat", nat: "us,GB" }));
  assert.deepEqual([...byNat(usGb.results).keys()].sort(), ["GB", "US"]);
  const withUnknown = await getPage(query(api, { results: 200, seed: "nat", nat: "xx,Fr, zz" }));
  assert.deepEqual([...byNat(withUnknown.results).keys()], ["FR"]);
  const noneValid = await getPage(query(api, { results: 2000, seed: "nat", nat: "xx,yy" }));
  assert.equal(byNat(noneValid.results).size, 21);
});

Deno.test("/api, /api/ and /api/1.4/ answer alike, and unknown paths are 404 JSON", async () => {
  await using api = await start();
  const base = controlUrl(api, "/api/");
  const expected = await getText(`${base}?seed=paths&results=3`);
  for (const path of ["/api", "/api/1.4/", "/api/1.4"]) {
    assert.equal(await getText(`${controlUrl(api, path)}?seed=paths&results=3`), expected, path);
  }
  const missing = await fetch(controlUrl(api, "/nope"));
  assert.equal(missing.status, 404);
  const body = await missing.json() as { error?: unknown };
  assert.equal(typeof body.error, "string");
});

Deno.test("generatePage refuses results outside 1..5000 with advice", () => {
  assert.throws(
    () => generatePage({ seed: "x", page: 1, results: 0 }),
    /results must be an integer from 1 to 5000/,
  );
});

// ------------------------------------------------------------------------------------------
// Faults

Deno.test("a fault for one seed leaves other seeds' requests alone, and the peak of requests at once is counted", async () => {
  await using api = await start();
  api.faults.add({ seed: "2026-04-02", times: Infinity, fault: { kind: "status", status: 500 } });
  api.faults.add({ seed: "2026-04-03", times: 2, fault: { kind: "delay", ms: 1_000 } });
  const other = await fetch(query(api, { seed: "2026-04-01", results: 1 }));
  assert.equal(other.status, 200);
  await other.body?.cancel();
  const hit = await fetch(query(api, { seed: "2026-04-02", results: 1 }));
  assert.equal(hit.status, 500);
  await hit.body?.cancel();
  assert.equal(api.peakInFlight, 1);
  // Two requests at once, each held a second by the delay: two in flight at the peak.
  await Promise.all(
    [1, 2].map(() =>
      fetch(query(api, { seed: "2026-04-03", results: 1 })).then((r) => r.body?.cancel())
    ),
  );
  assert.equal(api.peakInFlight, 2);
  api.resetPeakInFlight();
  assert.equal(api.peakInFlight, 0);
});

Deno.test("a status fault answers its status, the real API's error text and Retry-After", async () => {
  await using api = await start();
  const when = new Date(Date.now() + 5000).toUTCString();
  api.faults.add({ fault: { kind: "status", status: 503, retryAfter: 2 } });
  api.faults.add({ fault: { kind: "status", status: 429, retryAfter: when } });
  api.faults.add({ times: 2, fault: { kind: "status", status: 500 } });
  const url = query(api, { seed: "status" });

  const unavailable = await fetch(url);
  assert.equal(unavailable.status, 503);
  assert.equal(unavailable.headers.get("retry-after"), "2");
  const body = await unavailable.json() as { error: string };
  assert.match(body.error, /^Uh oh, something has gone wrong\./);

  const limited = await fetch(url);
  assert.equal(limited.status, 429);
  assert.equal(limited.headers.get("retry-after"), when);
  await limited.body?.cancel();

  for (let i = 0; i < 2; i++) {
    const failing = await fetch(url);
    assert.equal(failing.status, 500);
    assert.equal(failing.headers.get("retry-after"), null);
    await failing.body?.cancel();
  }
  assert.equal((await getPage(url)).results.length, 1);
});

Deno.test("a fault rule for one page leaves other pages alone; Infinity fails until cleared", async () => {
  await using api = await start();
  api.faults.add({ page: 2, times: Infinity, fault: { kind: "status", status: 502 } });
  for (let i = 0; i < 3; i++) {
    const response = await fetch(query(api, { seed: "pages", page: 2 }));
    assert.equal(response.status, 502);
    await response.body?.cancel();
  }
  assert.equal((await getPage(query(api, { seed: "pages", page: 1 }))).info.page, 1);
  api.faults.clear();
  assert.equal((await getPage(query(api, { seed: "pages", page: 2 }))).info.page, 2);
});

Deno.test("a delay fault answers normally after the delay", async () => {
  await using api = await start();
  api.faults.add({ fault: { kind: "delay", ms: 150 } });
  const started = performance.now();
  const page = await getPage(query(api, { seed: "delay", results: 2 }));
  assert.ok(performance.now() - started >= 140);
  assert.equal(page.results.length, 2);
});

Deno.test("a client that gives up during a delay is logged as 499", async () => {
  await using api = await start();
  api.faults.add({ fault: { kind: "delay", ms: 10_000 } });
  const controller = new AbortController();
  const pending = fetch(query(api, { seed: "gave-up" }), { signal: controller.signal });
  await waitFor(() => api.faults.pending.length === 0, "the delayed request to arrive");
  controller.abort();
  await assert.rejects(pending, { name: "AbortError" });
  await waitFor(() => api.requests.length === 1, "the abandoned request to be logged");
  assert.deepEqual(api.requests[0], {
    page: 1,
    results: 1,
    seed: "gave-up",
    status: 499,
    fault: "delay",
  });
});

Deno.test("closing the server cuts a pending delay short", async () => {
  const api = await start();
  api.faults.add({ fault: { kind: "delay", ms: 30_000 } });
  const pending = fetch(query(api, { seed: "closing" })).then(
    async (response) => {
      await response.body?.cancel();
      return response.status;
    },
    () => 0,
  );
  await waitFor(() => api.faults.pending.length === 0, "the delayed request to arrive");
  const started = performance.now();
  await api.close();
  assert.ok(performance.now() - started < 2000, "close() waited for the whole delay");
  assert.ok([0, 503].includes(await pending));
});

Deno.test("aborting the start signal closes the server", async () => {
  const controller = new AbortController();
  const api = await startFakeRandomUser({ now: NOW, signal: controller.signal });
  assert.equal((await getPage(query(api, { seed: "signal" }))).results.length, 1);
  controller.abort();
  await api.close();
  await assert.rejects(fetch(api.url));
});

Deno.test("a truncated body promises the full Content-Length and fetch fails reading it", async () => {
  await using api = await start();
  const url = query(api, { seed: "truncate", results: 500 });
  const full = new TextEncoder().encode(await getText(url));
  api.faults.add({ fault: { kind: "truncate" } });
  const response = await fetch(url);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-length"), String(full.length));
  let failure: unknown;
  try {
    JSON.parse(await response.text());
  } catch (error) {
    failure = error;
  }
  assert.ok(failure instanceof Error, "a truncated body was read and parsed without error");
});

Deno.test("a malformed body is 200 application/json that does not parse", async () => {
  await using api = await start();
  api.faults.add({ fault: { kind: "malformed" } });
  const response = await fetch(query(api, { seed: "malformed" }));
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
  const text = await response.text();
  assert.throws(() => JSON.parse(text), SyntaxError);
});

Deno.test("a compressed fault codes the page as gzip or br, its Content-Length the coded bytes", async () => {
  await using api = await start();
  const url = query(api, { seed: "compressed", results: 20 });
  const plain = await getText(url);
  for (const encoding of ["gzip", "br"] as const) {
    for (const contentLength of [true, false]) {
      api.faults.add({ fault: { kind: "compressed", encoding, contentLength, padding: 1000 } });
      const response = await fetch(url); // fetch decodes the body, as it does the client's

      assert.equal(response.status, 200);
      assert.equal(response.headers.get("content-encoding"), encoding);
      const text = await response.text();
      assert.equal(text, plain + " ".repeat(1000), `${encoding}: the page and its padding`);
      const declared = response.headers.get("content-length");
      if (contentLength) assert.ok(Number(declared) < text.length, `${encoding}: ${declared}`);
      else assert.equal(declared, null);
    }
  }
  assert.throws(
    () => parseFaultRules({ fault: { kind: "compressed", encoding: "zstd" } }),
    /fault rule rejected at fault.encoding/,
  );
});

Deno.test("wrong_types breaks the types of the first records only", async () => {
  await using api = await start();
  api.faults.add({ fault: { kind: "wrong_types", records: 2 } });
  const page = await getPage(query(api, { seed: "types", results: 4 }));
  const raw = page.results as unknown as {
    dob: { age: unknown };
    location: { street: { number: unknown }; coordinates: { latitude: unknown } };
  }[];
  for (const record of raw.slice(0, 2)) {
    assert.equal(record.dob.age, "thirty");
    assert.equal(record.location.street.number, "12a");
    assert.equal(record.location.coordinates.latitude, 12.5);
  }
  for (const record of raw.slice(2)) {
    assert.equal(typeof record.dob.age, "number");
    assert.equal(typeof record.location.street.number, "number");
    assert.equal(typeof record.location.coordinates.latitude, "string");
  }
});

Deno.test("patch replaces, adds and deletes fields, hostile text included", async () => {
  await using api = await start();
  const hostile = "Ro\"bert, '); DROP TABLE users;--\r\nnext line 😀 \u0000 end";
  api.faults.add({
    fault: {
      kind: "patch",
      patches: [
        {
          index: 0,
          set: { "name.first": hostile, "location.city": "a,b", extra_field: { n: 1 } },
        },
        { index: 1, set: { email: undefined, "id.value": null } },
        { index: 99, set: { "name.first": "ignored" } },
      ],
    },
  });
  const url = query(api, { seed: "patch", results: 3 });
  const patched = await getPage(url);
  const clean = await getPage(url);
  const [first, second, third] = patched.results as unknown as Record<string, unknown>[];
  assert.equal(patched.results[0]?.name.first, hostile);
  assert.equal(patched.results[0]?.location.city, "a,b");
  assert.deepEqual(first?.extra_field, { n: 1 });
  assert.equal(Object.keys(first ?? {}).at(-1), "extra_field");
  assert.ok(second !== undefined && !("email" in second));
  assert.equal(patched.results[1]?.id.value, null);
  assert.deepEqual(third, clean.results[2]);
  assert.equal(patched.results[0]?.login.uuid, clean.results[0]?.login.uuid);
});

Deno.test("empty answers 200 with results: []", async () => {
  await using api = await start();
  api.faults.add({ fault: { kind: "empty" } });
  const page = await getPage(query(api, { seed: "empty", results: 10, page: 4 }));
  assert.deepEqual(page.results, []);
  assert.deepEqual(page.info, { seed: "empty", results: 10, page: 4, version: "1.4" });
});

Deno.test("the request log records page, results, seed, status and fault", async () => {
  await using api = await start();
  api.faults.add({ page: 2, fault: { kind: "status", status: 503 } });
  await getText(query(api, { seed: "log", results: 9000, page: 1 }));
  const failed = await fetch(query(api, { seed: "log", results: 5, page: 2 }));
  await failed.body?.cancel();
  await getText(query(api, { seed: "log", results: 5, page: 2 }));
  assert.deepEqual(api.requests, [
    { page: 1, results: 5000, seed: "log", status: 200 },
    { page: 2, results: 5, seed: "log", status: 503, fault: "status" },
    { page: 2, results: 5, seed: "log", status: 200 },
  ]);
});

Deno.test("the /_fake/ endpoints add, list and clear faults and show the request log", async () => {
  await using api = await start();
  const faults = controlUrl(api, "/_fake/faults");
  const added = await fetch(faults, {
    method: "POST",
    body: JSON.stringify([
      { page: 2, times: "always", fault: { kind: "status", status: 503, retryAfter: 1 } },
      { fault: { kind: "patch", patches: [{ index: 0, unset: ["email"] }] } },
    ]),
  });
  assert.equal(added.status, 201);
  assert.deepEqual(await added.json(), { added: 2 });

  const listed = await fetch(faults);
  const rules = await listed.json() as { times: unknown }[];
  assert.deepEqual(rules.map((rule) => rule.times), ["always", 1]);

  const failing = await fetch(query(api, { seed: "control", page: 2 }));
  assert.equal(failing.status, 503);
  assert.equal(failing.headers.get("retry-after"), "1");
  await failing.body?.cancel();
  const patched = await getPage(query(api, { seed: "control", page: 1 }));
  assert.ok(!("email" in (patched.results[0] ?? {})));

  const rejected = await fetch(faults, {
    method: "POST",
    body: JSON.stringify({ fault: { kind: "explode" } }),
  });
  assert.equal(rejected.status, 400);
  assert.match((await rejected.json() as { error: string }).error, /fault\.kind/);

  const cleared = await fetch(faults, { method: "DELETE" });
  assert.equal(cleared.status, 200);
  await cleared.body?.cancel();
  assert.equal((await getPage(query(api, { seed: "control", page: 2 }))).info.page, 2);

  const log = await fetch(controlUrl(api, "/_fake/requests"));
  assert.deepEqual(await log.json(), [
    { page: 2, results: 1, seed: "control", status: 503, fault: "status" },
    { page: 1, results: 1, seed: "control", status: 200, fault: "patch" },
    { page: 2, results: 1, seed: "control", status: 200 },
  ]);
  const forgotten = await fetch(controlUrl(api, "/_fake/requests"), { method: "DELETE" });
  await forgotten.body?.cancel();
  assert.equal(api.requests.length, 0);

  const unknown = await fetch(controlUrl(api, "/_fake/nothing"));
  assert.equal(unknown.status, 404);
  await unknown.body?.cancel();
});

// ------------------------------------------------------------------------------------------
// CLI

Deno.test("the CLI rejects --port abc with exit code 2 and one error line naming --port", async () => {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "tasks/fake_api.ts", "--port", "abc"],
    cwd: PROJECT_ROOT,
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(code, 2);
  const errors = new TextDecoder().decode(stderr).split("\n").filter((line) =>
    line.startsWith("error:")
  );
  assert.equal(errors.length, 1, `expected one error line, got ${JSON.stringify(errors)}`);
  assert.match(errors[0] ?? "", /--port/);
});

Deno.test("the CLI serves on the URL it prints and stops on SIGTERM", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "tasks/fake_api.ts", "--port", "0"],
    cwd: PROJECT_ROOT,
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let printed = "";
  let url: string | undefined;
  while (url === undefined) {
    const { value, done } = await lines.read();
    if (done) break;
    printed += value;
    url = printed.match(/http:\/\/127\.0\.0\.1:\d+\/api\//)?.[0];
  }
  assert.ok(url, `no URL printed: ${printed}`);
  const page = await getPage(`${url}?seed=cli&results=2`);
  assert.equal(page.results.length, 2);
  child.kill("SIGTERM");
  const status = await child.status;
  while (!(await lines.read()).done) { /* drain stdout */ }
  assert.equal(status.code, 0);
});
