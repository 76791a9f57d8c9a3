/**
 * Which result columns of an analysis play which part in its chart — the category on the axis,
 * the series, the measure and a companion value — chosen from its chart hint
 * (`config.meta.chart` in `_analyses.yml`) and its result columns. The HTML report and the
 * Metabase cards both draw from these roles, so both show the same chart.
 *
 * @example
 * ```ts
 * const roles = chartRoles(analysis, [{ name: "year", kind: "number" }, { name: "users", kind: "number" }]);
 * // a line: category [year], measure users
 * ```
 *
 * @module
 */
import { TerminalError } from "../shared/errors.ts";
import type { Analysis } from "./analyses.ts";
import type { Column } from "./analysis_columns.ts";

/** Which columns play which part in a chart. */
export interface ChartRoles {
  /**
   * The label of each mark: the leading non-numeric columns (e.g. city, country) — for lines,
   * stacked and grouped bars only the first column (a year, a date, an age group).
   */
  readonly category: readonly Column[];
  /** The series of stacked and grouped bars and of lines with several series. */
  readonly series: Column | undefined;
  /** The value: a share (`…_pct`) when the answer has one, else its first number after the labels. */
  readonly measure: Column;
  /**
   * A second value of the same quantity, drawn beside the measure: `median_age` beside
   * `average_age` (the same name after the first word).
   */
  readonly companion: Column | undefined;
}

/**
 * The roles of `columns` in the chart `analysis` asks for. Throws a {@linkcode TerminalError}
 * naming the analysis, the chart and the columns when they cannot draw that chart.
 */
export function chartRoles(analysis: Analysis, columns: readonly Column[]): ChartRoles {
  const firstNumber = columns.findIndex((column) => column.kind === "number");
  const labels = columns.slice(0, firstNumber === -1 ? columns.length : firstNumber);
  const first = columns.slice(0, 1);
  const needsSeries = analysis.chart === "stacked_bar" || analysis.chart === "grouped_bar";
  const category = analysis.chart === "line" || needsSeries
    ? first
    : labels.length > 0
    ? labels
    : first;
  const series = needsSeries || analysis.chart === "line" ? labels.at(1) : undefined;
  const numbers = columns.filter((c) => !category.includes(c) && c.kind === "number");
  const measure = numbers.find((c) => /(_pct|_share|^share)/.test(c.name)) ?? numbers[0];
  const shape = columns.map((c) => `${c.name} ${c.kind}`).join(", ");
  if (!measure || category.length === 0 || (needsSeries && !series)) {
    throw new TerminalError(
      `analysis ${analysis.file}: a ${analysis.chart} chart needs ` +
        (needsSeries ? "two label columns then a number" : "a label column then a number") +
        `, and the query returns (${shape}); change the query, or its chart in config.meta ` +
        "of dbt_project/analyses/_analyses.yml",
    );
  }
  const quantityOf = (column: Column) => column.name.replace(/^[^_]*_/, "");
  const companion = numbers.find((column) =>
    column !== measure && column.name.includes("_") && measure.name.includes("_") &&
    quantityOf(column) === quantityOf(measure)
  );
  return { category, series, measure, companion };
}

/** A column's title for people: `users_pct` → "Users %", `load_date` → "Load date". */
export function columnTitle(name: string): string {
  const words = name.replace(/_pct$/, " %").replace(/_/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}
