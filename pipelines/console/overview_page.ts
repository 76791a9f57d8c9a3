/**
 * The console's overview: per pipeline its last run, last success and next scheduled run, the
 * latest load; the grid of the latest logical dates × pipelines (Airflow's grid view), each cell
 * coloured by the state of that date's latest run and linking to it; the recent runs; and, when
 * actions are enabled, the backfill form.
 *
 * @module
 */
import { nextScheduledRun, type Pipelines } from "../definitions.ts";
import type { RunRecord } from "../ledger.ts";
import {
  dataTable,
  formatCount,
  formatTime,
  type PageFrame,
  renderPage,
  runPath,
  spanOf,
  stateBadge,
} from "./console_layout.ts";
import { type Html, html } from "./html_template.ts";
import { GRID_DATES, type Overview } from "./ledger_view.ts";

/** What the overview shows besides the ledger. */
export interface OverviewContext extends PageFrame {
  readonly pipelines: Pipelines;
  /** Whether the backfill form is offered (a token is set and the scheduler runs). */
  readonly actions: boolean;
}

/** The overview page. */
export function renderOverview(overview: Overview, context: OverviewContext): string {
  const body = html`
    ${pipelineCards(overview, context)}
    ${grid(overview, context)}
    ${recentRuns(overview.recent)}
    ${context.actions ? backfillForm(context) : ""}
  `;
  return renderPage("Overview", body, { ...context, current: "overview" });
}

function pipelineCards(overview: Overview, context: OverviewContext): Html {
  const cards = Object.values(context.pipelines).map((pipeline) => {
    const last = overview.lastRuns.get(pipeline.name);
    const success = overview.lastSuccesses.get(pipeline.name);
    const next = nextScheduledRun(pipeline.schedule, context.now);
    return html`
      <div class="card" data-pipeline="${pipeline.name}">
        <h3>${pipeline.name}</h3>
        <dl class="facts">
          <dt>Last run</dt>
          <dd>${last
            ? html`${stateBadge(last.state, last.failure)} <a href="${
              runPath(last.run_id)
            }">ds ${last.ds}</a>, ${formatTime(last.started_at)}`
            : html`<span class="empty">none yet</span>`}</dd>
          <dt>Last success</dt>
          <dd>${success
            ? html`<a href="${runPath(success.run_id)}">ds ${success.ds}</a>, finished ${
              formatTime(success.finished_at)
            }`
            : html`<span class="empty">none yet</span>`}</dd>
          <dt>Next run</dt>
          <dd>${formatTime(next)} <span class="muted">(<code>${pipeline
            .schedule}</code>${context.mode === "console"
            ? ", when the scheduler runs it"
            : ""})</span></dd>
        </dl>
      </div>
    `;
  });
  const load = overview.latestLoad;
  cards.push(html`
    <div class="card" data-latest-load>
      <h3>Latest load</h3>
      <dl class="facts">${load
        ? html`
          <dt>ds</dt>
          <dd>${load.ds}</dd>
          <dt>Rows</dt>
          <dd>${formatCount(load.rows_in_file)}</dd>
          <dt>Loaded</dt>
          <dd>${formatTime(load.finished_at)}</dd>
          <dt>Batch</dt>
          <dd class="mono">${load.batch_id}</dd>
        `
        : html`
          <dt>ds</dt>
          <dd class="empty">nothing loaded yet</dd>
        `}</dl>
    </div>
  `);
  return html`
    <section>
      <h2>Pipelines</h2>
      <div class="cards">${cards}</div>
    </section>
  `;
}

function grid(overview: Overview, context: OverviewContext): Html {
  const names = [
    ...new Set([
      ...Object.keys(context.pipelines),
      ...overview.cells.map((cell) => cell.pipeline),
    ]),
  ];
  const cells = new Map(overview.cells.map((cell) => [`${cell.pipeline} ${cell.ds}`, cell]));
  if (overview.dates.length === 0) {
    return html`
      <section>
        <h2>Runs by logical date</h2>
        <p
          class="empty">No runs yet: <code>deno task run all</code> starts one, or wait for the schedule.</p>
      </section>
    `;
  }
  const head = overview.dates.map((ds) => html`<th class="date" scope="col">${ds}</th>`);
  const rows = names.map((pipeline) =>
    html`<tr><th class="pipeline" scope="row">${pipeline}</th>${
      overview.dates.map((ds) => {
        const cell = cells.get(`${pipeline} ${ds}`);
        if (!cell) {
          return html`<td><span class="cell" title="${pipeline} ${ds}: no run"></span></td>`;
        }
        const label =
          `${pipeline} ${ds}: ${cell.state}${cell.failure ? ` (${cell.failure})` : ""}` +
          `${cell.runs > 1 ? `, latest of ${cell.runs} runs` : ""}` +
          `${cell.error ? ` — ${cell.error.slice(0, 300)}` : ""}`;
        return html`<td><a class="cell ${cell.state}" href="${
          runPath(cell.run_id)
        }" title="${label}"
aria-label="${label}" data-pipeline="${pipeline}" data-ds="${ds}" data-state="${cell.state}"></a></td>`;
      })
    }</tr>`
  );
  return html`
    <section>
      <h2>Runs by logical date</h2>
      <p class="muted">The latest ${GRID_DATES} logical dates with a run; each cell is the latest run of
    that pipeline and date.</p>
      <div class="scroll">
        <table class="grid">
          <thead>
            <tr><th></th>${head}</tr>
          </thead>
          <tbody>${rows}</tbody>
        </table>
      </div>
      <p class="legend"><span><span class="cell succeeded"></span>succeeded</span>
    <span><span class="cell failed"></span>failed</span>
    <span><span class="cell running"></span>running</span>
    <span><span class="cell"></span>no run</span></p>
    </section>
  `;
}

/** The table of runs shared by the overview and the run page. */
export function runTable(runs: readonly RunRecord[], options: { current?: string } = {}): Html {
  return dataTable(runs, [
    {
      heading: "Run",
      kind: "mono",
      cell: (run) => html`<a href="${runPath(run.run_id)}">${run.run_id}</a>`,
    },
    { heading: "Pipeline", cell: (run) => run.pipeline },
    { heading: "ds", cell: (run) => run.ds },
    { heading: "Trigger", cell: (run) => run.trigger },
    { heading: "State", cell: (run) => stateBadge(run.state, run.failure) },
    { heading: "Started", cell: (run) => formatTime(run.started_at) },
    { heading: "Duration", kind: "num", cell: (run) => spanOf(run.started_at, run.finished_at) },
    { heading: "Error", kind: "error", cell: (run) => run.error },
  ], (run) =>
    run.run_id === options.current
      ? html`
        aria-current="true"
      `
      : html``);
}

function recentRuns(runs: readonly RunRecord[]): Html {
  if (runs.length === 0) return html``;
  return html`<section><h2>Recent runs</h2>${runTable(runs)}</section>`;
}

function backfillForm(context: OverviewContext): Html {
  const options = [
    html`<option value="all">all</option>`,
    ...Object.keys(context.pipelines).map((name) => html`<option value="${name}">${name}</option>`),
  ];
  return html`
    <section>
      <h2>Backfill</h2>
      <p class="muted">Runs the missing or failed logical dates from the first to the last, in order, as
    <code>deno task backfill</code> does, under the same lock as every run.</p>
      <form class="action" method="post" action="/actions/backfill">
        <label>From <input type="date" name="from" required></label>
        <label>To <input type="date" name="to" required></label>
        <label>Pipeline <select name="pipeline">${options}</select></label>
        <label>Console token <input type="password" name="token" autocomplete="off" required></label>
        <button type="submit">Backfill</button>
      </form>
    </section>
  `;
}
