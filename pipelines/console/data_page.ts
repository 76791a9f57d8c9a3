/**
 * The console's data page: rows per logical date in `raw.users` and `dim_user` with the rejects
 * of each date's extract, the latest loads from `meta.load_batches` (inserted, updated, deleted,
 * unchanged) and the latest dbt builds from `meta.dbt_runs`.
 *
 * @module
 */
import {
  dataTable,
  formatCount,
  formatTime,
  type PageFrame,
  renderPage,
  spanOf,
  stateBadge,
} from "./console_layout.ts";
import { type Html, html } from "./html_template.ts";
import type { DataOverview, DbtRun, LoadBatch } from "./ledger_view.ts";

/** The data page. */
export function renderDataPage(data: DataOverview, frame: PageFrame): string {
  const body = html`${days(data)}${loads(data.loads)}${dbtRuns(data.dbtRuns)}`;
  return renderPage("Data", body, { ...frame, current: "data" });
}

function days(data: DataOverview): Html {
  if (data.days.length === 0) {
    return html`
      <section>
        <h2>Rows by logical date</h2>
        <p class="empty">Nothing loaded yet.</p>
      </section>
    `;
  }
  const table = dataTable(data.days, [
    { heading: "ds", cell: (day) => day.ds },
    { heading: "raw.users", kind: "num", cell: (day) => formatCount(day.rawRows) },
    { heading: "dim_user", kind: "num", cell: (day) => formatCount(day.factRows) },
    { heading: "Rejects", kind: "num", cell: (day) => formatCount(day.rejects) },
    { heading: "Repeated ids", kind: "num", cell: (day) => formatCount(day.duplicates) },
  ], (day) =>
    html`
      data-ds="${day.ds}"
    `);
  const fact = data.factProblem ? ` dim_user: ${data.factProblem}.` : "";
  return html`<section><h2>Rows by logical date</h2>
<p class="muted">The latest logical dates with a run or a load. Rejects and repeated ids come from
each date's landing manifest (— when it is not on this host).${fact}</p>${table}</section>`;
}

function loads(batches: readonly LoadBatch[]): Html {
  const table = dataTable(batches, [
    { heading: "Batch", kind: "mono", cell: (batch) => batch.batch_id },
    { heading: "ds", cell: (batch) => batch.ds },
    {
      heading: "Status",
      cell: (batch) => html`${stateBadge(batch.status)}${batch.vouched ? "" : " (unvouched)"}`,
    },
    { heading: "Rows in file", kind: "num", cell: (batch) => formatCount(batch.rows_in_file) },
    { heading: "Inserted", kind: "num", cell: (batch) => formatCount(batch.inserted) },
    { heading: "Updated", kind: "num", cell: (batch) => formatCount(batch.updated) },
    { heading: "Deleted", kind: "num", cell: (batch) => formatCount(batch.deleted) },
    { heading: "Unchanged", kind: "num", cell: (batch) => formatCount(batch.unchanged) },
    { heading: "Finished", cell: (batch) => formatTime(batch.finished_at) },
    {
      heading: "Duration",
      kind: "num",
      cell: (batch) => spanOf(batch.started_at, batch.finished_at),
    },
    { heading: "Error", kind: "error", cell: (batch) => batch.error },
  ]);
  return html`<section><h2>Latest loads <span class="muted">(meta.load_batches)</span></h2>${
    batches.length === 0 ? html`<p class="empty">No load yet.</p>` : table
  }</section>`;
}

function failedNodes(nodes: unknown): string {
  if (!Array.isArray(nodes) || nodes.length === 0) return "";
  return nodes.map((node) =>
    typeof node === "object" && node !== null
      ? Object.values(node as Record<string, unknown>).map(String).join(": ")
      : String(node)
  ).join("; ");
}

function dbtRuns(runs: readonly DbtRun[]): Html {
  const table = dataTable(runs, [
    { heading: "Run", kind: "mono", cell: (run) => run.run_id },
    { heading: "ds", cell: (run) => run.ds ?? "—" },
    { heading: "Runner", cell: (run) => run.runner },
    { heading: "Status", cell: (run) => stateBadge(run.status) },
    { heading: "Models", kind: "num", cell: (run) => run.models },
    { heading: "Tests", kind: "num", cell: (run) => run.tests },
    { heading: "Failures", kind: "num", cell: (run) => run.failures },
    { heading: "Warnings", kind: "num", cell: (run) => run.warnings },
    { heading: "Skipped", kind: "num", cell: (run) => run.skipped },
    { heading: "Finished", cell: (run) => formatTime(run.finished_at) },
    { heading: "Duration", kind: "num", cell: (run) => spanOf(run.started_at, run.finished_at) },
    { heading: "Failed nodes", kind: "error", cell: (run) => failedNodes(run.failed_nodes) },
  ]);
  return html`<section><h2>Latest dbt builds <span class="muted">(meta.dbt_runs)</span></h2>${
    runs.length === 0 ? html`<p class="empty">No dbt build yet.</p>` : table
  }</section>`;
}
