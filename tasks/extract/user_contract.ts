/**
 * The user record's contract, declared once: one ordered entry per field of a Random User record
 * (its JSON path, its `raw.users` column, its kind, whether it may be null or empty, and what
 * PostgreSQL bounds it to). The zod schema (`user_schema.ts`), the CSV columns and the flattening
 * (`user_fields.ts`), the `JSON.parse` line builder (`user_csv_line.ts`), the byte path's kinds
 * and key template (`byte_path/csv_byte_encoder.ts`) and the drift checks all derive from it; tests hold the
 * migrations and dbt's source and staging model to it. Adding a field is one entry here, plus a
 * migration and dbt.
 *
 * @example
 * ```ts
 * USER_CONTRACT.columns[0]; // "gender"
 * USER_CONTRACT.fields.find((f) => f.column === "dob_age")?.kind; // "int4"
 * ```
 *
 * @module
 */
import {
  INT4_MAX,
  INT4_MIN,
  NUMERIC_MAX_FRACTION_DIGITS,
  NUMERIC_MAX_WHOLE_DIGITS,
  TIMESTAMP_MAX_FRACTION_DIGITS,
  TIMESTAMP_MAX_OFFSET_HOURS,
} from "./column_bounds.ts";

/** What a field holds, and so how it is checked, written and typed in the warehouse. */
export type FieldKind = "text" | "int4" | "decimal" | "timestamp" | "uuid" | "postcode";

/** How each kind arrives in JSON and what PostgreSQL makes of it (`column_bounds.ts`). */
export const FIELD_KINDS: Readonly<
  Record<FieldKind, { readonly json: string; readonly column: string; readonly bounds: string }>
> = {
  text: {
    json: "string",
    column: "text",
    bounds: "no NUL character, no unpaired surrogate",
  },
  int4: {
    json: "integer",
    column: "integer",
    bounds: `${INT4_MIN} to ${INT4_MAX}`,
  },
  decimal: {
    json: "string of a decimal number",
    column: "numeric",
    bounds: `at most ${NUMERIC_MAX_WHOLE_DIGITS} digits before the point and ` +
      `${NUMERIC_MAX_FRACTION_DIGITS} after it, no exponent`,
  },
  timestamp: {
    json: "ISO 8601 string with an offset",
    column: "timestamp with time zone",
    bounds: `no year 0000, offsets within ±${TIMESTAMP_MAX_OFFSET_HOURS}:59, at most ` +
      `${TIMESTAMP_MAX_FRACTION_DIGITS} fractional digits`,
  },
  uuid: {
    json: "string of 8-4-4-4-12 hex digits",
    column: "uuid",
    bounds: "8-4-4-4-12 hex digits",
  },
  postcode: {
    // A number for most nationalities, a string for CA, GB, IE, NL ("T8B 4T4").
    json: "integer or string",
    column: "text",
    bounds: "as text; a number as JavaScript writes it",
  },
};

/** One field of a record. */
export interface ContractField {
  /** Its place in the API's JSON: `["location", "street", "number"]`. */
  readonly path: readonly string[];
  /** Its CSV and `raw.users` column: the path joined with `_` (`location_street_number`). */
  readonly column: string;
  readonly kind: FieldKind;
  /** JSON `null` is a value of it (SQL NULL); otherwise null is refused. */
  readonly nullable: boolean;
  /** `""` is a value of it, kept distinct from null (every text is; no other kind can be). */
  readonly empty: boolean;
  /** The record's key: `raw.users.id` is generated from it, the only column that is NOT NULL. */
  readonly key: boolean;
}

/** An object of a record (the record itself at path `[]`) and how many fields it has. */
export interface ContractObject {
  readonly path: readonly string[];
  readonly fields: number;
}

/** A record's fields, with what derives from them alone. */
export interface RecordContract {
  /** In the API's order, which is the CSV's. */
  readonly fields: readonly ContractField[];
  /** The CSV header, the columns of `raw.users` that hold the record. */
  readonly columns: readonly string[];
  /** Every object of the record, parents before children, with its field count (drift checks). */
  readonly objects: readonly ContractObject[];
  /** Index in {@linkcode fields} of the key field. */
  readonly keyIndex: number;
}

/** An entry of {@linkcode defineContract}: a dotted path and a kind, and what sets it apart. */
export type ContractEntry = readonly [
  path: string,
  kind: FieldKind,
  options?: { readonly nullable?: true; readonly key?: true },
];

/**
 * Builds a contract from its entries, in order. Field names may not hold `_` or `.` (the column
 * joins the path with `_`), the fields of an object come together, and there is one key, a uuid.
 */
export function defineContract(entries: readonly ContractEntry[]): RecordContract {
  const fields = entries.map(([dotted, kind, options = {}]): ContractField => {
    const path = dotted.split(".");
    for (const name of path) {
      if (!/^[A-Za-z][A-Za-z0-9]*$/.test(name)) {
        throw new TypeError(`contract field ${dotted}: a field name is letters and digits only`);
      }
    }
    return Object.freeze({
      path: Object.freeze(path),
      column: path.join("_"),
      kind,
      nullable: options.nullable === true,
      empty: kind === "text" || kind === "postcode",
      key: options.key === true,
    });
  });
  const keys = fields.filter((field) => field.key);
  if (keys.length !== 1 || keys[0]!.kind !== "uuid" || keys[0]!.nullable) {
    throw new TypeError("a contract has one key field, a uuid that is never null");
  }
  return Object.freeze({
    fields: Object.freeze(fields),
    columns: Object.freeze(fields.map((field) => field.column)),
    objects: Object.freeze(objectsOf(fields)),
    keyIndex: fields.indexOf(keys[0]!),
  });
}

/** The objects of the fields, checking that each object's fields come together and once. */
function objectsOf(fields: readonly ContractField[]): ContractObject[] {
  const counts = new Map<string, { path: readonly string[]; names: Set<string> }>();
  const closed = new Set<string>();
  let open: readonly string[] = [];
  const at = (path: readonly string[]) => {
    const id = path.join(".");
    let entry = counts.get(id);
    if (!entry) counts.set(id, entry = { path, names: new Set() });
    return entry;
  };
  at([]);
  for (const field of fields) {
    const parents = field.path.slice(0, -1);
    let shared = 0;
    while (shared < open.length && open[shared] === parents[shared]) shared++;
    for (let depth = open.length; depth > shared; depth--) {
      closed.add(open.slice(0, depth).join("."));
    }
    for (let depth = 0; depth <= field.path.length - 1; depth++) {
      const parent = field.path.slice(0, depth);
      const name = field.path[depth]!;
      const id = [...parent, name].join(".");
      if (closed.has(id)) {
        throw new TypeError(
          `contract field ${field.path.join(".")}: the fields of ${id} must come together`,
        );
      }
      const siblings = at(parent).names;
      const last = depth === field.path.length - 1;
      if (last && siblings.has(name)) {
        throw new TypeError(`contract field ${field.path.join(".")} is declared twice`);
      }
      siblings.add(name);
    }
    open = parents;
  }
  return [...counts.values()].map(({ path, names }) => Object.freeze({ path, fields: names.size }));
}

/** The Random User record (API 1.4): every field of an element of `results`, in the API's order. */
export const USER_CONTRACT: RecordContract = defineContract([
  ["gender", "text"],
  ["name.title", "text"],
  ["name.first", "text"],
  ["name.last", "text"],
  ["location.street.number", "int4"],
  ["location.street.name", "text"],
  ["location.city", "text"],
  ["location.state", "text"],
  ["location.country", "text"],
  ["location.postcode", "postcode"],
  ["location.coordinates.latitude", "decimal"],
  ["location.coordinates.longitude", "decimal"],
  ["location.timezone.offset", "text"],
  ["location.timezone.description", "text"],
  ["email", "text"],
  ["login.uuid", "uuid", { key: true }],
  ["login.username", "text"],
  ["login.password", "text"],
  ["login.salt", "text"],
  ["login.md5", "text"],
  ["login.sha1", "text"],
  ["login.sha256", "text"],
  ["dob.date", "timestamp"],
  ["dob.age", "int4"],
  ["registered.date", "timestamp"],
  ["registered.age", "int4"],
  ["phone", "text"],
  ["cell", "text"],
  ["id.name", "text"],
  // null for nationalities without a national id (IR, NZ, TR, UA).
  ["id.value", "text", { nullable: true }],
  ["picture.large", "text"],
  ["picture.medium", "text"],
  ["picture.thumbnail", "text"],
  ["nat", "text"],
]);
