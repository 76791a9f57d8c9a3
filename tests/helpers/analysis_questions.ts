/**
 * The question and chart of each analysis as a test reads them from `_analyses.yml`, apart from
 * the loader under test (`tasks/analyses.ts`): tests compare what the report and Metabase show
 * with what the file says.
 *
 * @module
 */
import { join } from "node:path";
import { parse } from "yaml";
import { ANALYSES_DIR } from "../../tasks/shared/paths.ts";

/** The project's analyses, beside which `_analyses.yml` lives. */

/** What `_analyses.yml` says an analysis asks and how to draw it. */
export interface AnalysisQuestion {
  readonly question: string;
  readonly chart: string;
}

/** The `config.meta` question and chart of every entry of `dir/_analyses.yml`, by name. */
export async function analysisQuestions(
  dir = ANALYSES_DIR,
): Promise<Map<string, AnalysisQuestion>> {
  const file = join(dir, "_analyses.yml");
  const catalog = parse(await Deno.readTextFile(file)) as {
    analyses: { name: string; config?: { meta?: Record<string, unknown> } }[];
  };
  const questions = new Map<string, AnalysisQuestion>();
  for (const { name, config } of catalog.analyses) {
    const { question, chart } = config?.meta ?? {};
    if (typeof question !== "string" || typeof chart !== "string") {
      throw new Error(`${file}: ${name} has no config.meta question and chart`);
    }
    questions.set(name, { question, chart });
  }
  return questions;
}
