/**
 * Hiding secrets in text that leaves the process through a page, a JSON answer or the ledger:
 * the password of every URL (as {@linkcode redactUrl} hides it in the logs) and each secret the
 * configuration holds, wherever it appears.
 *
 * @example
 * ```ts
 * const mask = new SecretMask(configSecrets(config));
 * mask.redact("token=0123456789abcdef in postgres://app:pw@db/x"); // "token=*** in postgres://app:***@db/x"
 * ```
 *
 * @module
 */
import { redactUrl } from "./redact_url.ts";

/** A URL whose end was cut off: its password may be cut before the `@` that redactUrl needs. */
const CUT_URL = /[a-z][a-z0-9+.-]*:\/\/\S*$/i;

/** Replaces URL passwords and known secrets with `***`. */
export class SecretMask {
  readonly #secrets: readonly string[];

  /** `secrets`: the values to hide (empty ones are ignored). */
  constructor(secrets: readonly string[] = []) {
    // Longest first: a secret that contains another is hidden whole.
    this.#secrets = [...new Set(secrets)].filter((secret) => secret.length > 0)
      .sort((a, b) => b.length - a.length);
  }

  /** `text` with every URL password and every secret hidden. */
  redact(text: string): string {
    let result = redactUrl(text);
    for (const secret of this.#secrets) result = result.replaceAll(secret, "***");
    return result;
  }

  /**
   * `value` with {@linkcode redact} applied to every string in it, however deep (arrays and plain
   * objects are copied; dates and numbers kept).
   */
  redactAll<T>(value: T): T {
    if (typeof value === "string") return this.redact(value) as T;
    if (Array.isArray(value)) return value.map((item) => this.redactAll(item)) as T;
    if (value !== null && typeof value === "object" && !(value instanceof Date)) {
      return Object.fromEntries(
        Object.entries(value).map(([key, item]) => [key, this.redactAll(item)]),
      ) as T;
    }
    return value;
  }

  /**
   * {@linkcode redact} for text cut off at its end: a URL at the end is dropped (its password
   * may lack the `@` that marks it), and so is an end that begins a secret.
   */
  redactCut(text: string): string {
    let result = this.redact(text).replace(CUT_URL, "");
    for (const secret of this.#secrets) {
      for (let length = Math.min(secret.length - 1, result.length); length > 0; length--) {
        if (result.endsWith(secret.slice(0, length))) {
          result = result.slice(0, -length);
          break;
        }
      }
    }
    return result;
  }
}
