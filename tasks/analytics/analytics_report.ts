/**
 * The analytics report: answers every question in `dbt_project/analyses/` as the read-only
 * `analyst` role, and writes one self-contained HTML file with, per question, a Vega-Lite chart
 * rendered to SVG here (so the page has no script and needs no network) and the table behind it.
 *
 * @example
 * ```ts
 * await using warehouse = await openWarehouse(config.warehouse);
 * const summary = await writeAnalyticsReport(warehouse.sql, {
 *   analysesDir: "dbt_project/analyses",
 *   out: "data/report/index.html",
 * });
 * ```
 *
 * @module
 */
import { AtomicFile } from "../shared/atomic_file.ts";
import type { Logger } from "../shared/logger.ts";
import type { Sql } from "../warehouse/sql_client.ts";
import { loadAnalyses } from "./analyses.ts";
import { askQuestions } from "./report_questions.ts";
import { renderReport } from "./report_html.ts";

/** Options for {@linkcode writeAnalyticsReport}. */
export interface AnalyticsReportOptions {
  /** The directory of the analyses, normally `dbt_project/analyses`. */
  analysesDir: string;
  /** The HTML file to write (its directory is created). */
  out: string;
  logger?: Logger;
  /** The time printed as the generation time; default now. */
  now?: Date;
}

/** What {@linkcode writeAnalyticsReport} wrote. */
export interface AnalyticsReportSummary {
  readonly file: string;
  readonly questions: number;
  /** Rows over all the answers. */
  readonly rows: number;
  readonly bytes: number;
  readonly seconds: number;
}

/**
 * Answers every analysis in `options.analysesDir` as the `analyst` role in one read-only,
 * repeatable-read transaction (one snapshot for the whole report) and writes the HTML report
 * atomically to `options.out`.
 */
export async function writeAnalyticsReport(
  sql: Sql,
  options: AnalyticsReportOptions,
): Promise<AnalyticsReportSummary> {
  const started = performance.now();
  const analyses = await loadAnalyses(options.analysesDir);
  const { freshness, answers } = await askQuestions(sql, analyses, options.logger);
  const html = await renderReport({
    freshness,
    answers,
    generatedAt: options.now ?? new Date(),
    logger: options.logger,
  });
  const bytes = new TextEncoder().encode(html);
  const file = await AtomicFile.create(options.out);
  try {
    await ReadableStream.from([bytes]).pipeTo(file.writable, { preventClose: true });
    await file.commit();
  } catch (error) {
    await file.abort();
    throw error;
  }
  return {
    file: options.out,
    questions: answers.length,
    rows: answers.reduce((sum, answer) => sum + answer.rows.length, 0),
    bytes: bytes.length,
    seconds: (performance.now() - started) / 1000,
  };
}
