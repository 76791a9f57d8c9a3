/**
 * Webhook alerts (`ALERT_WEBHOOK_URL`): told of each run a process finishes, the alerter posts
 * a failure, a recovery or a warning when the alert ledger's rules say it is due; asked by the
 * scheduler, it posts when the data is stale. Nothing it does can fail a run or change its exit
 * code: every error is logged as a warning, and an alert that was not delivered is recorded as
 * failed in `meta.alerts` (`randomuser_elt_alerts_failed_total` in `/metrics`).
 *
 * @example
 * ```ts
 * const alerter = new Alerter({ webhookUrl, sql: warehouse.sql, logger, secrets });
 * const runner = new PipelineRunner({ ...options, alerts: alerter });
 * await alerter.checkStaleness({ pipeline: pipelines.extract_load, staleAfterMs: 6 * 3_600_000 });
 * ```
 *
 * @module
 */
import { hostname } from "node:os";
import { todayUtc } from "../../tasks/shared/dates.ts";
import { errorMessage } from "../../tasks/shared/errors.ts";
import type { Logger } from "../../tasks/shared/logger.ts";
import type { Sql } from "../../tasks/warehouse/sql_client.ts";
import { dailyMinute, type PipelineDefinition } from "../definitions.ts";
import { RunLedger } from "../ledger.ts";
import { AlertLedger, type AlertSubject } from "./alert_ledger.ts";
import {
  type AlertBody,
  type AlertContext,
  failureAlert,
  recoveryAlert,
  staleAlert,
  warningAlert,
} from "./alert_message.ts";
import { AlertWebhook, type AlertWebhookOptions } from "./alert_webhook.ts";

/** What a runner tells the alerts: a run it finished (or found orphaned) is in the ledger. */
export interface RunAlerts {
  /** Alerts what the run's outcome calls for; never throws. */
  runFinished(runId: string): Promise<void>;
}

/** Options for {@linkcode Alerter}. */
export interface AlerterOptions {
  /** The incoming webhook (a secret: it never appears in a body or a log line). */
  webhookUrl: string;
  /** The warehouse of the run ledger and `meta.alerts`. */
  sql: Sql;
  logger: Logger;
  /** Values no body may contain: passwords, tokens (the webhook URL is added). */
  secrets: readonly string[];
  /** The operations console's base URL, for links to run pages; undefined when it is off. */
  consoleUrl?: string | undefined;
  /** Time limit, tries and backoff of a post (tests shorten them). */
  webhook?: AlertWebhookOptions;
}

/** What {@linkcode Alerter.checkStaleness} checks. */
export interface StalenessCheck {
  /** The pipeline whose success makes the data fresh (extract_load), with its daily schedule. */
  pipeline: PipelineDefinition;
  /** How long past a day's schedule its run may be missing (`STALE_AFTER`). */
  staleAfterMs: number;
  /** The time of the check; default now. */
  now?: Date;
}

/** Sends alerts; see the module documentation. */
export class Alerter implements RunAlerts {
  readonly #options: AlerterOptions;
  readonly #runs: RunLedger;
  readonly #alerts: AlertLedger;
  readonly #webhook: AlertWebhook;

  constructor(options: AlerterOptions) {
    this.#options = options;
    this.#runs = new RunLedger(options.sql);
    this.#alerts = new AlertLedger(options.sql);
    this.#webhook = new AlertWebhook(options.webhookUrl, options.webhook);
  }

  async runFinished(runId: string): Promise<void> {
    await this.#guard({ run_id: runId }, async () => {
      const run = await this.#runs.run(runId);
      if (!run) return;
      const subject = { pipeline: run.pipeline, ds: run.ds, runId };
      const context = this.#context();
      if (run.state === "failed") {
        await this.#send({ kind: "failure", ...subject }, () => failureAlert(run, context));
      } else if (run.state === "succeeded") {
        await this.#send(
          { kind: "recovery", ...subject },
          (failedDs) => recoveryAlert(run, failedDs, context),
        );
        const warned = run.tries.findLast((attempt) => attempt.warning !== null);
        if (warned) {
          await this.#send(
            { kind: "warning", ...subject },
            () => warningAlert(run, warned, context),
          );
        }
      }
    });
  }

  /**
   * Alerts, once per UTC day, when the newest ds whose `pipeline` run succeeded is older than the
   * newest one due: a day's run is due `staleAfterMs` past its schedule. A pipeline that never
   * succeeded is stale once its first run is `staleAfterMs` old.
   */
  async checkStaleness(check: StalenessCheck): Promise<void> {
    const now = check.now ?? new Date();
    const pipeline = check.pipeline.name;
    await this.#guard({ pipeline }, async () => {
      const scheduleMs = dailyMinute(check.pipeline.schedule) * 60_000;
      const dueDs = todayUtc(new Date(now.getTime() - scheduleMs - check.staleAfterMs));
      const latestDs = await this.#runs.latestSucceededDs(pipeline);
      if (latestDs !== undefined && latestDs >= dueDs) return;
      const runs = await this.#runs.firstAndLastRun(pipeline);
      if (
        latestDs === undefined &&
        (!runs || now.getTime() - runs.first.started_at.getTime() < check.staleAfterMs)
      ) {
        return; // nothing has had the time to succeed yet
      }
      const stale = {
        pipeline,
        latestDs,
        dueDs,
        dueAt: new Date(Date.parse(`${dueDs}T00:00:00Z`) + scheduleMs + check.staleAfterMs),
        grace: durationText(check.staleAfterMs),
        lastRun: runs
          ? { ds: runs.last.ds, state: runs.last.state, error: runs.last.error }
          : undefined,
        host: hostname(),
      };
      const context = this.#context(now);
      await this.#send(
        { kind: "stale", pipeline, ds: todayUtc(now) },
        () => staleAlert(stale, context),
      );
    });
  }

  #context(now?: Date): AlertContext {
    return {
      secrets: [...this.#options.secrets, this.#options.webhookUrl],
      consoleUrl: this.#options.consoleUrl,
      ...(now ? { now } : {}),
    };
  }

  /** Claims the alert of `subject` in the ledger and, when it is due, posts and records it. */
  async #send(
    subject: AlertSubject,
    compose: (failedDs: readonly string[]) => AlertBody | undefined,
  ): Promise<void> {
    const { logger } = this.#options;
    const fields = { kind: subject.kind, pipeline: subject.pipeline, ds: subject.ds };
    const claimed = await this.#alerts.claim(subject, compose);
    if (!claimed) return;
    const delivery = await this.#webhook.post(claimed.body);
    await this.#alerts.finish(claimed.alertId, delivery);
    if (delivery.delivered) {
      logger.info("alert sent", { ...fields, alert_id: claimed.alertId, tries: delivery.tries });
    } else {
      logger.warn("alert not delivered; the run's outcome stands", {
        ...fields,
        alert_id: claimed.alertId,
        tries: delivery.tries,
        error: delivery.error,
      });
    }
  }

  /** Runs `work`, logging a failure (a lost ledger connection, say) instead of throwing it. */
  async #guard(fields: Record<string, string>, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.#options.logger.warn("could not alert; the run's outcome stands", {
        ...fields,
        error: errorMessage(error),
      });
    }
  }
}

/** `6h`, `90m`, `45s`, `500ms`: the largest unit that states `ms` exactly. */
function durationText(ms: number): string {
  const units = [["h", 3_600_000], ["m", 60_000], ["s", 1_000]] as const;
  for (const [unit, size] of units) if (ms % size === 0 && ms > 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}
