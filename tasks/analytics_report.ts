/**
 * The analytics report: answers every question in `dbt_project/analyses/` as the read-only
 * `analyst` role, and writes one self-contained HTML file with, per question, a Vega-Lite chart
 * rendered to SVG here (so the page has no script and needs no network) and the table behind it.
 *
 * @example
 * ```ts
 * await using warehouse = await openWarehouse(config);
 * const summary = await writeAnalyticsReport(warehouse.sql, {
 *   analysesDir: "dbt_project/analyses",
 *   out: "data/report/index.html",
 * });
 * ```
 *
 * @module
 */
import { basename } from "node:path";
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { type Analysis, loadAnalyses, MARTS_SCHEMA } from "./analyses.ts";
import { errorMessage, TerminalError } from "./errors.ts";
import type { Logger } from "./logger.ts";
import { AtomicFile } from "./user_csv.ts";
import type { Sql, TransactionSql } from "./warehouse.ts";

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

/** The schema the marts (and seeds) live in: `generate_schema_name` puts them there verbatim. */
/** The role every question runs as: reads the marts and nothing else (sql/migrations/0005). */
const ANALYST_ROLE = "analyst";

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

// ---------------------------------------------------------------------------------------------
// The analyses

// ---------------------------------------------------------------------------------------------
// Asking the warehouse

type ColumnKind = "number" | "date" | "time" | "boolean" | "text";

interface Column {
  readonly name: string;
  readonly kind: ColumnKind;
}

/** An answer: the columns and the rows as PostgreSQL printed them (`null` for SQL null). */
interface Answer {
  readonly analysis: Analysis;
  readonly columns: readonly Column[];
  readonly rows: readonly (readonly (string | null)[])[];
}

interface Freshness {
  readonly latestLoadDate: string | null;
  readonly loadDates: number;
  readonly users: number;
  readonly marts: readonly { readonly name: string; readonly rows: number }[];
}

const NUMBER_TYPES = new Set([20, 21, 23, 26, 700, 701, 1700]);
const DATE_TYPES = new Set([1082]);
const TIME_TYPES = new Set([1083, 1114, 1184, 1266]);

function columnKind(oid: number): ColumnKind {
  if (NUMBER_TYPES.has(oid)) return "number";
  if (DATE_TYPES.has(oid)) return "date";
  if (TIME_TYPES.has(oid)) return "time";
  if (oid === 16) return "boolean";
  return "text";
}

async function askQuestions(
  sql: Sql,
  analyses: readonly Analysis[],
  logger: Logger | undefined,
): Promise<{ freshness: Freshness; answers: Answer[] }> {
  const [role] = await sql`select 1 from pg_roles where rolname = ${ANALYST_ROLE}`;
  if (!role) {
    throw new TerminalError(
      `the warehouse has no ${ANALYST_ROLE} role, which the report runs as: run \`deno task migrate\`, ` +
        "then `deno task transform`",
    );
  }
  return await sql.begin("isolation level repeatable read read only", async (tx) => {
    await tx`set local role ${tx(ANALYST_ROLE)}`;
    const freshness = await readFreshness(tx);
    const answers: Answer[] = [];
    for (const analysis of analyses) {
      const started = performance.now();
      answers.push(await answer(tx, analysis));
      logger?.info("answered", {
        analysis: analysis.name,
        rows: answers.at(-1)?.rows.length,
        ms: Math.round(performance.now() - started),
      });
    }
    return { freshness, answers };
  });
}

async function readFreshness(tx: TransactionSql): Promise<Freshness> {
  const [fact] = await tx<{ relation: string | null }[]>`
    select to_regclass(${`${MARTS_SCHEMA}.fct_users`})::text as relation`;
  if (!fact?.relation) {
    throw new TerminalError(
      `the marts are not built yet (no ${MARTS_SCHEMA}.fct_users in the warehouse): ` +
        "run `deno task transform` first (or `deno task run`, which also migrates, extracts and " +
        "loads)",
    );
  }
  const [summary] = await tx<{ latest: string | null; load_dates: number; users: number }[]>`
    select max(load_date)::text as latest, count(distinct load_date)::int as load_dates,
           count(*)::int as users
    from ${tx(MARTS_SCHEMA)}.fct_users`;
  const relations = await tx<{ name: string }[]>`
    select table_name as name from information_schema.tables
    where table_schema = ${MARTS_SCHEMA} order by table_name`;
  const marts = [];
  for (const { name } of relations) {
    const [count] = await tx<{ rows: number }[]>`
      select count(*)::int as rows from ${tx(MARTS_SCHEMA)}.${tx(name)}`;
    marts.push({ name, rows: count?.rows ?? 0 });
  }
  return {
    latestLoadDate: summary?.latest ?? null,
    loadDates: summary?.load_dates ?? 0,
    users: summary?.users ?? 0,
    marts,
  };
}

async function answer(tx: TransactionSql, analysis: Analysis): Promise<Answer> {
  let result;
  try {
    // raw(): every value exactly as PostgreSQL prints it, so the table shows the SQL answer.
    result = await tx.unsafe(analysis.sql).raw();
  } catch (error) {
    throw new TerminalError(
      `analysis ${analysis.file} failed: ${errorMessage(error)}. It runs as the read-only ` +
        `${ANALYST_ROLE} role, which reads schema ${MARTS_SCHEMA} only: fix the query and run ` +
        "`deno task report` again",
      { cause: error },
    );
  }
  const decoder = new TextDecoder();
  const columns = result.columns.map((column) => ({
    name: column.name,
    kind: columnKind(column.type),
  }));
  const rows = result.map((row) =>
    row.map((value) => value === null ? null : decoder.decode(value as Uint8Array))
  );
  return { analysis, columns, rows };
}

// ---------------------------------------------------------------------------------------------
// Charts

type Datum = Record<string, string | number | boolean | null>;

const ACCENT = "#4c78a8";
const COLORS = [ACCENT, "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#eeca3b"];
const FONT = "'Liberation Sans', Arial, Helvetica, sans-serif";

/** Vega-Lite's config for every chart: the report's font, quiet axes, one accent color. */
const CHART_CONFIG = {
  font: FONT,
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

/** Which columns play which part in a chart, chosen from the answer's shape. */
interface ChartRoles {
  /** The label of each mark: the leading non-numeric columns (e.g. city, country). */
  readonly category: readonly Column[];
  /** The series of stacked and grouped bars and of lines with several series. */
  readonly series: Column | undefined;
  /** The value: a share (`…_pct`) when the answer has one, else its first number after the labels. */
  readonly measure: Column;
  /**
   * A second value of the same quantity, drawn as a tick on the bars: `median_age` beside
   * `average_age` (the same name after the first word).
   */
  readonly companion: Column | undefined;
}

function chartRoles(answer: Answer): ChartRoles {
  const { analysis, columns } = answer;
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
        `, and the query returns (${shape}); change the query or its "-- chart:" comment`,
    );
  }
  const quantityOf = (column: Column) => column.name.replace(/^[^_]*_/, "");
  const companion = numbers.find((column) =>
    column !== measure && column.name.includes("_") && measure.name.includes("_") &&
    quantityOf(column) === quantityOf(measure)
  );
  return { category, series, measure, companion };
}

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
function chartSpec(answer: Answer): TopLevelSpec {
  const roles = chartRoles(answer);
  const values = chartData(answer, roles);
  const { measure, series, companion } = roles;
  const title = (column: Column) => heading(column.name);
  const categoryTitle = roles.category.map(title).join(", ");
  const labels = distinct(values.map((datum) => datum[LABEL] ?? null));
  const base = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    description: answer.analysis.question,
    config: CHART_CONFIG,
    data: { values },
  } as const;
  const counts = values.every((datum) => Number.isInteger(datum[measure.name] ?? 0));
  const quantity = {
    field: field(measure.name),
    type: "quantitative",
    title: title(measure),
    axis: { format: ",~f", ...(counts ? { tickMinStep: 1 } : {}) },
  } as const;
  const seriesColor = series
    ? {
      field: field(series.name),
      type: "nominal",
      title: title(series),
      sort: null,
      scale: { domain: distinct(values.map((datum) => datum[series.name] ?? null)) },
    } as const
    : undefined;

  switch (answer.analysis.chart) {
    case "bar": {
      const horizontal = labels.length > 12 || labels.some((label) => label.length > 8);
      const position = {
        field: LABEL,
        type: "nominal",
        title: categoryTitle,
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
            encoding: {
              [along]: { field: field(companion.name), type: "quantitative" },
            },
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
        ? { ...quantity, title: `${title(measure)} (bars), ${title(companion)} (ticks)` }
        : quantity;
      return {
        ...base,
        width: horizontal ? WIDTH - 120 : WIDTH,
        height: horizontal ? { step: 17 } : 260,
        encoding: { [across]: position, [along]: value },
        layer: marks,
      };
    }
    case "stacked_bar":
      return {
        ...base,
        width: WIDTH - 120,
        height: { step: 17 },
        mark: { type: "bar" },
        encoding: {
          y: { field: LABEL, type: "nominal", title: categoryTitle, sort: null },
          x: { ...quantity, stack: "zero" },
          ...(seriesColor ? { color: seriesColor } : {}),
          order: { field: field(series?.name ?? measure.name), sort: "ascending" },
        },
      };
    case "grouped_bar":
      return {
        ...base,
        width: WIDTH,
        height: 260,
        mark: { type: "bar", cornerRadiusEnd: 2 },
        encoding: {
          x: {
            field: LABEL,
            type: "nominal",
            title: categoryTitle,
            sort: null,
            axis: { labelAngle: 0 },
          },
          xOffset: { field: field(series?.name ?? LABEL), type: "nominal", sort: null },
          y: quantity,
          ...(seriesColor ? { color: seriesColor } : {}),
        },
      };
    case "line": {
      const x = lineAxis(roles.category[0] ?? measure, values);
      return {
        ...base,
        width: WIDTH,
        height: 260,
        mark: { type: "line", point: true },
        encoding: { x, y: quantity, ...(seriesColor ? { color: seriesColor } : {}) },
      };
    }
    case "pie":
      return {
        ...base,
        width: 260,
        height: 260,
        mark: { type: "arc", innerRadius: 60, stroke: "#ffffff", strokeWidth: 1 },
        encoding: {
          theta: { field: field(measure.name), type: "quantitative", stack: true },
          color: {
            field: LABEL,
            type: "nominal",
            title: categoryTitle,
            sort: null,
            scale: { domain: labels },
          },
          order: { field: "__index", type: "quantitative" },
        },
        transform: [{ window: [{ op: "row_number", as: "__index" }] }],
      };
  }
}

/** The x axis of a line: dates on a UTC time scale, numbers (years) as plain integers. */
function lineAxis(column: Column, values: readonly Datum[]) {
  const name = field(column.name);
  if (column.kind === "date" || column.kind === "time") {
    const days = distinct(values.map((datum) => datum[column.name] ?? null)).length;
    return {
      field: name,
      type: "temporal",
      title: heading(column.name),
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
      title: heading(column.name),
      scale: { zero: false },
      axis: { format: "d", tickMinStep: 1 },
    } as const;
  }
  return { field: name, type: "ordinal", title: heading(column.name), sort: null } as const;
}

/**
 * Renders an answer's chart to an SVG string with Vega's headless renderer; Vega-Lite's and
 * Vega's warnings (a dropped encoding, a bad format) go to `logger`.
 */
async function renderChart(
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

// ---------------------------------------------------------------------------------------------
// HTML

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Escapes text for HTML content and double-quoted attributes. */
function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char] ?? char);
}

/** A column name as a heading: `average_age` → `Average age`, `share_pct` → `Share %`. */
function heading(name: string): string {
  const words = name.replace(/_pct$/, " %").replace(/_/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

const INTEGER_DIGITS = /^(-?)(\d+)(\.\d+)?$/;

/** Number columns whose values are names, not quantities: no thousands separators. */
const IDENTIFYING = /(^|_)(year|id|key|code|number)$/;

/**
 * A cell as shown: quantities with thousands separators, everything else (years too) as
 * PostgreSQL printed it.
 */
function formatCell(value: string, column: Column): string {
  const { kind } = column;
  if (kind === "number" && !IDENTIFYING.test(column.name)) {
    const match = INTEGER_DIGITS.exec(value);
    if (match) {
      const [, sign, digits = "", fraction = ""] = match;
      return `${sign}${digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",")}${fraction}`;
    }
  }
  if (kind === "boolean") return value === "t" ? "true" : "false";
  return value;
}

const integerFormat = new Intl.NumberFormat("en-US");

function renderTable(answer: Answer): string {
  const head = answer.columns.map((column) =>
    `<th scope="col" data-column="${escapeHtml(column.name)}"${
      column.kind === "number" ? ' class="num"' : ""
    }>${escapeHtml(heading(column.name))}</th>`
  ).join("");
  const body = answer.rows.map((row) =>
    "<tr>" + answer.columns.map((column, index) => {
      const value = row[index] ?? null;
      const numeric = column.kind === "number" ? ' class="num"' : "";
      return value === null
        ? `<td${numeric} data-null>—</td>`
        : `<td${numeric}>${escapeHtml(formatCell(value, column))}</td>`;
    }).join("") + "</tr>"
  ).join("\n");
  return `<table><thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody></table>`;
}

async function renderSection(
  answer: Answer,
  context: { index: number; logger: Logger | undefined },
): Promise<string> {
  const { index, logger } = context;
  const { analysis } = answer;
  const id = escapeHtml(analysis.name);
  const chart = answer.rows.length > 0
    ? await renderChart(answer, { idPrefix: `q${index + 1}-`, logger })
    : '<p class="empty">The query returned no rows.</p>';
  const rows = answer.rows.length;
  return `<section class="question" id="${id}" data-analysis="${id}" data-chart="${analysis.chart}">
<h2><span class="index">${index + 1}</span>${escapeHtml(analysis.question)}</h2>
${analysis.description ? `<p class="description">${escapeHtml(analysis.description)}</p>` : ""}
<div class="answer">
<figure class="chart" aria-label="${escapeHtml(analysis.question)}">${chart}</figure>
<div class="table">${renderTable(answer)}</div>
</div>
<p class="source">analyses/${escapeHtml(basename(analysis.file))} · ${integerFormat.format(rows)} ${
    rows === 1 ? "row" : "rows"
  }</p>
</section>`;
}

function renderHeader(freshness: Freshness, generatedAt: Date, questions: number): string {
  const stamp = generatedAt.toISOString().slice(0, 19).replace("T", " ");
  const facts = [
    ["Latest load date", freshness.latestLoadDate ?? "none"],
    ["Users (fct_users)", integerFormat.format(freshness.users)],
    ["Load dates", integerFormat.format(freshness.loadDates)],
    ["Questions", String(questions)],
    ["Generated (UTC)", stamp],
  ].map(([term = "", value = ""]) =>
    `<div><dt>${escapeHtml(term)}</dt><dd>${escapeHtml(value)}</dd></div>`
  ).join("");
  const marts = freshness.marts.map((mart) =>
    `<li data-relation="${escapeHtml(mart.name)}"><code>${escapeHtml(mart.name)}</code> ${
      integerFormat.format(mart.rows)
    }</li>`
  ).join("");
  return `<header>
<h1>Random users — analytics report</h1>
<p class="lede">Every question in <code>dbt_project/analyses/</code>, answered from the marts in
schema <code>${MARTS_SCHEMA}</code> as the read-only <code>${ANALYST_ROLE}</code> role, in one
snapshot.</p>
<dl class="freshness">${facts}</dl>
<p class="marts">Rows per relation in <code>${MARTS_SCHEMA}</code>:</p><ul class="marts">${marts}</ul>
</header>`;
}

const STYLE = `
:root { color-scheme: light; --ink: #1f2430; --muted: #5c6577; --line: #e3e7ee; --accent: #4c78a8; }
* { box-sizing: border-box; }
body { margin: 0; background: #f4f6f9; color: var(--ink);
  font: 14px/1.45 ${FONT}; }
header, nav, main, footer { max-width: 1120px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 28px; }
h1 { font-size: 26px; margin: 0 0 4px; letter-spacing: -0.01em; }
.lede { color: var(--muted); margin: 0 0 16px; }
code { font-family: 'Liberation Mono', Menlo, Consolas, monospace; font-size: 0.92em; }
.freshness { display: flex; flex-wrap: wrap; gap: 10px; margin: 0 0 12px; }
.freshness div { background: #fff; border: 1px solid var(--line); border-radius: 8px;
  padding: 8px 14px; min-width: 150px; }
.freshness dt { color: var(--muted); font-size: 12px; }
.freshness dd { margin: 2px 0 0; font-size: 18px; font-weight: 600; font-variant-numeric: tabular-nums; }
p.marts { margin: 0 0 4px; color: var(--muted); font-size: 12px; }
ul.marts { display: flex; flex-wrap: wrap; gap: 4px 16px; list-style: none; margin: 0 0 14px;
  padding: 0; font-size: 12px; color: var(--ink); font-variant-numeric: tabular-nums; }
ul.marts code { color: var(--muted); }
nav ol { margin: 8px 0 0; padding-left: 20px; columns: 2; color: var(--muted); }
nav a { color: var(--accent); text-decoration: none; }
.question { background: #fff; border: 1px solid var(--line); border-radius: 10px;
  padding: 18px 20px 12px; margin: 18px 0; }
.question h2 { font-size: 17px; margin: 0; display: flex; gap: 10px; align-items: baseline; }
.index { color: #fff; background: var(--accent); border-radius: 50%; min-width: 24px; height: 24px;
  display: inline-flex; align-items: center; justify-content: center; font-size: 12px; }
.description { color: var(--muted); margin: 4px 0 0 34px; }
.answer { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 400px); gap: 20px;
  align-items: start; margin-top: 12px; }
.chart { margin: 0; overflow-x: auto; }
.chart svg { display: block; max-width: 100%; height: auto; }
.table { max-height: 420px; overflow: auto; border: 1px solid var(--line); border-radius: 6px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 10px; text-align: left; border-bottom: 1px solid var(--line); }
th { position: sticky; top: 0; background: #f8f9fb; font-weight: 600; color: var(--muted); }
td.num, th.num { text-align: right; }
td[data-null] { color: #9aa3b2; }
.source { color: var(--muted); font-size: 12px; margin: 10px 0 0; }
.empty { color: var(--muted); font-style: italic; }
footer { color: var(--muted); font-size: 12px; padding-bottom: 28px; }
@media (max-width: 860px) { .answer { grid-template-columns: 1fr; } }
@media print { body { background: #fff; } .question { break-inside: avoid; } .table { max-height: none; } }
`;

async function renderReport(report: {
  freshness: Freshness;
  answers: readonly Answer[];
  generatedAt: Date;
  logger: Logger | undefined;
}): Promise<string> {
  const { freshness, answers, generatedAt, logger } = report;
  const sections = [];
  for (const [index, answer] of answers.entries()) {
    sections.push(await renderSection(answer, { index, logger }));
  }
  const nav = answers.map((answer) =>
    `<li><a href="#${escapeHtml(answer.analysis.name)}">${
      escapeHtml(answer.analysis.question)
    }</a></li>`
  ).join("");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Random users — analytics report (${
    escapeHtml(freshness.latestLoadDate ?? "no data")
  })</title>
<style>${STYLE}</style>
</head>
<body>
${renderHeader(freshness, generatedAt, answers.length)}
<nav><ol>${nav}</ol></nav>
<main>
${sections.join("\n")}
</main>
<footer>Generated by <code>deno task report</code> at ${
    escapeHtml(generatedAt.toISOString())
  }. Charts: Vega-Lite, rendered to SVG when the report was written; this page runs no script and
loads nothing.</footer>
</body>
</html>
`;
}
