/**
 * The JSON body of each alert: a `text` that Slack and Mattermost incoming webhooks post as-is
 * (their shared markup: `<url|label>` links, `:emoji:`, `&`, `<`, `>` escaped), and the same facts
 * as fields for any other receiver. Every string in a body is stripped of the secrets it is
 * given and of URL passwords, so an error line that quotes a connection URL or a password
 * reaches no chat channel.
 *
 * @example
 * ```ts
 * const body = failureAlert(run, { secrets: ["s3cret"], consoleUrl: "http://127.0.0.1:8080" });
 * console.log(body.text); // ":x: randomuser-elt: extract_load failed for ds 2026-01-02 …"
 * ```
 *
 * @module
 */
import { SecretMask } from "../../tasks/shared/secret_mask.ts";
import type { RunWithTries, TryRecord } from "../ledger.ts";

/** What an alert may tell of. */
export const ALERT_KINDS = ["failure", "recovery", "warning", "stale"] as const;
/** What an alert tells of. */
export type AlertKind = typeof ALERT_KINDS[number];

/** The body posted to the webhook. Fields that do not apply to its kind are null. */
export interface AlertBody {
  /** The message as Slack and Mattermost show it. */
  readonly text: string;
  readonly source: "randomuser-elt";
  readonly kind: AlertKind;
  readonly pipeline: string;
  /** The run's logical date; for `stale`, the newest ds due. */
  readonly ds: string | null;
  readonly run_id: string | null;
  /** The run's page on the operations console, when it is on. */
  readonly run_url: string | null;
  readonly trigger: string | null;
  /** The task that failed or warned. */
  readonly task: string | null;
  /** Tries of that task in the run. */
  readonly tries: number | null;
  /** The failure class: transient, usage, terminal, timeout, stopped, upstream, orphaned. */
  readonly failure: string | null;
  /** The error (failure) or warning (warning) line. */
  readonly error: string | null;
  /** `recovery`: the dates that had failed since the last recovery; `stale`: none. */
  readonly failed_ds: readonly string[];
  /** `stale`: the newest ds whose extract_load succeeded (null when none ever did). */
  readonly latest_ds: string | null;
  readonly host: string;
  /** When the alert was made (ISO 8601). */
  readonly at: string;
}

/** What every body is made with. */
export interface AlertContext {
  /** Values no body may contain (passwords, tokens, the webhook URL). */
  readonly secrets: readonly string[];
  /** The console's base URL (`http://host:port`), when it is on. */
  readonly consoleUrl?: string | undefined;
  readonly now?: Date;
}

/** The alert of a failed run: which task, its class, its error line, how many tries. */
export function failureAlert(run: RunWithTries, context: AlertContext): AlertBody {
  const failed = run.tries.findLast((attempt) => attempt.state === "failed");
  const tries = failed ? triesOf(run.tries, failed.task) : null;
  const error = failed?.error ?? run.error;
  const what = failed
    ? `${failed.task} failed (${run.failure ?? failed.failure}) after ${tries} ` +
      `${tries === 1 ? "try" : "tries"}: ${error ?? `exit code ${failed.exit_code}`}`
    : `${run.failure ?? "failed"}: ${run.error ?? "no error recorded"}`;
  return finished(run, context, {
    kind: "failure",
    headline: `:x: randomuser-elt: ${run.pipeline} failed for ds ${run.ds}`,
    lines: [what],
    task: failed?.task ?? null,
    tries,
    failure: run.failure,
    error,
  });
}

/** The alert of the first success after failures: which dates had failed. */
export function recoveryAlert(
  run: RunWithTries,
  failedDs: readonly string[],
  context: AlertContext,
): AlertBody {
  const dates = [...new Set(failedDs)].sort();
  return finished(run, context, {
    kind: "recovery",
    headline: `:white_check_mark: randomuser-elt: ${run.pipeline} recovered: ds ${run.ds} ` +
      "succeeded",
    lines: [`It had failed for ds ${dates.join(", ")}.`],
    failedDs: dates,
  });
}

/** The alert of a run that succeeded with a task's warning (source freshness past warn_after). */
export function warningAlert(
  run: RunWithTries,
  warned: TryRecord,
  context: AlertContext,
): AlertBody {
  return finished(run, context, {
    kind: "warning",
    headline: `:warning: randomuser-elt: ${run.pipeline} for ds ${run.ds} succeeded with a ` +
      "warning",
    lines: [`${warned.task}: ${warned.warning}`],
    task: warned.task,
    tries: triesOf(run.tries, warned.task),
    error: warned.warning,
  });
}

/** What the staleness check found. */
export interface Staleness {
  readonly pipeline: string;
  /** The newest ds whose run succeeded; undefined when none ever did. */
  readonly latestDs: string | undefined;
  /** The newest ds that should have succeeded by now. */
  readonly dueDs: string;
  /** When `dueDs` was due. */
  readonly dueAt: Date;
  /** `STALE_AFTER` as configured, e.g. `6h`. */
  readonly grace: string;
  /** The pipeline's latest run, if any: it often says why. */
  readonly lastRun: { ds: string; state: string; error: string | null } | undefined;
  readonly host: string;
}

/** The alert of stale data: no run for a due ds has succeeded. */
export function staleAlert(stale: Staleness, context: AlertContext): AlertBody {
  const due = `ds ${stale.dueDs} was due by ${stale.dueAt.toISOString().slice(0, 16)} UTC ` +
    `(the day's schedule + STALE_AFTER ${stale.grace})`;
  const lines = [
    stale.latestDs
      ? `The newest ${stale.pipeline} that succeeded is for ds ${stale.latestDs}; ${due}.`
      : `No ${stale.pipeline} run has succeeded yet; ${due}.`,
  ];
  if (stale.lastRun) {
    const { ds, state, error } = stale.lastRun;
    lines.push(`Last run: ds ${ds} ${state}${error ? `: ${error}` : ""}`);
  }
  return body(context, {
    kind: "stale",
    headline: `:warning: randomuser-elt: the data is stale`,
    lines,
    pipeline: stale.pipeline,
    ds: stale.dueDs,
    latestDs: stale.latestDs ?? null,
    host: stale.host,
  });
}

interface Parts {
  kind: AlertKind;
  headline: string;
  /** Lines after the headline; escaped for the chat markup here. */
  lines: string[];
  pipeline: string;
  ds: string | null;
  run?: { id: string; trigger: string };
  task?: string | null;
  tries?: number | null;
  failure?: string | null;
  error?: string | null;
  failedDs?: string[];
  latestDs?: string | null;
  host: string;
}

/** The body of an alert about a finished run, with its run line and link. */
function finished(
  run: RunWithTries,
  context: AlertContext,
  parts: Omit<Parts, "pipeline" | "ds" | "run" | "host">,
): AlertBody {
  return body(context, {
    ...parts,
    pipeline: run.pipeline,
    ds: run.ds,
    run: { id: run.run_id, trigger: run.trigger },
    host: run.host,
  });
}

function body(context: AlertContext, given: Parts): AlertBody {
  // Hidden before the markup is escaped (a secret with a `<` in it is matched as written), and
  // again in the whole body.
  const mask = new SecretMask(context.secrets);
  const parts = mask.redactAll(given);
  const runUrl = parts.run && context.consoleUrl
    ? `${context.consoleUrl.replace(/\/+$/, "")}/runs/${encodeURIComponent(parts.run.id)}`
    : null;
  const lines = [parts.headline, ...parts.lines.map(escapeMarkup)];
  if (parts.run) {
    lines.push(
      `Run ${parts.run.id} (${parts.run.trigger}) on ${escapeMarkup(parts.host)}` +
        (runUrl ? `: <${runUrl}|run page>` : ""),
    );
  }
  return mask.redactAll({
    text: lines.join("\n"),
    source: "randomuser-elt",
    kind: parts.kind,
    pipeline: parts.pipeline,
    ds: parts.ds,
    run_id: parts.run?.id ?? null,
    run_url: runUrl,
    trigger: parts.run?.trigger ?? null,
    task: parts.task ?? null,
    tries: parts.tries ?? null,
    failure: parts.failure ?? null,
    error: parts.error ?? null,
    failed_ds: parts.failedDs ?? [],
    latest_ds: parts.latestDs ?? null,
    host: parts.host,
    at: (context.now ?? new Date()).toISOString(),
  });
}

function triesOf(tries: readonly TryRecord[], task: string): number {
  return tries.filter((attempt) => attempt.task === task).length;
}

/**
 * Slack's three control characters, escaped as Slack asks (Mattermost reads the same): an error
 * line cannot make a link or a `<!channel>` mention.
 */
function escapeMarkup(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}
