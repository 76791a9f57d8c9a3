/**
 * The report's charts: a Vega-Lite spec per answer, from its chart roles (`chart_roles.ts`, which
 * Metabase's cards read too), rendered to SVG here with Vega's headless renderer, so the page needs
 * no script.
 *
 * @example
 * ```ts
 * const svg = await renderChart(answer, { idPrefix: "q1-", logger });
 * ```
 *
 * @module
 */
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import type { Logger } from "../shared/logger.ts";
import type { Column } from "./analysis_columns.ts";
import { type ChartRoles, chartRoles, columnTitle } from "./chart_roles.ts";
import type { Answer } from "./report_questions.ts";

type Datum = Record<string, string | number | boolean | null>;

const ACCENT = "#4c78a8";
const COLORS = [ACCENT, "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#eeca3b"];
/** The font of the charts and the page. */
export const CHART_FONT = "'Liberation Sans', Arial, Helvetica, sans-serif";

/** Vega-Lite's config for every chart: the report's font, quiet axes, one accent color. */
const CHART_CONFIG = {
  font: CHART_FONT,
  background: "#ffffff",
  padding: 4,
  view: { stroke: null },
  axis: {
    labelColor: "#3b4252",
    titleColor: "#3b4252",
    labelFontSize: 11,
    titleFontSize: 11,
    titleFontWeight: 600,
    gridColor: "#e5e9f0",
    domainColor: "#c4cad6",
    tickColor: "#c4cad6",
  },
  legend: { labelColor: "#3b4252", titleColor: "#3b4252", labelFontSize: 11, titleFontSize: 11 },
  bar: { color: ACCENT },
  line: { color: ACCENT, strokeWidth: 2 },
  point: { color: ACCENT, filled: true, size: 40 },
  range: { category: COLORS },
} as const;

const WIDTH = 480;

/** Vega-Lite's field syntax treats `.`, `[` and `]` as paths; column names are plain names. */
function field(name: string): string {
  return name.replace(/[.[\]\\]/g, "\\$&");
}

function chartData(answer: Answer, roles: ChartRoles): Datum[] {
  return answer.rows.map((row) => {
    const datum: Datum = {};
    answer.columns.forEach((column, index) => {
      const value = row[index] ?? null;
      datum[column.name] = value === null
        ? null
        : column.kind === "number"
        ? Number(value)
        : column.kind === "boolean"
        ? value === "t"
        : value;
    });
    datum[LABEL] = roles.category.map((column) => {
      const index = answer.columns.indexOf(column);
      return row[index] ?? "null";
    }).join(", ");
    return datum;
  });
}

const LABEL = "__label";

function distinct(values: readonly (string | number | boolean | null)[]): string[] {
  return [...new Set(values.map((value) => String(value)))];
}

/** One layer of a layered Vega-Lite chart. */
type Layer = Extract<TopLevelSpec, { layer: unknown }>["layer"][number];

/** The Vega-Lite spec for an answer. */
/** What every chart kind is drawn from: the data, its roles, and the shared encodings. */
interface ChartParts {
  readonly answer: Answer;
  readonly roles: ChartRoles;
  readonly values: Datum[];
  readonly labels: string[];
  readonly categoryTitle: string;
  /** The common top of every spec: schema, description, config, data. */
  readonly base: {
    readonly $schema: string;
    readonly description: string;
    readonly config: typeof CHART_CONFIG;
    readonly data: { readonly values: Datum[] };
  };
  /** The measure's quantitative encoding. */
  readonly quantity: {
    field: string;
    type: "quantitative";
    title: string;
    axis: { format: string; tickMinStep?: number };
  };
  /** The series' colour encoding, when the answer has a series column. */
  readonly seriesColor:
    | {
      field: string;
      type: "nominal";
      title: string;
      sort: null;
      scale: { domain: string[] };
    }
    | undefined;
}

function chartSpec(answer: Answer): TopLevelSpec {
  const roles = chartRoles(answer.analysis, answer.columns);
  const values = chartData(answer, roles);
  const { measure, series } = roles;
  const counts = values.every((datum) => Number.isInteger(datum[measure.name] ?? 0));
  const parts: ChartParts = {
    answer,
    roles,
    values,
    labels: distinct(values.map((datum) => datum[LABEL] ?? null)),
    categoryTitle: roles.category.map((column) => columnTitle(column.name)).join(", "),
    base: {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      description: answer.analysis.question,
      config: CHART_CONFIG,
      data: { values },
    },
    quantity: {
      field: field(measure.name),
      type: "quantitative",
      title: columnTitle(measure.name),
      axis: { format: ",~f", ...(counts ? { tickMinStep: 1 } : {}) },
    },
    seriesColor: series
      ? {
        field: field(series.name),
        type: "nominal",
        title: columnTitle(series.name),
        sort: null,
        scale: { domain: distinct(values.map((datum) => datum[series.name] ?? null)) },
      }
      : undefined,
  };
  switch (answer.analysis.chart) {
    case "bar":
      return barSpec(parts);
    case "stacked_bar":
      return stackedBarSpec(parts);
    case "grouped_bar":
      return groupedBarSpec(parts);
    case "line":
      return lineSpec(parts);
    case "pie":
      return pieSpec(parts);
  }
}

/** Bars with value labels (or ticks for a companion value); horizontal for many or long labels. */
function barSpec(parts: ChartParts): TopLevelSpec {
  const { roles: { measure, companion }, labels, quantity } = parts;
  const horizontal = labels.length > 12 || labels.some((label) => label.length > 8);
  const position = {
    field: LABEL,
    type: "nominal",
    title: parts.categoryTitle,
    sort: null,
    axis: horizontal ? { labelLimit: 180 } : { labelAngle: 0 },
  } as const;
  const along = horizontal ? "x" : "y";
  const across = horizontal ? "y" : "x";
  const bars = { mark: { type: "bar", cornerRadiusEnd: 2 } } as const;
  // With a companion value the bars carry ticks instead of value labels (they would collide).
  const marks: Layer[] = companion
    ? [
      bars,
      {
        mark: { type: "tick", color: "#e45756", thickness: 3, opacity: 1 },
        encoding: { [along]: { field: field(companion.name), type: "quantitative" } },
      } as const,
    ]
    : [
      bars,
      {
        mark: {
          type: "text",
          fontSize: 10,
          color: "#3b4252",
          ...(horizontal
            ? { align: "left", dx: 3 } as const
            : { baseline: "bottom", dy: -2 } as const),
        },
        encoding: { text: { field: field(measure.name), type: "quantitative", format: ",~f" } },
      } as const,
    ];
  const value = companion
    ? {
      ...quantity,
      title: `${columnTitle(measure.name)} (bars), ${columnTitle(companion.name)} (ticks)`,
    }
    : quantity;
  return {
    ...parts.base,
    width: horizontal ? WIDTH - 120 : WIDTH,
    height: horizontal ? { step: 17 } : 260,
    encoding: { [across]: position, [along]: value },
    layer: marks,
  };
}

/** Horizontal bars stacked by series. */
function stackedBarSpec(parts: ChartParts): TopLevelSpec {
  const { roles: { measure, series }, seriesColor } = parts;
  return {
    ...parts.base,
    width: WIDTH - 120,
    height: { step: 17 },
    mark: { type: "bar" },
    encoding: {
      y: { field: LABEL, type: "nominal", title: parts.categoryTitle, sort: null },
      x: { ...parts.quantity, stack: "zero" },
      ...(seriesColor ? { color: seriesColor } : {}),
      order: { field: field(series?.name ?? measure.name), sort: "ascending" },
    },
  };
}

/** Vertical bars side by side per series. */
function groupedBarSpec(parts: ChartParts): TopLevelSpec {
  const { roles: { series }, seriesColor } = parts;
  return {
    ...parts.base,
    width: WIDTH,
    height: 260,
    mark: { type: "bar", cornerRadiusEnd: 2 },
    encoding: {
      x: {
        field: LABEL,
        type: "nominal",
        title: parts.categoryTitle,
        sort: null,
        axis: { labelAngle: 0 },
      },
      xOffset: { field: field(series?.name ?? LABEL), type: "nominal", sort: null },
      y: parts.quantity,
      ...(seriesColor ? { color: seriesColor } : {}),
    },
  };
}

/** A line with points over the first category column (time or ordinal), one per series. */
function lineSpec(parts: ChartParts): TopLevelSpec {
  const { roles, seriesColor } = parts;
  const x = lineAxis(roles.category[0] ?? roles.measure, parts.values);
  return {
    ...parts.base,
    width: WIDTH,
    height: 260,
    mark: { type: "line", point: true },
    encoding: { x, y: parts.quantity, ...(seriesColor ? { color: seriesColor } : {}) },
  };
}

/** A donut of the measure per category, in the answer's order. */
function pieSpec(parts: ChartParts): TopLevelSpec {
  return {
    ...parts.base,
    width: 260,
    height: 260,
    mark: { type: "arc", innerRadius: 60, stroke: "#ffffff", strokeWidth: 1 },
    encoding: {
      theta: { field: field(parts.roles.measure.name), type: "quantitative", stack: true },
      color: {
        field: LABEL,
        type: "nominal",
        title: parts.categoryTitle,
        sort: null,
        scale: { domain: parts.labels },
      },
      order: { field: "__index", type: "quantitative" },
    },
    transform: [{ window: [{ op: "row_number", as: "__index" }] }],
  };
}

/** The x axis of a line: dates on a UTC time scale, numbers (years) as plain integers. */
function lineAxis(column: Column, values: readonly Datum[]) {
  const name = field(column.name);
  if (column.kind === "date" || column.kind === "time") {
    const days = distinct(values.map((datum) => datum[column.name] ?? null)).length;
    return {
      field: name,
      type: "temporal",
      title: columnTitle(column.name),
      scale: { type: "utc" },
      axis: {
        format: "%Y-%m-%d",
        labelAngle: 0,
        ...(days <= 10 ? { tickCount: { interval: "day", step: 1 } as const } : {}),
      },
    } as const;
  }
  if (column.kind === "number") {
    return {
      field: name,
      type: "quantitative",
      title: columnTitle(column.name),
      scale: { zero: false },
      axis: { format: "d", tickMinStep: 1 },
    } as const;
  }
  return { field: name, type: "ordinal", title: columnTitle(column.name), sort: null } as const;
}

/**
 * Renders an answer's chart to an SVG string with Vega's headless renderer; Vega-Lite's and
 * Vega's warnings (a dropped encoding, a bad format) go to `logger`.
 */
export async function renderChart(
  answer: Answer,
  context: { idPrefix: string; logger: Logger | undefined },
): Promise<string> {
  const { idPrefix, logger } = context;
  const chartLogger = vega.logger(vega.Warn, "warn", (_method, level, messages) => {
    logger?.warn(`chart: ${messages.map(String).join(" ")}`, {
      analysis: answer.analysis.name,
      level,
    });
  });
  const spec = compile(chartSpec(answer), { logger: chartLogger }).spec;
  const view = new vega.View(vega.parse(spec), { renderer: "none", logger: chartLogger });
  try {
    const svg = await view.toSVG();
    // Vega numbers clip paths from 1 in every SVG; several SVGs share one page, so make ids unique.
    return svg.replace(/\bid="([^"]+)"/g, `id="${idPrefix}$1"`)
      .replace(/url\(#([^)]+)\)/g, `url(#${idPrefix}$1)`);
  } finally {
    view.finalize();
  }
}
