/**
 * The report's HTML: one self-contained page — header with the data's freshness, a table of
 * contents, and per question its chart (inline SVG) and its table — with every value escaped and
 * no script.
 *
 * @example
 * ```ts
 * const html = await renderReport({ freshness, answers, generatedAt: new Date(), logger });
 * ```
 *
 * @module
 */
import { basename } from "node:path";
import { escapeHtml } from "../shared/escape_html.ts";
import type { Logger } from "../shared/logger.ts";
import { MARTS_SCHEMA } from "./analyses.ts";
import { CHART_FONT, renderChart } from "./report_charts.ts";
import { ANALYST_ROLE, type Column } from "./analysis_columns.ts";
import { columnTitle } from "./chart_roles.ts";
import type { Answer, Freshness } from "./report_questions.ts";

/** A column name as a heading: `average_age` → `Average age`, `share_pct` → `Share %`. */
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
    }>${escapeHtml(columnTitle(column.name))}</th>`
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
    ["Ages as of", freshness.latestLoadDate ?? "none"],
    ["Users (dim_user)", integerFormat.format(freshness.users)],
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
  font: 14px/1.45 ${CHART_FONT}; }
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

/** The whole page for `report`'s answers. */
export async function renderReport(report: {
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
