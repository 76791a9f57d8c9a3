/**
 * The Random User record: its zod schema (validation at the edge, as strict as the columns of
 * `raw.users`: see `column_bounds.ts`), and its flattening into one CSV row whose columns are the
 * API's fields joined with `_` (`name_first`, `dob_age`, …).
 *
 * @example
 * ```ts
 * const result = parseUser(record);
 * if (result.ok) console.log(flattenUser(result.user)); // ["female", "Miss", "Jennie", …]
 * ```
 *
 * @module
 */
import { z } from "zod";
import {
  DECIMAL_TEXT,
  fractionDigits,
  INT4_MAX,
  INT4_MIN,
  isStorableOffset,
  isStorableText,
  NUMERIC_MAX_FRACTION_DIGITS,
  NUMERIC_MAX_WHOLE_DIGITS,
  TIMESTAMP_MAX_FRACTION_DIGITS,
  TIMESTAMP_MAX_OFFSET_HOURS,
  timestampFractionDigits,
  timestampOffset,
  wholeDigits,
} from "./column_bounds.ts";

/** Only when no earlier check of the same value failed: one reason per wrong value. */
const afterShape = {
  when: (payload: { issues: readonly unknown[] }) => payload.issues.length === 0,
};

const text = z.string().refine(isStorableText, {
  message: "contains a NUL character or an unpaired surrogate, which PostgreSQL text cannot store",
});
const int4 = z.number().int().min(INT4_MIN).max(INT4_MAX);

// What PostgreSQL's numeric input accepts, so a coordinate never fails the COPY.
const decimalText = z.string()
  .regex(DECIMAL_TEXT, {
    message: 'must be a decimal number written as a string, such as "-69.8246"',
  })
  .refine((value) => wholeDigits(value) <= NUMERIC_MAX_WHOLE_DIGITS, {
    ...afterShape,
    error: (issue) =>
      `has ${wholeDigits(String(issue.input))} digits before the decimal point; PostgreSQL ` +
      `numeric holds at most ${NUMERIC_MAX_WHOLE_DIGITS}`,
  })
  .refine((value) => fractionDigits(value) <= NUMERIC_MAX_FRACTION_DIGITS, {
    ...afterShape,
    error: (issue) =>
      `has ${fractionDigits(String(issue.input))} digits after the decimal point; PostgreSQL ` +
      `numeric holds at most ${NUMERIC_MAX_FRACTION_DIGITS}`,
  });

const timestamp = z.iso.datetime({ offset: true, message: "must be an ISO 8601 timestamp" })
  .refine((value) => !value.startsWith("0000"), {
    ...afterShape,
    message: "has year 0000, which PostgreSQL does not have (1 BC is written 0001 BC)",
  })
  .refine(isStorableOffset, {
    ...afterShape,
    error: (issue) =>
      `has the offset ${timestampOffset(String(issue.input))}, beyond PostgreSQL's ` +
      `±${TIMESTAMP_MAX_OFFSET_HOURS}:59`,
  })
  .refine((value) => timestampFractionDigits(value) <= TIMESTAMP_MAX_FRACTION_DIGITS, {
    ...afterShape,
    error: (issue) =>
      `has ${timestampFractionDigits(String(issue.input))} fractional digits; PostgreSQL ` +
      `keeps ${TIMESTAMP_MAX_FRACTION_DIGITS} (microseconds), so the instant would change`,
  });
const dateAndAge = z.object({ date: timestamp, age: int4 });

/** The shape of one element of the API's `results`, as randomuser.me 1.4 sends it. */
export const userSchema = z.object({
  gender: text,
  name: z.object({ title: text, first: text, last: text }),
  location: z.object({
    street: z.object({ number: int4, name: text }),
    city: text,
    state: text,
    country: text,
    // A number for most nationalities, a string for CA, GB, IE, NL ("T8B 4T4").
    postcode: z.union([text, z.number()]),
    coordinates: z.object({ latitude: decimalText, longitude: decimalText }),
    timezone: z.object({ offset: text, description: text }),
  }),
  email: text,
  login: z.object({
    uuid: z.guid({ message: "must be a UUID" }),
    username: text,
    password: text,
    salt: text,
    md5: text,
    sha1: text,
    sha256: text,
  }),
  dob: dateAndAge,
  registered: dateAndAge,
  phone: text,
  cell: text,
  // `value` is null for nationalities without a national id (IR, NZ, TR, UA).
  id: z.object({ name: text, value: text.nullable() }),
  picture: z.object({ large: text, medium: text, thumbnail: text }),
  nat: text,
});

/** A validated API user. */
export type User = z.infer<typeof userSchema>;

/** One CSV row: values in {@linkcode USER_COLUMNS} order; `null` is SQL NULL. */
export type UserRow = Array<string | number | null>;

const FIELDS: ReadonlyArray<readonly [string, (user: User) => string | number | null]> = [
  ["gender", (u) => u.gender],
  ["name_title", (u) => u.name.title],
  ["name_first", (u) => u.name.first],
  ["name_last", (u) => u.name.last],
  ["location_street_number", (u) => u.location.street.number],
  ["location_street_name", (u) => u.location.street.name],
  ["location_city", (u) => u.location.city],
  ["location_state", (u) => u.location.state],
  ["location_country", (u) => u.location.country],
  ["location_postcode", (u) => String(u.location.postcode)],
  ["location_coordinates_latitude", (u) => u.location.coordinates.latitude],
  ["location_coordinates_longitude", (u) => u.location.coordinates.longitude],
  ["location_timezone_offset", (u) => u.location.timezone.offset],
  ["location_timezone_description", (u) => u.location.timezone.description],
  ["email", (u) => u.email],
  ["login_uuid", (u) => u.login.uuid],
  ["login_username", (u) => u.login.username],
  ["login_password", (u) => u.login.password],
  ["login_salt", (u) => u.login.salt],
  ["login_md5", (u) => u.login.md5],
  ["login_sha1", (u) => u.login.sha1],
  ["login_sha256", (u) => u.login.sha256],
  ["dob_date", (u) => u.dob.date],
  ["dob_age", (u) => u.dob.age],
  ["registered_date", (u) => u.registered.date],
  ["registered_age", (u) => u.registered.age],
  ["phone", (u) => u.phone],
  ["cell", (u) => u.cell],
  ["id_name", (u) => u.id.name],
  ["id_value", (u) => u.id.value],
  ["picture_large", (u) => u.picture.large],
  ["picture_medium", (u) => u.picture.medium],
  ["picture_thumbnail", (u) => u.picture.thumbnail],
  ["nat", (u) => u.nat],
];

/** The CSV header: every API field, flattened with `_`, in the API's order. */
export const USER_COLUMNS: readonly string[] = Object.freeze(FIELDS.map(([name]) => name));

/** Flattens a validated user into a row aligned with {@linkcode USER_COLUMNS}. */
export function flattenUser(user: User): UserRow {
  return FIELDS.map(([, read]) => read(user));
}

/** The outcome of validating one API record. */
export type ParsedUser = { ok: true; user: User } | { ok: false; reason: string };

/** Validates one API record; on failure, `reason` names each wrong field and what it expected. */
export function parseUser(record: unknown): ParsedUser {
  const result = userSchema.safeParse(record);
  if (result.success) return { ok: true, user: result.data };
  const reason = result.error.issues
    .map((issue) => `${issue.path.join(".") || "(record)"}: ${issue.message}`)
    .join("; ");
  return { ok: false, reason };
}

/** The fields the schema knows, as a tree: `null` for a leaf, a subtree for a nested object. */
type FieldTree = { readonly [field: string]: FieldTree | null };

function fieldTree(schema: z.ZodObject): FieldTree {
  const tree: Record<string, FieldTree | null> = {};
  for (const [field, child] of Object.entries(schema.shape)) {
    tree[field] = child instanceof z.ZodObject ? fieldTree(child) : null;
  }
  return tree;
}

const KNOWN_FIELDS = fieldTree(userSchema);

function fieldsIn(path: string): number {
  let tree: FieldTree | null | undefined = KNOWN_FIELDS;
  for (const field of path.split(".").filter(Boolean)) tree = tree?.[field];
  if (!tree) throw new RangeError(`the schema has no object at ${path}`);
  return Object.keys(tree).length;
}

/** How many fields each object of a record has in the contract: a quick check for drift. */
export const KNOWN_FIELD_COUNT = Object.freeze({
  user: fieldsIn(""),
  name: fieldsIn("name"),
  location: fieldsIn("location"),
  street: fieldsIn("location.street"),
  coordinates: fieldsIn("location.coordinates"),
  timezone: fieldsIn("location.timezone"),
  login: fieldsIn("login"),
  dob: fieldsIn("dob"),
  registered: fieldsIn("registered"),
  id: fieldsIn("id"),
  picture: fieldsIn("picture"),
});

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The fields of an API record that the schema does not know (schema drift), at any depth, as
 * dotted paths: `["location.extra", "login.mfa_secret"]`.
 */
export function unknownFields(record: unknown): string[] {
  const found: string[] = [];
  const walk = (value: unknown, known: FieldTree, prefix: string) => {
    if (!isPlainObject(value)) return;
    for (const [field, child] of Object.entries(value)) {
      // Own fields only: a record may well carry "constructor" or "__proto__".
      const subtree = Object.hasOwn(known, field) ? known[field] : undefined;
      if (subtree === undefined) found.push(prefix + field);
      else if (subtree !== null) walk(child, subtree, `${prefix}${field}.`);
    }
  };
  walk(record, KNOWN_FIELDS, "");
  return found;
}
