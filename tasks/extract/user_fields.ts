/**
 * The fields of a Random User record, without zod, as its contract (`user_contract.ts`) declares
 * them: the CSV columns (the API's fields joined with `_`: `name_first`, `dob_age`, …), the
 * flattening of a validated user into a row, and the drift checks (a field the contract does not
 * know, at any depth).
 *
 * @example
 * ```ts
 * unknownFields({ gender: "f", location: { extra: 1 } }); // ["location.extra"]
 * ```
 *
 * @module
 */
import { type RecordContract, USER_CONTRACT } from "./user_contract.ts";

/** One CSV row: values in {@linkcode USER_COLUMNS} order; `null` is SQL NULL. */
export type UserRow = Array<string | number | null>;

/** The CSV header: every API field, flattened with `_`, in the API's order. */
export const USER_COLUMNS: readonly string[] = USER_CONTRACT.columns;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The value at `path` of a record, or undefined where an object on the way is missing. */
function valueAt(record: unknown, path: readonly string[]): unknown {
  let value = record;
  for (const name of path) {
    if (!isPlainObject(value)) return undefined;
    value = value[name];
  }
  return value;
}

/**
 * Flattens a user the contract's schema accepted into a row aligned with its columns: a
 * postcode's number as text, JSON null as SQL NULL.
 */
export function flattenUser(user: unknown, contract: RecordContract = USER_CONTRACT): UserRow {
  return contract.fields.map((field) => {
    const value = valueAt(user, field.path) as string | number | null;
    return field.kind === "postcode" && value !== null ? String(value) : value;
  });
}

/** The key of a record the contract's schema or line builder took (its `login.uuid`). */
export function keyOf(record: unknown, contract: RecordContract = USER_CONTRACT): string {
  return valueAt(record, contract.fields[contract.keyIndex]!.path) as string;
}

/** The fields a record has, as a tree: `null` for a leaf, a subtree for a nested object. */
export type FieldTree = { readonly [field: string]: FieldTree | null };

/** The contract's fields as a tree: `location.street.number` is `location` › `street` › `number`. */
export function contractFieldTree(contract: RecordContract = USER_CONTRACT): FieldTree {
  const tree: Record<string, Record<string, unknown> | null> = {};
  for (const { path } of contract.fields) {
    let node: Record<string, unknown> = tree;
    for (const field of path.slice(0, -1)) {
      node = (node[field] ??= {}) as Record<string, unknown>;
    }
    node[path.at(-1)!] = null;
  }
  return tree as FieldTree;
}

/** The fields the contract knows. */
export const KNOWN_FIELDS: FieldTree = contractFieldTree(USER_CONTRACT);

/** Counts own fields of a JSON object (for-in sees no inherited ones on parsed JSON). */
function fieldCount(value: unknown): number {
  let count = 0;
  for (const _ in value as Record<string, unknown>) count++;
  return count;
}

/**
 * Whether a record that has every field of the contract (one the line builder took) has no
 * other: each of its objects has as many fields as the contract gives it — the quick drift check.
 */
export function hasOnlyKnownFields(
  record: unknown,
  contract: RecordContract = USER_CONTRACT,
): boolean {
  for (const object of contract.objects) {
    if (fieldCount(valueAt(record, object.path)) !== object.fields) return false;
  }
  return true;
}

/**
 * The fields of an API record that the contract does not know (schema drift), at any depth, as
 * dotted paths: `["location.extra", "login.mfa_secret"]`.
 */
export function unknownFields(record: unknown, known: FieldTree = KNOWN_FIELDS): string[] {
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
  walk(record, known, "");
  return found;
}
