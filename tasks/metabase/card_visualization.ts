/**
 * A Metabase card's `display` and `visualization_settings` from an analysis's chart roles — the
 * same roles the HTML report draws from — so Metabase does not guess which columns are dimensions
 * (it would treat every summable column, an integer year included, as a metric).
 *
 * The keys follow Metabase's frontend chart settings (`graph.dimensions` and `graph.metrics` for
 * bar and line charts, `stackable.stack_type`, `pie.dimension` and `pie.metric` for pies, up to
 * v0.61), whose values name result columns; for native questions a column is named by its SQL
 * name.
 *
 * @example
 * ```ts
 * const { display, visualization_settings } = cardVisualization("line", roles);
 * ```
 *
 * @module
 */
import type { ChartKind } from "../analytics/analyses.ts";
import { type ChartRoles, columnTitle } from "../analytics/chart_roles.ts";

/** What a card says about how to draw its answer. */
export interface CardVisualization {
  readonly display: "bar" | "line" | "pie";
  readonly visualization_settings: Readonly<Record<string, unknown>>;
}

/** The display and settings of a card drawing `roles` as a `chart`. */
export function cardVisualization(chart: ChartKind, roles: ChartRoles): CardVisualization {
  const { category, series, measure, companion } = roles;
  // Metabase's axis takes one column; a second label column (top_cities' country) would become
  // a series, so the axis shows the first one and the table view shows them all.
  const axis = category[0] ?? measure;
  if (chart === "pie") {
    return {
      display: "pie",
      visualization_settings: { "pie.dimension": axis.name, "pie.metric": measure.name },
    };
  }
  const metrics = [measure, ...(companion ? [companion] : [])];
  const titles = {
    "graph.x_axis.title_text": columnTitle(axis.name),
    "graph.y_axis.title_text": metrics.map((column) => columnTitle(column.name)).join(", "),
  };
  const dimensions = [axis, ...(series ? [series] : [])].map((column) => column.name);
  return {
    display: chart === "line" ? "line" : "bar",
    visualization_settings: {
      "graph.dimensions": dimensions,
      "graph.metrics": metrics.map((column) => column.name),
      ...titles,
      ...(chart === "stacked_bar" ? { "stackable.stack_type": "stacked" } : {}),
    },
  };
}
