/**
 * Posting one alert to an incoming webhook (Slack, Mattermost, anything that takes JSON): each
 * try within 10 s, at most 3 tries with a doubling backoff, and the outcome returned, never
 * thrown — a receiver that is down, slow or failing cannot hurt the run that alerts. The
 * webhook URL is a secret: no error this module returns contains it.
 *
 * @example
 * ```ts
 * const webhook = new AlertWebhook("https://hooks.slack.com/services/T0/B0/XXXX");
 * const delivery = await webhook.post({ text: "extract_load failed for ds 2026-01-02" });
 * if (!delivery.delivered) console.warn(delivery.error);
 * ```
 *
 * @module
 */
import { errorMessage } from "../../tasks/shared/errors.ts";
import { redactUrl } from "../../tasks/shared/redact_url.ts";
import { sleep } from "../../tasks/shared/sleep.ts";

/** Options for {@linkcode AlertWebhook}. */
export interface AlertWebhookOptions {
  /** Time limit of one try, response included; default 10 s. */
  timeoutMs?: number;
  /** Tries in all; default 3. */
  tries?: number;
  /** Wait before the second try, doubled before each next one; default 1 s. */
  backoffMs?: number;
}

/** How a post ended. */
export interface WebhookDelivery {
  readonly delivered: boolean;
  /** Tries made, 1 to `tries`. */
  readonly tries: number;
  /** Why the last try failed, without the webhook URL; undefined when delivered. */
  readonly error?: string;
}

/** Posts alerts to one webhook URL; see the module documentation. */
export class AlertWebhook {
  readonly #url: string;
  readonly #timeoutMs: number;
  readonly #tries: number;
  readonly #backoffMs: number;

  constructor(url: string, options: AlertWebhookOptions = {}) {
    this.#url = url;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#tries = options.tries ?? 3;
    this.#backoffMs = options.backoffMs ?? 1_000;
  }

  /** Posts `body` as JSON; a 2xx answer delivers it. */
  async post(body: unknown): Promise<WebhookDelivery> {
    const payload = JSON.stringify(body);
    let error = "";
    for (let tryNumber = 1;; tryNumber++) {
      const attempt = await this.#try(payload);
      if (attempt.delivered) return { delivered: true, tries: tryNumber };
      error = attempt.error;
      if (!attempt.retry || tryNumber >= this.#tries) {
        return { delivered: false, tries: tryNumber, error };
      }
      await sleep(this.#backoffMs * 2 ** (tryNumber - 1));
    }
  }

  async #try(
    payload: string,
  ): Promise<{ delivered: true } | { delivered: false; retry: boolean; error: string }> {
    const signal = AbortSignal.timeout(this.#timeoutMs);
    try {
      const response = await fetch(this.#url, {
        method: "POST",
        headers: { "content-type": "application/json", "user-agent": "randomuser-elt" },
        body: payload,
        signal,
        redirect: "error",
      });
      const answer = (await response.text()).slice(0, 200).replace(/\s+/g, " ").trim();
      if (response.ok) return { delivered: true };
      return {
        delivered: false,
        // A wrong URL or a refused body (4xx) stays wrong; a busy or broken receiver may heal.
        retry: response.status === 429 || response.status >= 500,
        error: this.#hidden(
          `the webhook answered ${response.status} ${response.statusText}` +
            (answer ? `: ${answer}` : ""),
        ),
      };
    } catch (error) {
      const timedOut = signal.aborted;
      return {
        delivered: false,
        retry: true,
        error: timedOut
          ? `the webhook did not answer within ${this.#timeoutMs / 1000} s`
          : this.#hidden(`the webhook could not be reached: ${errorMessage(error)}`),
      };
    }
  }

  /** `text` without the webhook URL (fetch's errors name it) or any other URL's password. */
  #hidden(text: string): string {
    const url = new URL(this.#url);
    // As given, as fetch normalises it, and its path alone (where Slack's key is).
    const forms = [this.#url, url.href, url.pathname + url.search].filter((form) =>
      form.length > 1
    );
    return redactUrl(
      forms.reduce((hidden, form) => hidden.replaceAll(form, "<ALERT_WEBHOOK_URL>"), text),
    );
  }
}
