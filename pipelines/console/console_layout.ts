/**
 * The frame of every console page — title, navigation, stylesheet link, footer — and the small
 * pieces the pages share: times in UTC, durations, a state badge, a run's link.
 *
 * @module
 */
import { type Html, html, type HtmlValue } from "./html_template.ts";

/** Who serves the console: `deno task start` (with the scheduler) or `deno task console`. */
export type ConsoleMode = "scheduler" | "console";

/** What every page's frame needs to know. */
export interface PageFrame {
  /** The current entry of the navigation, if the page is one. */
  readonly current?: "overview" | "data";
  /** Whether the HTML report has been written (the navigation links it). */
  readonly report: boolean;
  readonly mode: ConsoleMode;
  readonly now: Date;
}

/** The path of a run's page. */
export function runPath(runId: string): string {
  return `/runs/${encodeURIComponent(runId)}`;
}

/** `2026-01-02 00:05:12` (UTC), or "—". */
export function formatTime(date: Date | null | undefined): string {
  if (!date) return "—";
  return date.toISOString().slice(0, 19).replace("T", " ");
}

/** `4.2 s`, `3 min 05 s`, `1 h 02 min`, or "running". */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "running";
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${String(Math.round(seconds % 60)).padStart(2, "0")} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}

/** The duration from `start` to `end` (running while there is no end). */
export function spanOf(start: Date, end: Date | null): string {
  return formatDuration(end ? end.getTime() - start.getTime() : null);
}

const integers = new Intl.NumberFormat("en-US");

/** A count with thousands separators, or "—". */
export function formatCount(value: number | null | undefined): string {
  return value === null || value === undefined ? "—" : integers.format(value);
}

/** A state as a coloured badge, with the failure class after a failed state. */
export function stateBadge(state: string, failure?: string | null): Html {
  return html`<span class="state ${state}">${state}${failure ? ` · ${failure}` : ""}</span>`;
}

/** A column of a {@linkcode dataTable}: its heading, its cell, how the cell is set. */
export interface Column<Row> {
  readonly heading: string;
  readonly cell: (row: Row) => HtmlValue;
  /** `num` right-aligns (the heading too); `mono` for ids; `error` wraps long text. */
  readonly kind?: "num" | "mono" | "error";
}

/**
 * A table of `rows` by `columns` that scrolls sideways when the page is narrow; `attributes`
 * marks a row (`data-ds="…"`).
 */
export function dataTable<Row>(
  rows: readonly Row[],
  columns: readonly Column<Row>[],
  attributes: (row: Row) => Html = () => html``,
): Html {
  const kind = (column: Column<Row>) =>
    column.kind
      ? html`
        class="${column.kind}"
      `
      : "";
  const head = columns.map((column) =>
    html`<th${
      column.kind === "num"
        ? html`
          class="num"
        `
        : ""
    }>${column.heading}</th>`
  );
  const body = rows.map((row) =>
    html`<tr${attributes(row)}>${
      columns.map((column) => html`<td${kind(column)}>${column.cell(row)}</td>`)
    }</tr>`
  );
  return html`
    <div class="scroll">
      <table>
        <thead>
          <tr>${head}</tr>
        </thead>
        <tbody>${body}</tbody>
      </table>
    </div>
  `;
}

/** The whole page: `title`, the frame, `body`. */
export function renderPage(title: string, body: Html, frame: PageFrame): string {
  const nav = [
    ["overview", "/", "Overview"],
    ["data", "/data", "Data"],
  ] as const;
  const links = nav.map(([key, href, label]) =>
    html`
      <a href="${href}" ${frame.current === key
        ? html`
          aria-current="page"
        `
        : ""}>${label}</a>
    `
  );
  const mode = frame.mode === "scheduler"
    ? "served by the scheduler (deno task start)"
    : "a read-only view of the ledger (deno task console)";
  return html`
    <!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>${title} — randomuser-elt console</title>
        <link rel="icon" href="data:,">
        <link rel="stylesheet" href="/console.css">
      </head>
      <body>
        <header>
          <div class="bar">
            <h1><span class="product">randomuser-elt ·</span> ${title}</h1>
            <nav>${links}${frame.report
              ? html`<a href="/report">Report</a>`
              : ""}<a href="/metrics">Metrics</a><a href="/api/runs">JSON</a></nav>
          </div>
        </header>
        <main>
        ${body}
            </main>
        <footer>Operations console, ${mode}. Every value comes from the run ledger (<code>meta</code>);
        times are UTC; page made at ${formatTime(frame.now)}. It runs no script.</footer>
      </body>
    </html>
  `.toString().trimStart();
}
