/**
 * Deterministic user generator for the project's stand-in for randomuser.me (API v1.4 JSON shape),
 * drawing names, places and phone formats from `@faker-js/faker` locales.
 *
 * Each user is derived only from (seed, page, index), so a smaller `results` on the same seed and
 * page is a prefix of a larger one, and the same request always yields the same bytes.
 */

import { createHash } from "node:crypto";
import {
  ALNUM,
  loginPools,
  NATIONALITIES,
  type Nationality,
  poolsFor,
  PROFILES,
  TIMEZONES,
} from "./nationality_profiles.ts";
import { hash128, type Random, userRandom } from "./seeded_random.ts";

/** The largest `results` randomuser.me honours; larger requests are answered with this many. */
export const MAX_RESULTS = 5000;

/** One user, in randomuser.me v1.4's key order. */
export interface RandomUser {
  gender: "male" | "female";
  name: { title: string; first: string; last: string };
  location: {
    street: { number: number; name: string };
    city: string;
    state: string;
    country: string;
    postcode: number | string;
    coordinates: { latitude: string; longitude: string };
    timezone: { offset: string; description: string };
  };
  email: string;
  login: {
    uuid: string;
    username: string;
    password: string;
    salt: string;
    md5: string;
    sha1: string;
    sha256: string;
  };
  dob: { date: string; age: number };
  registered: { date: string; age: number };
  phone: string;
  cell: string;
  id: { name: string; value: string | null };
  picture: { large: string; medium: string; thumbnail: string };
  nat: Nationality;
}

/** One answer of `GET /api/`, in randomuser.me v1.4's key order. */
export interface RandomUserPage {
  results: RandomUser[];
  info: { seed: string; results: number; page: number; version: "1.4" };
}

/** What to generate: `results` users of page `page` for `seed`, ages computed against `now`. */
export interface PageRequest {
  seed: string;
  page: number;
  results: number;
  /** Nationalities to draw from; empty or absent means all 21. */
  nat?: readonly Nationality[];
  /** The clock ages are computed against; defaults to the current time. */
  now?: Date;
}

/**
 * Parses a `nat` query value like `"us,gb"`: case-insensitive, comma-separated, unknown codes
 * ignored, duplicates removed; returns every nationality when none is valid or the value is absent.
 */
export function parseNationalities(value: string | null | undefined): Nationality[] {
  const wanted = new Set((value ?? "").split(",").map((code) => code.trim().toUpperCase()));
  const chosen = NATIONALITIES.filter((code) => wanted.has(code));
  return chosen.length > 0 ? chosen : [...NATIONALITIES];
}

/** A fresh random 16-hex-character seed, like the one randomuser.me invents when none is given. */
export function randomSeed(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** Generates one page of users; throws a RangeError when `results` or `page` is out of range. */
export function generatePage(request: PageRequest): RandomUserPage {
  const { seed, page, results } = request;
  if (!Number.isInteger(results) || results < 1 || results > MAX_RESULTS) {
    throw new RangeError(
      `generatePage: results must be an integer from 1 to ${MAX_RESULTS}, got ${results}; ` +
        "clamp the query value first (the server does)",
    );
  }
  if (!Number.isInteger(page) || page < 1 || page > MAX_PAGE) {
    throw new RangeError(
      `generatePage: page must be an integer from 1 to ${MAX_PAGE}, got ${page}; ` +
        "clamp the query value first (the server does)",
    );
  }
  const nats = request.nat !== undefined && request.nat.length > 0 ? request.nat : NATIONALITIES;
  const nowMs = (request.now ?? new Date()).getTime();
  const key = hash128(seed);
  const users: RandomUser[] = new Array(results);
  for (let index = 0; index < results; index++) {
    users[index] = generateUser(userRandom(key, page, index), { nats, nowMs });
  }
  return { results: users, info: { seed, results, page, version: "1.4" } };
}

/** Generates one page and serializes it exactly as the server sends it (UTF-8 JSON). */
export function generatePageBody(request: PageRequest): Uint8Array<ArrayBuffer> {
  return encoder.encode(JSON.stringify(generatePage(request)));
}

/** The largest page number the generator accepts (pages are mixed into 32-bit state). */
export const MAX_PAGE = 0x7fffffff;

const encoder = new TextEncoder();

// ---------------------------------------------------------------------------------------------
// One user.

const DOB_MIN = Date.UTC(1944, 0, 1);
const DOB_MAX = Date.UTC(2004, 0, 1);
const REGISTERED_MIN = Date.UTC(2002, 0, 1);
const REGISTERED_MAX = Date.UTC(2022, 11, 31);
const TEN_YEARS = 10 * 365.25 * 24 * 3600 * 1000;

/** Whole years from `then` to `now` (0 when `now` is earlier). */
function wholeYears(then: Date, nowMs: number): number {
  const now = new Date(nowMs);
  let years = now.getUTCFullYear() - then.getUTCFullYear();
  const anniversary = Date.UTC(
    then.getUTCFullYear() + years,
    then.getUTCMonth(),
    then.getUTCDate(),
    then.getUTCHours(),
    then.getUTCMinutes(),
    then.getUTCSeconds(),
    then.getUTCMilliseconds(),
  );
  if (anniversary > nowMs) years--;
  return Math.max(0, years);
}

/** Re-rolls every digit after the first `keep` digits, so a pooled faker format yields new values. */
function rerollDigits(random: Random, template: string, keep: number): string {
  let seen = 0;
  let out = "";
  for (let i = 0; i < template.length; i++) {
    const code = template.charCodeAt(i);
    if (code >= 48 && code <= 57) {
      seen++;
      out += seen > keep ? String.fromCharCode(48 + random.int(10)) : template.charAt(i);
    } else {
      out += template.charAt(i);
    }
  }
  return out;
}

function numericPostcode(text: string): number {
  const digits = text.replace(/\D/g, "").slice(0, 5);
  const value = Number(digits);
  return value > 0 ? value : 10000 + (digits.length > 0 ? Number(digits) : 0);
}

function hex8(word: number): string {
  return (word >>> 0).toString(16).padStart(8, "0");
}

function uuidV4(random: Random): string {
  const hex = hex8(random.next()) + hex8(random.next()) + hex8(random.next()) +
    hex8(random.next());
  const variant = "89ab".charAt(parseInt(hex.charAt(16), 16) & 3);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${
    hex.slice(17, 20)
  }-${hex.slice(20, 32)}`;
}

function digest(algorithm: "md5" | "sha1" | "sha256", text: string): string {
  return createHash(algorithm).update(text).digest("hex");
}

function generateUser(
  random: Random,
  context: { nats: readonly Nationality[]; nowMs: number },
): RandomUser {
  const nat = random.pick(context.nats);
  const profile = PROFILES[nat];
  const pools = poolsFor(profile.source, profile.stateFromCounty);
  const login = loginPools();

  const female = (random.next() & 1) === 1;
  const title = random.pick(female ? profile.femaleTitles : profile.maleTitles);
  const first = random.pick(female ? pools.femaleFirst : pools.maleFirst);
  const last = random.pick(pools.last);

  const streetNumber = 1 + random.int(9999);
  const street = random.pick(pools.streets);
  const city = random.pick(pools.cities);
  const state = random.pick(pools.states);
  const postcodeText = rerollDigits(random, random.pick(pools.postcodes), 1);
  const latitude = (random.float() * 180 - 90).toFixed(4);
  const longitude = (random.float() * 360 - 180).toFixed(4);
  const timezone = random.pick(TIMEZONES);

  const uuid = uuidV4(random);
  const username = random.pick(login.adjectives) + random.pick(login.animals) +
    String(100 + random.int(900));
  const password = random.pick(login.passwords);
  let salt = "";
  for (let i = 0; i < 8; i++) salt += ALNUM.charAt(random.int(ALNUM.length));

  const email = first.ascii.length > 0 && last.ascii.length > 0
    ? `${first.ascii}.${last.ascii}@example.com`
    : `${username}@example.com`;

  const dob = new Date(Math.floor(DOB_MIN + random.float() * (DOB_MAX - DOB_MIN)));
  const registeredMin = Math.max(REGISTERED_MIN, dob.getTime() + TEN_YEARS);
  const registered = new Date(
    Math.floor(registeredMin + random.float() * (REGISTERED_MAX - registeredMin)),
  );

  const phone = rerollDigits(random, random.pick(pools.phones), 3);
  const cell = rerollDigits(random, random.pick(pools.phones), 3);
  const idValue = profile.idValue === null
    ? null
    : profile.idValue(random, { dob, last: last.ascii });
  const portrait = `${female ? "women" : "men"}/${random.int(100)}.jpg`;

  return {
    gender: female ? "female" : "male",
    name: { title, first: first.text, last: last.text },
    location: {
      street: { number: streetNumber, name: street },
      city,
      state,
      country: profile.country,
      postcode: profile.postcodeIsString ? postcodeText : numericPostcode(postcodeText),
      coordinates: { latitude, longitude },
      timezone: { offset: timezone.offset, description: timezone.description },
    },
    email,
    login: {
      uuid,
      username,
      password,
      salt,
      md5: digest("md5", password + salt),
      sha1: digest("sha1", password + salt),
      sha256: digest("sha256", password + salt),
    },
    dob: { date: dob.toISOString(), age: wholeYears(dob, context.nowMs) },
    registered: { date: registered.toISOString(), age: wholeYears(registered, context.nowMs) },
    phone,
    cell,
    id: { name: profile.idName, value: idValue },
    picture: {
      large: `https://randomuser.me/api/portraits/${portrait}`,
      medium: `https://randomuser.me/api/portraits/med/${portrait}`,
      thumbnail: `https://randomuser.me/api/portraits/thumb/${portrait}`,
    },
    nat,
  };
}
