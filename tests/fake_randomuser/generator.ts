/**
 * Deterministic user generator for the project's stand-in for randomuser.me (API v1.4 JSON shape),
 * drawing names, places and phone formats from `@faker-js/faker` locales.
 *
 * Each user is derived only from (seed, page, index), so a smaller `results` on the same seed and
 * page is a prefix of a larger one, and the same request always yields the same bytes.
 */

import { createHash } from "node:crypto";
import {
  Faker,
  fakerDA,
  fakerDE,
  fakerDE_CH,
  fakerEN,
  fakerEN_AU,
  fakerEN_CA,
  fakerEN_GB,
  fakerEN_IE,
  fakerEN_IN,
  fakerEN_US,
  fakerES,
  fakerES_MX,
  fakerFA,
  fakerFI,
  fakerFR,
  fakerNB_NO,
  fakerNL,
  fakerPT_BR,
  fakerSR_RS_latin,
  fakerTR,
  fakerUK,
} from "@faker-js/faker";

/** The 21 nationalities randomuser.me serves, in its documented order. */
export const NATIONALITIES = [
  "AU",
  "BR",
  "CA",
  "CH",
  "DE",
  "DK",
  "ES",
  "FI",
  "FR",
  "GB",
  "IE",
  "IN",
  "IR",
  "MX",
  "NL",
  "NO",
  "NZ",
  "RS",
  "TR",
  "UA",
  "US",
] as const;

/** A nationality code as randomuser.me writes it in `nat`. */
export type Nationality = typeof NATIONALITIES[number];

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
// Seeded randomness: a 128-bit hash of the seed, mixed with page and index, drives sfc32.

/** A small fast PRNG (sfc32) with 128 bits of state. */
class Random {
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

/** cyrb128: a 128-bit non-cryptographic string hash. */
function hash128(text: string): [number, number, number, number] {
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
function userRandom(key: readonly number[], page: number, index: number): Random {
  const [k0 = 0, k1 = 0, k2 = 0, k3 = 0] = key;
  return new Random(
    k0 ^ fmix32(page),
    k1 ^ fmix32(index ^ 0x9e3779b9),
    k2 ^ fmix32(Math.imul(page, 0x27d4eb2f) ^ index),
    k3,
  );
}

// ---------------------------------------------------------------------------------------------
// Per-nationality profiles and value pools drawn lazily from faker.

interface PooledName {
  readonly text: string;
  /** ASCII lower-case form for the email local part; empty when nothing survives folding. */
  readonly ascii: string;
}

interface Pools {
  readonly maleFirst: readonly PooledName[];
  readonly femaleFirst: readonly PooledName[];
  readonly last: readonly PooledName[];
  readonly streets: readonly string[];
  readonly cities: readonly string[];
  readonly states: readonly string[];
  readonly postcodes: readonly string[];
  readonly phones: readonly string[];
}

type IdMaker = (random: Random, context: { dob: Date; last: string }) => string;

interface Profile {
  readonly country: string;
  readonly source: Faker;
  readonly postcodeIsString: boolean;
  readonly stateFromCounty: boolean;
  readonly maleTitles: readonly string[];
  readonly femaleTitles: readonly string[];
  readonly idName: string;
  readonly idValue: IdMaker | null;
}

const ENGLISH_TITLES = { male: ["Mr"], female: ["Mrs", "Ms", "Miss"] } as const;
const FRENCH_TITLES = { male: ["Monsieur"], female: ["Madame", "Mademoiselle"] } as const;
const GERMAN_TITLES = { male: ["Herr"], female: ["Frau"] } as const;

const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

function ddmmyy(date: Date): string {
  const dd = String(date.getUTCDate()).padStart(2, "0");
  const mm = String(date.getUTCMonth() + 1).padStart(2, "0");
  const yy = String(date.getUTCFullYear() % 100).padStart(2, "0");
  return dd + mm + yy;
}

function letter(random: Random): string {
  return LETTERS.charAt(random.int(26));
}

function profile(
  country: string,
  source: Faker,
  options: {
    postcodeIsString?: boolean;
    stateFromCounty?: boolean;
    titles?: { readonly male: readonly string[]; readonly female: readonly string[] };
    idName: string;
    idValue: IdMaker | null;
  },
): Profile {
  const titles = options.titles ?? ENGLISH_TITLES;
  return {
    country,
    source,
    postcodeIsString: options.postcodeIsString ?? false,
    stateFromCounty: options.stateFromCounty ?? false,
    maleTitles: titles.male,
    femaleTitles: titles.female,
    idName: options.idName,
    idValue: options.idValue,
  };
}

const PROFILES: Readonly<Record<Nationality, Profile>> = {
  AU: profile("Australia", fakerEN_AU, { idName: "TFN", idValue: (r) => r.digits(9) }),
  BR: profile("Brazil", fakerPT_BR, {
    idName: "CPF",
    idValue: (r) => `${r.digits(3)}.${r.digits(3)}.${r.digits(3)}-${r.digits(2)}`,
  }),
  CA: profile("Canada", fakerEN_CA, {
    postcodeIsString: true,
    idName: "SIN",
    idValue: (r) => r.digits(9),
  }),
  CH: profile("Switzerland", fakerDE_CH, {
    titles: FRENCH_TITLES,
    idName: "AVS",
    idValue: (r) => `756.${r.digits(4)}.${r.digits(4)}.${r.digits(2)}`,
  }),
  DE: profile("Germany", fakerDE, {
    titles: GERMAN_TITLES,
    idName: "SVNR",
    idValue: (r, { dob, last }) =>
      `${r.digits(2)} ${ddmmyy(dob)} ${(last.charAt(0) || "X").toUpperCase()} ${r.digits(3)}`,
  }),
  DK: profile("Denmark", fakerDA, {
    idName: "CPR",
    idValue: (r, { dob }) => `${ddmmyy(dob)}-${r.digits(4)}`,
  }),
  ES: profile("Spain", fakerES, {
    idName: "DNI",
    idValue: (r) => {
      const number = r.digits(8);
      return `${number}-${"TRWAGMYFPDXBNJZSQVHLCKE".charAt(Number(number) % 23)}`;
    },
  }),
  FI: profile("Finland", fakerFI, {
    idName: "HETU",
    idValue: (r, { dob }) => {
      const date = ddmmyy(dob);
      const serial = r.digits(3);
      const check = "0123456789ABCDEFHJKLMNPRSTUVWXY".charAt(Number(date + serial) % 31);
      return `${date}${dob.getUTCFullYear() >= 2000 ? "A" : "-"}${serial}${check}`;
    },
  }),
  FR: profile("France", fakerFR, {
    titles: FRENCH_TITLES,
    idName: "INSEE",
    idValue: (r, { dob }) => {
      const yy = String(dob.getUTCFullYear() % 100).padStart(2, "0");
      const mm = String(dob.getUTCMonth() + 1).padStart(2, "0");
      const body = `${1 + r.int(2)}${yy}${mm}${r.digits(8)}`;
      return `${body} ${String(97 - (Number(body) % 97)).padStart(2, "0")}`;
    },
  }),
  GB: profile("United Kingdom", fakerEN_GB, {
    postcodeIsString: true,
    stateFromCounty: true,
    idName: "NINO",
    idValue: (r) =>
      `${letter(r)}${letter(r)} ${r.digits(2)} ${r.digits(2)} ${r.digits(2)} ${
        "ABCD".charAt(r.int(4))
      }`,
  }),
  IE: profile("Ireland", fakerEN_IE, {
    postcodeIsString: true,
    stateFromCounty: true,
    idName: "PPS",
    idValue: (r) => `${r.digits(7)}${letter(r)}`,
  }),
  IN: profile("India", fakerEN_IN, { idName: "UIDAI", idValue: (r) => r.digits(12) }),
  IR: profile("Iran", fakerFA, { idName: "", idValue: null }),
  MX: profile("Mexico", fakerES_MX, {
    idName: "NSS",
    idValue: (r) => `${r.digits(2)} ${r.digits(2)} ${r.digits(2)} ${r.digits(4)} ${r.digits(1)}`,
  }),
  NL: profile("Netherlands", fakerNL, {
    postcodeIsString: true,
    idName: "BSN",
    idValue: (r) => r.digits(9),
  }),
  NO: profile("Norway", fakerNB_NO, {
    idName: "FN",
    idValue: (r, { dob }) => `${ddmmyy(dob)}${r.digits(5)}`,
  }),
  // faker has no en_NZ locale; New Zealand users borrow en_AU data, as this stand-in documents.
  NZ: profile("New Zealand", fakerEN_AU, { idName: "", idValue: null }),
  RS: profile("Serbia", fakerSR_RS_latin, { idName: "SID", idValue: (r) => r.digits(9) }),
  TR: profile("Turkey", fakerTR, { idName: "", idValue: null }),
  UA: profile("Ukraine", fakerUK, { idName: "", idValue: null }),
  US: profile("United States", fakerEN_US, {
    idName: "SSN",
    idValue: (r) => `${r.digits(3)}-${r.digits(2)}-${r.digits(4)}`,
  }),
};

/** Offset/description pairs as randomuser.me writes them (faker has none of these). */
const TIMEZONES: readonly { readonly offset: string; readonly description: string }[] = [
  { offset: "-12:00", description: "Eniwetok, Kwajalein" },
  { offset: "-11:00", description: "Midway Island, Samoa" },
  { offset: "-10:00", description: "Hawaii" },
  { offset: "-9:00", description: "Alaska" },
  { offset: "-8:00", description: "Pacific Time (US & Canada)" },
  { offset: "-7:00", description: "Mountain Time (US & Canada)" },
  { offset: "-6:00", description: "Central Time (US & Canada), Mexico City" },
  { offset: "-5:00", description: "Eastern Time (US & Canada), Bogota, Lima" },
  { offset: "-4:00", description: "Atlantic Time (Canada), Caracas, La Paz" },
  { offset: "-3:30", description: "Newfoundland" },
  { offset: "-3:00", description: "Brazil, Buenos Aires, Georgetown" },
  { offset: "-2:00", description: "Mid-Atlantic" },
  { offset: "-1:00", description: "Azores, Cape Verde Islands" },
  { offset: "0:00", description: "Western Europe Time, London, Lisbon, Casablanca" },
  { offset: "+1:00", description: "Brussels, Copenhagen, Madrid, Paris" },
  { offset: "+2:00", description: "Kaliningrad, South Africa" },
  { offset: "+3:00", description: "Baghdad, Riyadh, Moscow, St. Petersburg" },
  { offset: "+3:30", description: "Tehran" },
  { offset: "+4:00", description: "Abu Dhabi, Muscat, Baku, Tbilisi" },
  { offset: "+4:30", description: "Kabul" },
  { offset: "+5:00", description: "Ekaterinburg, Islamabad, Karachi, Tashkent" },
  { offset: "+5:30", description: "Bombay, Calcutta, Madras, New Delhi" },
  { offset: "+5:45", description: "Kathmandu" },
  { offset: "+6:00", description: "Almaty, Dhaka, Colombo" },
  { offset: "+7:00", description: "Bangkok, Hanoi, Jakarta" },
  { offset: "+8:00", description: "Beijing, Perth, Singapore, Hong Kong" },
  { offset: "+9:00", description: "Tokyo, Seoul, Osaka, Sapporo, Yakutsk" },
  { offset: "+9:30", description: "Adelaide, Darwin" },
  { offset: "+10:00", description: "Eastern Australia, Guam, Vladivostok" },
  { offset: "+11:00", description: "Magadan, Solomon Islands, New Caledonia" },
  { offset: "+12:00", description: "Auckland, Wellington, Fiji, Kamchatka" },
];

const NAME_POOL = 512;
const PLACE_POOL = 256;
const FORMAT_POOL = 128;

/** Draws `count` values from a freshly seeded private faker so pools never depend on call order. */
function draw<T>(count: number, make: () => T): T[] {
  return Array.from({ length: count }, make);
}

const poolCache = new Map<Faker, Pools>();

function poolsFor(source: Faker, stateFromCounty: boolean): Pools {
  const cached = poolCache.get(source);
  if (cached !== undefined) return cached;
  // A private instance with the same locale data: seeding it does not disturb shared fakers.
  const faker = new Faker({ locale: source.rawDefinitions });
  faker.seed(0x5eed);
  const name = (text: string): PooledName => ({ text, ascii: asciiFold(text) });
  const pools: Pools = {
    maleFirst: draw(NAME_POOL, () => name(faker.person.firstName("male"))),
    femaleFirst: draw(NAME_POOL, () => name(faker.person.firstName("female"))),
    last: draw(NAME_POOL, () => name(faker.person.lastName())),
    streets: draw(PLACE_POOL, () => faker.location.street()),
    cities: draw(PLACE_POOL, () => faker.location.city()),
    states: draw(
      PLACE_POOL,
      () => stateFromCounty ? faker.location.county() : faker.location.state(),
    ),
    postcodes: draw(FORMAT_POOL, () => faker.location.zipCode()),
    phones: draw(FORMAT_POOL, () => faker.phone.number({ style: "national" })),
  };
  poolCache.set(source, pools);
  return pools;
}

interface LoginPools {
  readonly adjectives: readonly string[];
  readonly animals: readonly string[];
  readonly passwords: readonly string[];
}

let loginPoolCache: LoginPools | undefined;

function loginPools(): LoginPools {
  if (loginPoolCache !== undefined) return loginPoolCache;
  const faker = new Faker({ locale: fakerEN.rawDefinitions });
  faker.seed(0x10917);
  const word = (text: string) => text.toLowerCase().replace(/[^a-z]/g, "");
  const unique = (values: string[]) => [...new Set(values.filter((v) => v.length > 0))];
  loginPoolCache = {
    adjectives: unique(draw(FORMAT_POOL, () => word(faker.color.human()))),
    animals: unique(draw(FORMAT_POOL, () => word(faker.animal.type()))),
    passwords: unique(
      draw(PLACE_POOL, () => word(faker.word.sample({ length: { min: 4, max: 9 } }))),
    ),
  };
  return loginPoolCache;
}

// ---------------------------------------------------------------------------------------------
// Transliteration for email local parts (Persian and Ukrainian names stay in their own script).

const TRANSLITERATION: Readonly<Record<string, string>> = {
  // Cyrillic (Ukrainian, plus Russian letters faker may emit)
  а: "a",
  б: "b",
  в: "v",
  г: "h",
  ґ: "g",
  д: "d",
  е: "e",
  є: "ye",
  ж: "zh",
  з: "z",
  и: "y",
  і: "i",
  ї: "yi",
  й: "y",
  к: "k",
  л: "l",
  м: "m",
  н: "n",
  о: "o",
  п: "p",
  р: "r",
  с: "s",
  т: "t",
  у: "u",
  ф: "f",
  х: "kh",
  ц: "ts",
  ч: "ch",
  ш: "sh",
  щ: "shch",
  ю: "yu",
  я: "ya",
  ё: "e",
  ы: "y",
  э: "e",
  // Persian
  "ا": "a",
  "آ": "a",
  "أ": "a",
  "إ": "e",
  "ب": "b",
  "پ": "p",
  "ت": "t",
  "ث": "s",
  "ج": "j",
  "چ": "ch",
  "ح": "h",
  "خ": "kh",
  "د": "d",
  "ذ": "z",
  "ر": "r",
  "ز": "z",
  "ژ": "zh",
  "س": "s",
  "ش": "sh",
  "ص": "s",
  "ض": "z",
  "ط": "t",
  "ظ": "z",
  "غ": "gh",
  "ف": "f",
  "ق": "gh",
  "ک": "k",
  "ك": "k",
  "گ": "g",
  "ل": "l",
  "م": "m",
  "ن": "n",
  "و": "v",
  "ه": "h",
  "ة": "h",
  "ی": "y",
  "ي": "y",
  "ئ": "y",
  // Latin letters that do not decompose
  ø: "o",
  æ: "ae",
  œ: "oe",
  ß: "ss",
  ı: "i",
  đ: "d",
  ł: "l",
  þ: "th",
  ð: "d",
};

/** Lower-case ASCII letters and digits for an email local part, e.g. "Müller-Lüdenscheidt" → "mullerludenscheidt". */
function asciiFold(text: string): string {
  const lower = text.toLowerCase().normalize("NFD");
  let out = "";
  for (const char of lower) {
    const code = char.charCodeAt(0);
    if ((code >= 97 && code <= 122) || (code >= 48 && code <= 57)) out += char;
    else out += TRANSLITERATION[char] ?? "";
  }
  return out;
}

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
