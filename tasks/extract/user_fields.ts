/**
 * The fields of a Random User record, without zod: the CSV columns (the API's fields joined with
 * `_`: `name_first`, `dob_age`, …), the flattening of a validated user into a row, and the field
 * tree that tells schema drift (a field the contract does not know, at any depth). The schema in
 * `user_schema.ts` has the same fields: a test holds the two trees equal.
 *
 * @example
 * ```ts
 * unknownFields({ gender: "f", location: { extra: 1 } }); // ["location.extra"]
 * ```
 *
 * @module
 */
import type { User } from "./user_schema.ts";

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

/** The fields a record has, as a tree: `null` for a leaf, a subtree for a nested object. */
export type FieldTree = { readonly [field: string]: FieldTree | null };

/** The tree of the columns: `location_street_number` is `location` › `street` › `number`. */
function columnTree(columns: readonly string[]): FieldTree {
  const tree: Record<string, Record<string, unknown> | null> = {};
  for (const column of columns) {
    const path = column.split("_");
    let node: Record<string, unknown> = tree;
    for (const field of path.slice(0, -1)) {
      node = (node[field] ??= {}) as Record<string, unknown>;
    }
    node[path.at(-1)!] = null;
  }
  return tree as FieldTree;
}

/** The fields the contract knows (API field names have no `_`, so the columns say it all). */
export const KNOWN_FIELDS: FieldTree = columnTree(USER_COLUMNS);
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
