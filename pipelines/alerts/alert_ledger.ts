/**
 * The alerts in `meta.alerts`: which outcomes were told, so each is told once whatever process
 * looks at it. A claim takes a lock per pipeline, decides against the rows already there, and
 * writes its row before anything is posted; the post's outcome is written after. The rules:
 *
 * - a failure of (pipeline, ds) is told once per episode — until the pipeline's next recovery —
 *   unless that alert could not be delivered;
 * - a recovery is told by the first success of a pipeline with failures told since its last
 *   recovery (the episode), and ends it;
 * - a warning is told once per run; staleness once per pipeline and UTC day, unless undelivered.
 *
 * @example
 * ```ts
 * const ledger = new AlertLedger(warehouse.sql);
 * const claimed = await ledger.claim({ kind: "failure", pipeline, ds, runId }, () => body);
 * if (claimed) await ledger.finish(claimed.alertId, await webhook.post(claimed.body));
 * ```
 *
 * @module
 */
import { ulid } from "ulid";
import type { Sql, TransactionSql } from "../../tasks/warehouse/sql_client.ts";
import type { AlertBody, AlertKind } from "./alert_message.ts";
import type { WebhookDelivery } from "./alert_webhook.ts";

/** What an alert is about: the key its rule decides on. */
export interface AlertSubject {
  readonly kind: AlertKind;
  readonly pipeline: string;
  /** The run's ds; for `stale`, the UTC day the data was found stale. */
  readonly ds: string;
  readonly runId?: string;
}

/** A claimed alert, to be posted. */
export interface ClaimedAlert {
  readonly alertId: string;
  readonly body: AlertBody;
}

/** Reads and writes `meta.alerts`. */
export class AlertLedger {
  readonly #sql: Sql;

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  /**
   * Claims the alert of `subject` unless its rule says it was told already; `compose` makes its
   * body from the dates whose failures the pipeline's open episode holds (a recovery's need), or
   * returns undefined when there is nothing to tell. Resolves with the claimed alert, or
   * undefined.
   */
  async claim(
    subject: AlertSubject,
    compose: (episode: readonly string[]) => AlertBody | undefined,
  ): Promise<ClaimedAlert | undefined> {
    return await this.#sql.begin(async (tx) => {
      await tx`
        select pg_advisory_xact_lock(hashtext('randomuser-elt:alerts'), hashtext(${subject.pipeline}))`;
      const episode = await tx<{ ds: string; state: string }[]>`
        select ds::text as ds, state from meta.alerts
        where pipeline = ${subject.pipeline} and kind = 'failure'
          and created_at > coalesce((
            select max(created_at) from meta.alerts
            where pipeline = ${subject.pipeline} and kind = 'recovery'
          ), '-infinity')
        order by created_at`;
      if (await told(tx, subject, episode)) return undefined;
      const body = compose(episode.map((failure) => failure.ds));
      if (body === undefined) return undefined;
      const alertId = ulid();
      await tx`
        insert into meta.alerts (alert_id, kind, pipeline, ds, run_id, body)
        values (${alertId}, ${subject.kind}, ${subject.pipeline}, ${subject.ds}::date,
                ${subject.runId ?? null}, ${tx.json(body as never)})`;
      return { alertId, body };
    });
  }

  /** Records how the post of a claimed alert ended. */
  async finish(alertId: string, delivery: WebhookDelivery): Promise<void> {
    await this.#sql`
      update meta.alerts
      set state = ${delivery.delivered ? "sent" : "failed"}, tries = ${delivery.tries},
          error = ${delivery.error ?? null}, finished_at = now()
      where alert_id = ${alertId}`;
  }
}

/** Whether the rule of `subject`'s kind says it was told already. */
async function told(
  sql: TransactionSql,
  subject: AlertSubject,
  episode: readonly { ds: string; state: string }[],
): Promise<boolean> {
  switch (subject.kind) {
    case "failure":
      return episode.some((failure) => failure.ds === subject.ds && failure.state !== "failed");
    case "recovery":
      return episode.length === 0;
    case "warning": {
      const [row] = await sql`
        select exists (
          select 1 from meta.alerts where kind = 'warning' and run_id = ${subject.runId ?? null}
        ) as told`;
      return row?.told === true;
    }
    case "stale": {
      const [row] = await sql`
        select exists (
          select 1 from meta.alerts
          where kind = 'stale' and pipeline = ${subject.pipeline} and ds = ${subject.ds}::date
            and state <> 'failed'
        ) as told`;
      return row?.told === true;
    }
  }
}
