/**
 * The dbt project's YAML, read the way dbt reads it (YAML 1.1 aside, the `yaml` package agrees
 * with PyYAML on everything here). dbt does not complain about a description cut short by a comma
 * in a flow mapping, or about the key such a cut leaves behind: these tests do.
 */
import assert from "node:assert/strict";
import { basename, dirname, extname, join, relative } from "node:path";
import { isMap, isScalar, isSeq, parseDocument, type YAMLMap } from "yaml";

const PROJECT = new URL("../dbt_project/", import.meta.url).pathname;
/** Directories dbt writes or installs into: not the project's own YAML. */
const GENERATED = new Set(["target", "logs", "dbt_packages", "dbt_internal_packages"]);
/** The chart kinds the report and Metabase draw (written out here, apart from the code). */
const CHARTS = ["bar", "stacked_bar", "grouped_bar", "line", "pie"];

// The keys dbt 1.11 reads on each kind of entry (dbt/contracts/graph/unparsed.py). dbt keeps any
// other key without a word, so a typo or the tail of a cut-off description would pass unseen.
const COMMON = ["name", "description", "config", "meta", "docs", "columns"];
const TESTED = [...COMMON, "data_tests", "tests"];
const ENTRY_KEYS: Record<string, readonly string[]> = {
  models: [
    ...TESTED,
    "constraints",
    "access",
    "latest_version",
    "versions",
    "deprecation_date",
    "time_spine",
    "quote_columns",
  ],
  seeds: TESTED,
  snapshots: TESTED,
  analyses: COMMON,
  sources: [
    ...COMMON,
    "database",
    "schema",
    "loader",
    "loaded_at_field",
    "loaded_at_query",
    "freshness",
    "quoting",
    "tags",
    "overrides",
    "tables",
  ],
  tables: [
    ...TESTED,
    "identifier",
    "loaded_at_field",
    "loaded_at_query",
    "freshness",
    "quoting",
    "tags",
    "external",
  ],
  unit_tests: [
    "name",
    "description",
    "model",
    "given",
    "expect",
    "config",
    "overrides",
    "versions",
  ],
};
const COLUMN_KEYS = [
  "name",
  "description",
  "data_type",
  "constraints",
  "data_tests",
  "tests",
  "config",
  "meta",
  "docs",
  "quote",
  "tags",
  "granularity",
];

/** One entry of a properties file: a model, seed, source, source table, analysis or unit test. */
interface Entry {
  readonly file: string;
  readonly kind: string;
  readonly name: string;
  readonly node: YAMLMap;
}

interface YamlFile {
  readonly path: string;
  /** The path inside dbt_project/, for messages. */
  readonly file: string;
  readonly text: string;
}

async function yamlFiles(dir = PROJECT): Promise<YamlFile[]> {
  const files: YamlFile[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory && !GENERATED.has(entry.name) && !entry.name.startsWith(".")) {
      files.push(...await yamlFiles(path));
    } else if (entry.isFile && /\.ya?ml$/.test(entry.name)) {
      files.push({ path, file: relative(PROJECT, path), text: await Deno.readTextFile(path) });
    }
  }
  return files.sort((a, b) => a.file.localeCompare(b.file));
}

async function filesIn(dir: string, extension: string): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(join(PROJECT, dir))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) files.push(...await filesIn(path, extension));
    else if (entry.isFile && extname(entry.name) === extension) files.push(path);
  }
  return files.sort();
}

function parse(file: YamlFile) {
  return parseDocument(file.text, { uniqueKeys: true, prettyErrors: true });
}

function keysOf(map: YAMLMap): string[] {
  return map.items.map((pair) => String(isScalar(pair.key) ? pair.key.value : pair.key));
}

function mapsOf(node: unknown, where: string): YAMLMap[] {
  if (node === undefined || node === null) return [];
  assert.ok(isSeq(node), `${where} is a list`);
  return node.items.map((item, index) => {
    assert.ok(isMap(item), `${where}[${index}] is a mapping`);
    return item;
  });
}

/** Every entry of the project's properties files, source tables included. */
async function entries(): Promise<Entry[]> {
  const found: Entry[] = [];
  for (const file of await yamlFiles()) {
    if (file.file === "dbt_project.yml" || file.file === "profiles.yml") continue;
    const document = parse(file);
    for (const kind of Object.keys(ENTRY_KEYS)) {
      if (kind === "tables") continue;
      for (const node of mapsOf(document.get(kind, true), `${file.file}: ${kind}`)) {
        const name = String(node.get("name"));
        found.push({ file: file.file, kind, name, node });
        if (kind !== "sources") continue;
        for (const table of mapsOf(node.get("tables", true), `${file.file}: source ${name}`)) {
          found.push({
            file: file.file,
            kind: "tables",
            name: `${name}.${table.get("name")}`,
            node: table,
          });
        }
      }
    }
  }
  return found;
}

/** The columns of an entry, each with the entry it belongs to. */
function columnsOf(entry: Entry): { name: string; node: YAMLMap }[] {
  const where = `${entry.file}: ${entry.name}.columns`;
  return mapsOf(entry.node.get("columns", true), where).map((node) => ({
    name: `${entry.name}.${node.get("name")}`,
    node,
  }));
}

/**
 * Why `text` does not read as a whole description, or undefined when it does: it must be a
 * non-empty string whose brackets close and whose quotes and backticks pair up (a description cut
 * at a comma leaves one open).
 */
function descriptionProblem(text: unknown): string | undefined {
  if (typeof text !== "string") return `is ${text === undefined ? "missing" : typeof text}`;
  if (text.trim() === "") return "is empty";
  let depth = 0;
  for (const char of text) {
    if (char === "(" || char === "[") depth++;
    if (char === ")" || char === "]") depth--;
    if (depth < 0) return `closes a bracket it never opened: ${JSON.stringify(text)}`;
  }
  if (depth !== 0) return `leaves a bracket open: ${JSON.stringify(text)}`;
  for (const quote of ['"', "`"]) {
    if (text.split(quote).length % 2 === 0) {
      return `leaves a ${quote} unpaired: ${JSON.stringify(text)}`;
    }
  }
  return undefined;
}

Deno.test("every YAML file of the dbt project parses with no error, warning or duplicate key", async () => {
  const files = await yamlFiles();
  const names = files.map((file) => file.file);
  for (const expected of ["dbt_project.yml", "profiles.yml", "analyses/_analyses.yml"]) {
    assert.ok(names.includes(expected), `${expected} is among ${names.join(", ")}`);
  }
  for (const file of files) {
    const document = parse(file);
    assert.deepEqual(document.errors.map((error) => error.message), [], `${file.file}: errors`);
    assert.deepEqual(document.warnings.map((warning) => warning.message), [], file.file);
  }
});

Deno.test("every entry and column is a block mapping with only the keys dbt reads", async () => {
  const problems: string[] = [];
  const check = (where: string, node: YAMLMap, allowed: readonly string[]) => {
    if (node.flow) problems.push(`${where} is a flow mapping ({…}): write it in block style`);
    const unknown = keysOf(node).filter((key) => !allowed.includes(key));
    if (unknown.length > 0) problems.push(`${where} has keys dbt ignores: ${unknown.join(", ")}`);
  };
  const all = await entries();
  assert.ok(all.length > 10, "the project has properties files");
  for (const entry of all) {
    check(`${entry.file}: ${entry.kind} ${entry.name}`, entry.node, ENTRY_KEYS[entry.kind] ?? []);
    for (const column of columnsOf(entry)) {
      check(`${entry.file}: column ${column.name}`, column.node, COLUMN_KEYS);
    }
  }
  assert.deepEqual(problems, []);
});

Deno.test("every model, seed, source, analysis, unit test and column has a description that reads as written", async () => {
  const problems: string[] = [];
  for (const entry of await entries()) {
    const problem = descriptionProblem(entry.node.get("description"));
    if (problem) {
      problems.push(`${entry.file}: ${entry.kind} ${entry.name}: description ${problem}`);
    }
    for (const column of columnsOf(entry)) {
      const problem = descriptionProblem(column.node.get("description"));
      if (problem) problems.push(`${entry.file}: column ${column.name}: description ${problem}`);
    }
  }
  assert.deepEqual(problems, []);
});

Deno.test("each model has its own YAML beside its SQL, stating its grain", async () => {
  const all = await entries();
  const models = all.filter((entry) => entry.kind === "models");
  const sqlFiles = await filesIn("models", ".sql");
  assert.ok(sqlFiles.length >= 8, "the staging model and the marts");
  for (const sql of sqlFiles) {
    const name = basename(sql, ".sql");
    const yaml = join(dirname(sql), `${name}.yml`);
    const described = models.filter((model) => model.name === name);
    assert.deepEqual(
      described.map((model) => model.file),
      [yaml],
      `${name} is described in ${yaml}`,
    );
  }
  for (const model of models) {
    assert.equal(basename(model.file, ".yml"), model.name, `${model.file} describes ${model.name}`);
    assert.match(String(model.node.get("description")), /Grain: one row per /, model.name);
  }
});

Deno.test("each seed's YAML describes every column of its CSV and states its grain", async () => {
  const seeds = (await entries()).filter((entry) => entry.kind === "seeds");
  const csvFiles = await filesIn("seeds", ".csv");
  assert.ok(csvFiles.length >= 1);
  for (const csv of csvFiles) {
    const name = basename(csv, ".csv");
    const seed = seeds.find((entry) => entry.name === name);
    assert.ok(seed, `seed ${name} has a YAML entry`);
    assert.match(String(seed.node.get("description")), /Grain: one row per /, name);
    const header = (await Deno.readTextFile(join(PROJECT, csv))).split("\n", 1)[0] ?? "";
    assert.deepEqual(
      columnsOf(seed).map((column) => column.name),
      header.trim().split(",").map((column) => `${name}.${column}`),
      `the columns of ${csv}`,
    );
  }
});

Deno.test("each analysis has its question and chart in the YAML meta, and no SQL comment for them", async () => {
  const analyses = (await entries()).filter((entry) => entry.kind === "analyses");
  const sqlFiles = await filesIn("analyses", ".sql");
  assert.ok(sqlFiles.length >= 10, "the analyses are there");
  const names = sqlFiles.map((sql) => basename(sql, ".sql"));
  assert.deepEqual(analyses.map((entry) => entry.name).sort(), [...names].sort());
  for (const entry of analyses) {
    const meta = entry.node.getIn(["config", "meta"], true);
    assert.ok(isMap(meta), `${entry.file}: ${entry.name} has config.meta`);
    const question = meta.get("question");
    assert.ok(
      typeof question === "string" && question.trim().endsWith("?"),
      `${entry.file}: ${entry.name}: config.meta.question is a question (${question})`,
    );
    assert.equal(descriptionProblem(question), undefined, `${entry.name}: the question`);
    const chart = meta.get("chart");
    assert.ok(
      typeof chart === "string" && CHARTS.includes(chart),
      `${entry.file}: ${entry.name}: config.meta.chart is one of ${CHARTS.join(", ")} (${chart})`,
    );
    const sql = await Deno.readTextFile(join(PROJECT, "analyses", `${entry.name}.sql`));
    assert.doesNotMatch(sql, /^\s*--\s*(question|chart):/m, `${entry.name}.sql keeps no copy`);
  }
});
