/**
 * The Random User record's zod schema: validation at the edge, as strict as the columns of
 * `raw.users` (see `column_bounds.ts`). Its fields and their flattening into CSV columns are in
 * `user_fields.ts`, which needs no zod (the extract's workers load zod only when a record needs
 * it).
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

/** The fields of the schema as a tree (`null` for a leaf), to compare with `user_fields.ts`. */
export function schemaFieldTree(schema: z.ZodObject = userSchema): FieldTree {
  const tree: Record<string, FieldTree | null> = {};
  for (const [field, child] of Object.entries(schema.shape)) {
    tree[field] = child instanceof z.ZodObject ? schemaFieldTree(child) : null;
  }
  return tree;
}
