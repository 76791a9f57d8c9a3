/**
 * The analytics questions: the SQL files of `dbt_project/analyses/`, each with its question and
 * chart hint in dbt's own place for such metadata, the `config.meta` of its entry in
 * `_analyses.yml` (`meta: { question: …, chart: bar }`), and in that file's order. They are the
 * single source of the Metabase questions and the HTML report, which run them with
 * `{{ ref('model') }}` resolved to the mart in schema `analytics`.
 *
 * @example
 * ```ts
 * for (const analysis of await loadAnalyses()) console.log(analysis.question, analysis.chart);
 * ```
 *
 * @module
 */
import { basename, join } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { TerminalError } from "../shared/errors.ts";
import { ANALYSES_DIR } from "../shared/paths.ts";

/** The schema dbt builds the marts in (see dbt_project.yml). */
export const MARTS_SCHEMA = "analytics";

/** The file of an analyses directory that describes its analyses (dbt reads it too). */
const CATALOG_FILE = "_analyses.yml";

const CHART_KINDS = ["bar", "stacked_bar", "grouped_bar", "line", "pie"] as const;

/** The chart an analysis asks for in its `config.meta.chart`. */
export type ChartKind = typeof CHART_KINDS[number];

/** One question from `dbt_project/analyses/`, compiled to SQL that runs on the warehouse. */
export interface Analysis {
  /** The file name without `.sql`; also the section's id in the report. */
  readonly name: string;
  readonly file: string;
  /** Its `config.meta.question` in `_analyses.yml`. */
  readonly question: string;
  /** Its `config.meta.chart` in `_analyses.yml`. */
  readonly chart: ChartKind;
  /** The analysis' description in `_analyses.yml`, when it has one. */
  readonly description: string | undefined;
  /** The query with every `{{ ref('x') }}` replaced by `analytics.x`. */
  readonly sql: string;
}

const metaSchema = z.record(z.string(), z.unknown()).optional();
const catalogSchema = z.object({
  analyses: z.array(z.object({
    name: z.string(),
    description: z.string().optional(),
    // dbt 1.10+ reads meta under config; a top-level meta is still merged into it.
    meta: metaSchema,
    config: z.object({ meta: metaSchema }).optional(),
  })).default([]),
});
type CatalogEntry = z.infer<typeof catalogSchema>["analyses"][number];

/**
 * Reads the `*.sql` analyses of `dir` with their question, chart and description from
 * `_analyses.yml`, in the order it lists them (files it does not list are an error). Throws a
 * {@linkcode TerminalError} naming the analysis and the file when one lacks its question or chart
 * or uses jinja other than `ref`.
 */
export async function loadAnalyses(dir: string = ANALYSES_DIR): Promise<Analysis[]> {
  const files: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && entry.name.endsWith(".sql")) files.push(join(dir, entry.name));
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new TerminalError(`no analyses directory at ${dir}: pass --analyses <dir>`);
    }
    throw error;
  }
  if (files.length === 0) {
    throw new TerminalError(`${dir} holds no .sql analyses: nothing to report`);
  }
  const catalogFile = join(dir, CATALOG_FILE);
  const catalog = await readCatalog(catalogFile);
  const order = new Map(catalog.map((entry, index) => [entry.name, index]));
  const analyses = await Promise.all(files.map(async (file) => {
    const name = basename(file, ".sql");
    const entry = catalog.find((entry) => entry.name === name);
    const { question, chart } = questionOf(name, entry, catalogFile);
    const context = { file, name, question, chart, description: entry?.description };
    return compileAnalysis(await Deno.readTextFile(file), context);
  }));
  return analyses.sort((a, b) => (order.get(a.name) ?? 0) - (order.get(b.name) ?? 0));
}

async function readCatalog(file: string): Promise<CatalogEntry[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new TerminalError(
        `no ${file}: each analysis needs an entry there with config.meta.question and ` +
          "config.meta.chart",
      );
    }
    throw error;
  }
  const parsed = catalogSchema.safeParse(parseYaml(text) ?? {});
  if (!parsed.success) {
    throw new TerminalError(`${file} is not a dbt analyses file: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data.analyses;
}

/** The question and chart of analysis `name` from its entry in `catalogFile`. */
function questionOf(
  name: string,
  entry: CatalogEntry | undefined,
  catalogFile: string,
): { question: string; chart: ChartKind } {
  const where = `analysis ${name} (${name}.sql)`;
  if (!entry) {
    throw new TerminalError(
      `${where} is not listed in ${catalogFile}: add it with config.meta.question and ` +
        "config.meta.chart (the report and Metabase show them)",
    );
  }
  const meta = { ...entry.meta, ...entry.config?.meta };
  const question = typeof meta.question === "string" ? meta.question.trim() : "";
  if (!question) {
    throw new TerminalError(
      `${where} has no config.meta.question in ${catalogFile}: add the question the report ` +
        "and Metabase show",
    );
  }
  const chart = meta.chart;
  if (!isChartKind(chart)) {
    throw new TerminalError(
      `${where} needs config.meta.chart in ${catalogFile}, one of ${CHART_KINDS.join(", ")}` +
        (chart === undefined ? "" : ` (it says ${JSON.stringify(chart)})`),
    );
  }
  return { question, chart };
}

const REF = /\{\{\s*ref\(\s*(['"])([A-Za-z_][A-Za-z0-9_]*)\1\s*\)\s*\}\}/g;
const JINJA = /\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}|\{\{|\{%|\{#/s;

/**
 * Compiles an analysis by replacing `{{ ref('x') }}` with `analytics.x`. This is what
 * `dbt compile` would print for these files (every model and seed they may ref lives in schema
 * analytics), without dbt's start-up of several seconds, its Python runtime and a second warehouse
 * connection: the report stays fast and needs only Deno. Any other jinja is refused rather than
 * guessed at; such an analysis needs `dbt compile` and is not one the report can run.
 */
function compileAnalysis(source: string, context: Omit<Analysis, "sql">): Analysis {
  const { file } = context;
  const compiled = source.replace(
    REF,
    (_match, _quote, model: string) => `${MARTS_SCHEMA}.${model}`,
  );
  const jinja = JINJA.exec(compiled)?.[0];
  if (jinja) {
    throw new TerminalError(
      `${file} uses jinja the report cannot run (${jinja.slice(0, 60)}): only {{ ref('model') }} ` +
        "is supported; rewrite it with ref() alone",
    );
  }
  return { ...context, sql: compiled.trim().replace(/;\s*$/, "") };
}

function isChartKind(value: unknown): value is ChartKind {
  return (CHART_KINDS as readonly unknown[]).includes(value);
}
