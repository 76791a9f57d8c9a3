/**
 * The Random User record's zod schema, derived from its contract (`user_contract.ts`):
 * validation at the edge, as strict as the columns of `raw.users` (see `column_bounds.ts`). The
 * flattening into CSV columns is in `user_fields.ts`, which needs no zod (the extract's workers
 * load zod only when a record needs it).
 *
 * @example
 * ```ts
 * const result = parseUser(record);
 * if (!result.ok) console.log(result.reason); // "dob.age: Invalid input: expected number, …"
 * ```
 *
 * @module
 */
import { z } from "zod";
import type { FieldTree } from "./user_fields.ts";
import { type FieldKind, type RecordContract, USER_CONTRACT } from "./user_contract.ts";
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
/** The zod type of each kind. */
const KIND_SCHEMAS: Readonly<Record<FieldKind, z.ZodType>> = {
  text,
  int4,
  decimal: decimalText,
  timestamp,
  uuid: z.guid({ message: "must be a UUID" }),
  postcode: z.union([text, z.number()]),
};

/** The zod schema of a record contract: nested objects as the fields' paths nest, in order. */
export function contractSchema(contract: RecordContract): z.ZodObject {
  type Shape = Map<string, Shape | z.ZodType>;
  const root: Shape = new Map();
  for (const field of contract.fields) {
    let shape = root;
    for (const name of field.path.slice(0, -1)) {
      let child = shape.get(name);
      if (!(child instanceof Map)) shape.set(name, child = new Map());
      shape = child;
    }
    const type = KIND_SCHEMAS[field.kind];
    shape.set(field.path.at(-1)!, field.nullable ? type.nullable() : type);
  }
  const build = (shape: Shape): z.ZodObject =>
    z.object(Object.fromEntries(
      [...shape].map(([name, child]) => [name, child instanceof Map ? build(child) : child]),
    ));
  return build(root);
}

/** The shape of one element of the API's `results`, as randomuser.me 1.4 sends it. */
export const userSchema: z.ZodObject = contractSchema(USER_CONTRACT);

/** A validated API user: an object of the contract's shape (`flattenRecord` makes it a row). */
export type User = Record<string, unknown>;

/** The outcome of validating one API record. */
export type ParsedUser = { ok: true; user: User } | { ok: false; reason: string };

/** Validates one API record; on failure, `reason` names each wrong field and what it expected. */
export function parseUser(record: unknown, schema: z.ZodObject = userSchema): ParsedUser {
  const result = schema.safeParse(record);
  if (result.success) return { ok: true, user: result.data };
  const reason = result.error.issues
    .map((issue) => `${issue.path.join(".") || "(record)"}: ${issue.message}`)
    .join("; ");
  return { ok: false, reason };
}

/** The fields of the schema as a tree (`null` for a leaf), to compare with `user_fields.ts`. */
export function schemaFieldTree(schema: z.ZodObject = userSchema): FieldTree {
  const tree: Record<string, FieldTree | null> = {};
  for (const [field, child] of Object.entries(schema.shape)) {
    tree[field] = child instanceof z.ZodObject ? schemaFieldTree(child) : null;
  }
  return tree;
}
