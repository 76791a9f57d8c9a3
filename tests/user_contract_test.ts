/**
 * The user record's contract (`tasks/extract/user_contract.ts`) against everything else that
 * spells the record out: the columns `migrate` creates in `raw.users` (read back from
 * information_schema), dbt's source and staging model — and, with a contract of one more field
 * built in memory, the schema, the columns, the flattening, the line builder and the byte path
 * that derive from it.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { csvLine } from "../tasks/extract/csv_text.ts";
import {
  type ContractEntry,
  defineContract,
  FIELD_KINDS,
  type RecordContract,
  USER_CONTRACT,
} from "../tasks/extract/user_contract.ts";
import { csvByteEncoder } from "../tasks/extract/byte_path/csv_byte_encoder.ts";
import { csvLineBuilder, userCsvLine } from "../tasks/extract/user_csv_line.ts";
import {
  contractFieldTree,
  flattenUser,
  hasOnlyKnownFields,
  keyOf,
  unknownFields,
  USER_COLUMNS,
} from "../tasks/extract/user_fields.ts";
import { contractSchema, parseUser, userSchema } from "../tasks/extract/user_schema.ts";
import { migrate } from "../tasks/warehouse/migrations.ts";
import { projectPath } from "../tasks/shared/paths.ts";
import { generatePage } from "../tasks/stand_in/user_generator.ts";
import { createTestDatabase } from "./helpers/test_warehouse.ts";

/** Columns of raw.users that are not the record's: the key derived from it, the load's. */
const LOAD_COLUMNS = ["_ds", "_batch_id", "_loaded_at"];
/** Record columns the staging model leaves behind: the key (staged as `id`), the credentials. */
const NOT_STAGED = [
  "login_uuid",
  "login_password",
  "login_salt",
  "login_md5",
  "login_sha1",
  "login_sha256",
];

Deno.test("raw.users holds the contract's columns in its order, with its types and nullability", async () => {
  await using db = await createTestDatabase();
  await migrate(db.sql);
  const columns = await db.sql<{ name: string; type: string; nullable: string }[]>`
    select column_name as name, data_type as type, is_nullable as nullable
    from information_schema.columns
    where table_schema = 'raw' and table_name = 'users' order by ordinal_position`;
  // The contract's order, wherever the load's own columns fall: a field added later is a column
  // that a migration appends after them (docs/development.md, Adding a field).
  const loadColumns = new Set<string>(LOAD_COLUMNS);
  assert.deepEqual(
    columns.map((c) => c.name).filter((name) => !loadColumns.has(name)),
    ["id", ...USER_CONTRACT.columns],
  );
  assert.deepEqual(columns.map((c) => c.name).filter((name) => loadColumns.has(name)), [
    ...LOAD_COLUMNS,
  ]);
  const byName = new Map(columns.map((c) => [c.name, c]));
  const key = USER_CONTRACT.fields[USER_CONTRACT.keyIndex]!;
  assert.equal(byName.get("id")?.type, FIELD_KINDS[key.kind].column);
  for (const field of USER_CONTRACT.fields) {
    const column = byName.get(field.column)!;
    assert.equal(column.type, FIELD_KINDS[field.kind].column, `${field.column}'s type`);
    // Only the key is NOT NULL: the warehouse keeps what the extract vouched for.
    assert.equal(column.nullable, field.key ? "NO" : "YES", `${field.column}'s nullability`);
  }
});

Deno.test("dbt's source and staging model read the contract's columns, and stage all but the credentials", async () => {
  const known = new Set(["id", ...USER_CONTRACT.columns, ...LOAD_COLUMNS]);
  const sources = parse(
    await Deno.readTextFile(projectPath("dbt_project/models/staging/_randomuser__sources.yml")),
  ) as { sources: { tables: { name: string; columns?: { name: string }[] }[] }[] };
  const users = sources.sources[0]!.tables.find((table) => table.name === "users")!;
  for (const { name } of users.columns ?? []) {
    assert.ok(known.has(name), `the source YAML names ${name}, which raw.users lacks`);
  }
  const staging = await Deno.readTextFile(
    projectPath("dbt_project/models/staging/stg_randomuser__users.sql"),
  );
  const selected = staging.slice(staging.indexOf("renamed as"));
  // Each selected column is `<source column> as <name>`, `nullif(<source column>, '')…` or bare.
  const read = new Set(
    [...selected.matchAll(/^\s+(?:\w+\()?([a-z_0-9]+)\b/gm)].map((match) => match[1]!),
  );
  read.delete("select");
  read.delete("from");
  for (const column of read) assert.ok(known.has(column), `staging reads ${column}, not a column`);
  assert.deepEqual(
    USER_CONTRACT.columns.filter((column) => !read.has(column)),
    NOT_STAGED,
    "a contract column is neither staged nor a deliberately dropped credential",
  );
});

/** The user's contract with one more field, `location.floor` (an int4), after `location.country`. */
function contractWithFloor(): RecordContract {
  const entries: ContractEntry[] = USER_CONTRACT.fields.map((field) => [
    field.path.join("."),
    field.kind,
    { ...(field.nullable ? { nullable: true } : {}), ...(field.key ? { key: true } : {}) },
  ]);
  const at = USER_CONTRACT.columns.indexOf("location_country") + 1;
  entries.splice(at, 0, ["location.floor", "int4"]);
  return defineContract(entries);
}

/** A stand-in user with `floor` in its location, written in the contract's order. */
function userWithFloor(floor: unknown): Record<string, unknown> {
  const user = structuredClone(
    generatePage({ seed: "contract", page: 1, results: 1, now: new Date(0) }).results[0]!,
  ) as unknown as Record<string, Record<string, unknown>>;
  const location: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(user.location!)) {
    location[name] = value;
    if (name === "country") location.floor = floor;
  }
  return { ...user, location };
}

Deno.test("a contract with one more field: schema, columns, line builder and byte path follow it", () => {
  const contract = contractWithFloor();
  const floorAt = USER_CONTRACT.columns.indexOf("location_country") + 1;
  assert.equal(contract.columns.length, USER_CONTRACT.columns.length + 1);
  assert.equal(contract.columns[floorAt], "location_floor");
  assert.deepEqual(contract.columns.toSpliced(floorAt, 1), USER_COLUMNS);

  const user = userWithFloor(7);
  const schema = contractSchema(contract);
  const parsed = parseUser(user, schema);
  assert.ok(parsed.ok, parsed.ok ? "" : parsed.reason);
  const row = flattenUser(parsed.user, contract);
  assert.equal(row[floorAt], 7);
  assert.deepEqual(row.toSpliced(floorAt, 1), flattenUser(user));
  assert.equal(keyOf(user, contract), keyOf(user));

  // The line builder writes the row; the byte path takes the record as it is written, or not at
  // all — never another line.
  const line = csvLineBuilder(contract)(user);
  assert.equal(line, csvLine(row));
  const bytes = new TextEncoder().encode(JSON.stringify(user));
  const encoder = csvByteEncoder({ contract });
  const uuids = new Uint32Array(4);
  assert.equal(encoder.encode(bytes, 0, uuids, 0), bytes.length);
  assert.equal(new TextDecoder().decode(encoder.csv), line);

  // The drift checks count the new field; the user's own contract calls it drift.
  assert.ok(hasOnlyKnownFields(user, contract));
  assert.deepEqual(unknownFields(user, contractFieldTree(contract)), []);
  assert.ok(!hasOnlyKnownFields(user));
  assert.deepEqual(unknownFields(user), ["location.floor"]);
  assert.equal(csvByteEncoder().encode(bytes, 0, uuids, 0), -1);
  assert.ok(userSchema.safeParse(user).success, "zod's objects strip what they do not know");

  // A value the new field's kind refuses: every path of the extended contract declines it.
  const refused = userWithFloor("seven");
  assert.equal(csvLineBuilder(contract)(refused), undefined);
  const refusedBytes = new TextEncoder().encode(JSON.stringify(refused));
  assert.equal(encoder.encode(refusedBytes, 0, uuids, 0), -1);
  const reason = parseUser(refused, schema);
  assert.ok(!reason.ok && /^location\.floor: /.test(reason.reason));
  // A record without it: the new contract's paths decline it, its schema names the field.
  const without = generatePage({ seed: "contract", page: 1, results: 1 }).results[0];
  assert.equal(csvLineBuilder(contract)(without), undefined);
  assert.notEqual(userCsvLine(without), undefined);
});

Deno.test("a contract refuses what its encoders could not tell apart", () => {
  assert.throws(() => defineContract([["a_b", "text"], ["id", "uuid", { key: true }]]), /letters/);
  assert.throws(() => defineContract([["a", "text"]]), /one key field/);
  assert.throws(
    () =>
      defineContract([["a.x", "text"], ["b", "text"], ["a.y", "text"], ["k", "uuid", {
        key: true,
      }]]),
    /the fields of a must come together/,
  );
  assert.throws(
    () => defineContract([["a", "text"], ["a", "text"], ["k", "uuid", { key: true }]]),
    /declared twice/,
  );
});
