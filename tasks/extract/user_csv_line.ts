/**
 * The extract's fast path: the CSV line of an API record that the zod schema (`user_schema.ts`)
 * would accept, built in one pass over the record from its contract (`user_contract.ts`) with
 * the same predicates (`column_bounds.ts`) and no intermediate objects — or `undefined`, and zod decides (and explains a reject). A
 * differential test runs both over the stand-in's fault and hostile-data corpus and requires the
 * same lines and the same reasons.
 *
 * Why by hand: on a 5 000-user page zod's `safeParse` + flattening took 55 ms and `z.compile`'s
 * generated parser 38 ms; this takes about 10 ms (`deno task bench`, issue 18), which is most of
 * the difference between the extract and `JSON.parse` alone.
 *
 * @example
 * ```ts
 * const line = userCsvLine(record) ?? lineOf(parseUser(record)); // fast, else zod
 * ```
 *
 * @module
 */
import { isInt4, isStorableDecimal, isStorableTimestamp, UUID_TEXT } from "./column_bounds.ts";
import { type FieldKind, type RecordContract, USER_CONTRACT } from "./user_contract.ts";

type Fields = Record<string, unknown>;

/** A JSON object, as zod's `z.object` sees one (not null, not an array). */
function object(value: unknown): Fields | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? value as Fields
    : undefined;
}

/** What `csv_text.ts` quotes, and NUL, which text cannot hold: one scan finds either. */
const SPECIAL = /[\0",\r\n]/;

// `isStorableText` and `csvText` in one pass over the string (`user_csv_line_test` holds them
// equal): refuse NUL and unpaired surrogates, quote what needs quoting. Each writer returns
// `undefined` for a value the schema refuses.
function text(value: unknown): string | undefined {
  if (typeof value !== "string" || !value.isWellFormed()) return undefined;
  if (value === "") return '""';
  if (SPECIAL.test(value)) {
    return value.includes("\0") ? undefined : `"${value.replaceAll('"', '""')}"`;
  }
  return value === "\\." ? '"\\."' : value;
}

function value(kind: FieldKind, value: unknown): string | undefined {
  switch (kind) {
    case "text":
      return text(value);
    case "int4":
      return typeof value === "number" && isInt4(value) ? String(value) : undefined;
    case "decimal":
      return typeof value === "string" && isStorableDecimal(value) ? value : undefined;
    case "timestamp":
      return typeof value === "string" && isStorableTimestamp(value) ? value : undefined;
    case "uuid":
      return typeof value === "string" && UUID_TEXT.test(value) ? value : undefined;
    case "postcode":
      // A number for most nationalities (String() as flattening writes it), text for the others.
      if (typeof value === "number") return Number.isFinite(value) ? String(value) : undefined;
      return text(value);
  }
}

/**
 * The line builder of a record contract: the CSV line (CRLF included) of a record, in the
 * contract's column order, when the contract's schema would accept it; `undefined` otherwise
 * (which does not mean zod refuses it: zod has the last word).
 */
export function csvLineBuilder(contract: RecordContract): (record: unknown) => string | undefined {
  // The objects of a record, parents first, each found in its parent by name; and each field's
  // object and name.
  const objectIds = contract.objects.map((object) => object.path.join("."));
  const objects = contract.objects.map((object) => ({
    parent: objectIds.indexOf(object.path.slice(0, -1).join(".")),
    name: object.path.at(-1) ?? "",
  }));
  const fields = contract.fields.map((field) => ({
    object: objectIds.indexOf(field.path.slice(0, -1).join(".")),
    name: field.path.at(-1)!,
    kind: field.kind,
    nullable: field.nullable,
  }));
  return (record) => {
    const found = new Array<Fields>(objects.length);
    const root = object(record);
    if (!root) return undefined;
    found[0] = root;
    for (let i = 1; i < objects.length; i++) {
      const { parent, name } = objects[i]!;
      const child = object(found[parent]![name]);
      if (!child) return undefined;
      found[i] = child;
    }
    let line = "";
    for (let i = 0; i < fields.length; i++) {
      const field = fields[i]!;
      const raw = found[field.object]![field.name];
      const written = field.nullable && raw === null ? "" : value(field.kind, raw);
      if (written === undefined) return undefined;
      line += i === 0 ? written : "," + written;
    }
    return line + "\r\n";
  };
}

/**
 * The CSV line (CRLF included) of `record`, in `USER_COLUMNS` order, when the schema would accept
 * it; `undefined` otherwise (which does not mean zod refuses it: zod has the last word).
 */
export const userCsvLine: (record: unknown) => string | undefined = csvLineBuilder(USER_CONTRACT);
