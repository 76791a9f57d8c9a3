/**
 * The analytics questions: the SQL files of `dbt_project/analyses/`, each with its question in a
 * `-- question:` comment and a chart hint in `-- chart:`, ordered and described by
 * `_analyses.yml`. They are the single source of the Metabase questions and the HTML report,
 * which run them with `{{ ref('model') }}` resolved to the mart in schema `analytics`.
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

/** The chart an analysis asks for in its `-- chart:` comment. */
export type ChartKind = "bar" | "stacked_bar" | "grouped_bar" | "line" | "pie";

const CHART_KINDS: readonly ChartKind[] = ["bar", "stacked_bar", "grouped_bar", "line", "pie"];

/** One question from `dbt_project/analyses/`, compiled to SQL that runs on the warehouse. */
export interface Analysis {
  /** The file name without `.sql`; also the section's id in the report. */
  readonly name: string;
  readonly file: string;
  /** The `-- question:` comment. */
  readonly question: string;
  readonly chart: ChartKind;
  /** The analysis' description in `_analyses.yml`, when it has one. */
  readonly description: string | undefined;
  /** The query with every `{{ ref('x') }}` replaced by `analytics.x`. */
  readonly sql: string;
}

const catalogSchema = z.object({
  analyses: z.array(z.object({ name: z.string(), description: z.string().optional() }))
    .default([]),
});

/**
 * Reads the `*.sql` analyses of `dir`: the question and chart from their leading comments, the
 * order and descriptions from `_analyses.yml` (files it does not list come after, by name).
 * Throws a {@linkcode TerminalError} naming the file when one lacks its comments or uses jinja
 * other than `ref`.
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
  const catalog = await readCatalog(join(dir, "_analyses.yml"));
  const order = new Map(catalog.map((entry, index) => [entry.name, index]));
  const analyses = await Promise.all(files.map(async (file) => {
    const name = basename(file, ".sql");
    const description = catalog.find((entry) => entry.name === name)?.description;
    return parseAnalysis(await Deno.readTextFile(file), { file, name, description });
  }));
  const rank = (analysis: Analysis) => order.get(analysis.name) ?? Number.MAX_SAFE_INTEGER;
  return analyses.sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
}

async function readCatalog(file: string): Promise<z.infer<typeof catalogSchema>["analyses"]> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  const parsed = catalogSchema.safeParse(parseYaml(text) ?? {});
  if (!parsed.success) {
    throw new TerminalError(`${file} is not a dbt analyses file: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data.analyses;
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
function parseAnalysis(
  source: string,
  context: { file: string; name: string; description: string | undefined },
): Analysis {
  const { file } = context;
  const question = /^\s*--\s*question:\s*(.+?)\s*$/m.exec(source)?.[1];
  if (!question) {
    throw new TerminalError(
      `${file} has no "-- question: …" comment: add one (the report and Metabase show it)`,
    );
  }
  const chart = /^\s*--\s*chart:\s*(\S+)\s*$/m.exec(source)?.[1];
  if (!chart || !isChartKind(chart)) {
    throw new TerminalError(
      `${file} needs a "-- chart: …" comment with one of ${CHART_KINDS.join(", ")}` +
        (chart ? ` (it says ${chart})` : ""),
    );
  }
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
  return { ...context, question, chart, sql: compiled.trim().replace(/;\s*$/, "") };
}

function isChartKind(text: string): text is ChartKind {
  return (CHART_KINDS as readonly string[]).includes(text);
}
