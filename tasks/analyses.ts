/**
 * The analytics questions: the SQL files of `dbt_project/analyses/`, each with its question in a
 * `-- question:` comment and a chart hint in `-- chart:`. They are the single source of the
 * Metabase questions and the HTML report, which run them with `{{ ref('model') }}` resolved to
 * the mart in schema `analytics`.
 *
 * @example
 * ```ts
 * for (const analysis of await readAnalyses()) console.log(analysis.question, analysis.chart);
 * ```
 *
 * @module
 */
import { TerminalError } from "./errors.ts";

/** The chart an analysis asks for. */
export type ChartKind = "bar" | "stacked_bar" | "grouped_bar" | "line" | "pie";
const CHART_KINDS: readonly ChartKind[] = ["bar", "stacked_bar", "grouped_bar", "line", "pie"];

/** One analysis file, ready to run. */
export interface Analysis {
  /** File name without `.sql`, e.g. `population_by_age_group`. */
  readonly name: string;
  readonly question: string;
  readonly chart: ChartKind;
  /** The SQL with refs resolved to `analytics.<model>` (no trailing semicolon). */
  readonly sql: string;
}

/** The project's analyses directory. */
export const ANALYSES_DIR = new URL("../dbt_project/analyses/", import.meta.url);

/** The schema dbt builds the marts in (see dbt_project.yml). */
const MARTS_SCHEMA = "analytics";

/** Reads every `*.sql` analysis, sorted by name. */
export async function readAnalyses(dir: URL = ANALYSES_DIR): Promise<Analysis[]> {
  const analyses: Analysis[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile || !entry.name.endsWith(".sql")) continue;
    analyses.push(parseAnalysis(entry.name, await Deno.readTextFile(new URL(entry.name, dir))));
  }
  if (analyses.length === 0) throw new TerminalError(`no analyses (*.sql) in ${dir.pathname}`);
  return analyses.sort((a, b) => a.name.localeCompare(b.name));
}

/** Parses one analysis file; `file` names it in errors. */
export function parseAnalysis(file: string, text: string): Analysis {
  const header = (key: string) => new RegExp(`^--\\s*${key}:\\s*(.+?)\\s*$`, "m").exec(text)?.[1];
  const question = header("question");
  if (!question) throw new TerminalError(`analysis ${file} has no "-- question: …" line`);
  const chart = header("chart") ?? "bar";
  if (!(CHART_KINDS as readonly string[]).includes(chart)) {
    throw new TerminalError(
      `analysis ${file} asks for chart "${chart}"; expected one of ${CHART_KINDS.join(", ")}`,
    );
  }
  const sql = text.replace(
    /\{\{\s*ref\(\s*['"]([a-z_][a-z0-9_]*)['"]\s*\)\s*\}\}/g,
    (_, model: string) => `${MARTS_SCHEMA}.${model}`,
  ).trim().replace(/;\s*$/, "");
  const jinja = /\{\{|\{%/.exec(sql);
  if (jinja) {
    throw new TerminalError(
      `analysis ${file} uses jinja other than {{ ref('model') }}; keep analyses to plain SQL and refs`,
    );
  }
  return { name: file.replace(/\.sql$/, ""), question, chart: chart as ChartKind, sql };
}
