/**
 * The stand-in's nationalities: the 21 that randomuser.me serves, each with its profile (country,
 * the faker locale it draws from, titles, national id, postcode form) and value pools drawn
 * lazily from faker.
 *
 * @module
 */
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
import { type Random } from "./seeded_random.ts";
import { asciiFold } from "./transliteration.ts";

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

export interface PooledName {
  readonly text: string;
  /** ASCII lower-case form for the email local part; empty when nothing survives folding. */
  readonly ascii: string;
}

export interface Pools {
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

export interface Profile {
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
export const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

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

export const PROFILES: Readonly<Record<Nationality, Profile>> = {
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
export const TIMEZONES: readonly { readonly offset: string; readonly description: string }[] = [
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

export function poolsFor(source: Faker, stateFromCounty: boolean): Pools {
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

export interface LoginPools {
  readonly adjectives: readonly string[];
  readonly animals: readonly string[];
  readonly passwords: readonly string[];
}

let loginPoolCache: LoginPools | undefined;

export function loginPools(): LoginPools {
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
