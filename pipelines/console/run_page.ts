/**
 * A run's page: the run (state, trigger, times, error), every task with every try — start, end,
 * duration, exit code, failure class, rows, the error line — and what each try printed; the other
 * runs of the same pipeline and date; and, when actions are enabled, "run again".
 *
 * @module
 */
import {
  dataTable,
  formatCount,
  formatDuration,
  formatTime,
  type PageFrame,
  renderPage,
  spanOf,
  stateBadge,
} from "./console_layout.ts";
import { type Html, html } from "./html_template.ts";
import type { RunDetail, TryDetail } from "./ledger_view.ts";
import { runTable } from "./overview_page.ts";

/** What the run page shows besides the ledger. */
export interface RunPageContext extends PageFrame {
  /** Whether "run again" is offered (a token is set and the scheduler runs). */
  readonly actions: boolean;
}

/** The run page. */
export function renderRunPage(detail: RunDetail, context: RunPageContext): string {
  const { run } = detail;
  const tasks = [...new Set(detail.tries.map((t) => t.task))];
  const body = html`<section data-run="${run.run_id}">
<h2>${run.pipeline} · ds ${run.ds} ${stateBadge(run.state, run.failure)}</h2>
<dl class="facts">
<dt>Run</dt><dd class="mono">${run.run_id}</dd>
<dt>Trigger</dt><dd>${run.trigger}${
    run.external_run_id
      ? html`
        (Airflow run <code>${run.external_run_id}</code>)
      `
      : ""
  }</dd>
<dt>Started</dt><dd>${formatTime(run.started_at)}</dd>
<dt>Finished</dt><dd>${formatTime(run.finished_at)}</dd>
<dt>Duration</dt><dd>${spanOf(run.started_at, run.finished_at)}</dd>
<dt>Host</dt><dd>${run.host} (pid ${run.pid})</dd>
${
    run.error
      ? html`
        <dt>Error</dt>
        <dd class="error-line" data-run-error>${run.error}</dd>
      `
      : ""
  }
</dl>
${context.actions && run.state !== "running" ? runAgainForm(detail) : ""}
</section>
<section><h2>Tasks</h2>${
    tasks.length === 0
      ? html`<p class="empty">No task was tried${
        run.failure === "upstream" ? " (its upstream pipeline had not succeeded)" : ""
      }.</p>`
      : tasks.map((task) => taskTries(task, detail.tries.filter((t) => t.task === task)))
  }</section>
${
    detail.siblings.length > 1
      ? html`<section><h2>Every run of ${run.pipeline} for ds ${run.ds}</h2>${
        runTable(detail.siblings, { current: run.run_id })
      }</section>`
      : ""
  }`;
  return renderPage(`${run.pipeline} ${run.ds}`, body, context);
}

function taskTries(task: string, tries: readonly TryDetail[]): Html {
  const table = dataTable(tries, [
    { heading: "Try", kind: "num", cell: (t) => t.try_number },
    { heading: "State", cell: (t) => stateBadge(t.state, t.failure) },
    { heading: "Started", cell: (t) => formatTime(t.started_at) },
    { heading: "Finished", cell: (t) => formatTime(t.finished_at) },
    { heading: "Duration", kind: "num", cell: (t) => formatDuration(t.duration_ms) },
    { heading: "Exit", kind: "num", cell: (t) => t.exit_code ?? "—" },
    { heading: "Failure", cell: (t) => t.failure },
    { heading: "Rows", kind: "num", cell: (t) => formatCount(t.rows) },
    // A try that succeeded may still warn (source freshness past its warn_after).
    {
      heading: "Error",
      kind: "error",
      cell: (t) => t.error ?? (t.warning === null ? null : `warning: ${t.warning}`),
    },
  ], (t) =>
    html`
      data-try="${t.try_number}"
    `);
  const outputs = tries.map((t) =>
    html`
      <details class="try" data-output="${t.try_number}" ${t.state === "failed"
        ? html`
          open
        `
        : ""}>
      <summary>Output of try ${t.try_number}${t.output === null
        ? " (not kept for tries recorded before the console)"
        : ""}</summary>
      ${t.output === null
        ? html`<p class="muted">The log file on the host that ran it: <code>${t.log_path}</code></p>`
        : html`<pre class="output">${t.output === "" ? "(no output)" : t.output}</pre>
<p class="muted">Kept in the ledger, redacted, the first and last lines of long output; the whole
log: <code>${t.log_path}</code> on the host that ran it.</p>`}
      </details>
    `
  );
  return html`<h3 data-task="${task}">${task}</h3>${table}${outputs}`;
}

function runAgainForm(detail: RunDetail): Html {
  const { run } = detail;
  return html`
    <form class="action" method="post" action="/actions/run">
      <input type="hidden" name="pipeline" value="${run.pipeline}">
      <input type="hidden" name="ds" value="${run.ds}">
      <label>Console token <input type="password" name="token" autocomplete="off" required></label>
      <button type="submit">Run ${run.pipeline} again for ${run.ds}</button>
    </form>
  `;
}
