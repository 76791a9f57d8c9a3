/**
 * Hiding credentials in text that may be printed: every message, log line and ledger row passes
 * through {@linkcode redactUrl} so a connection password never leaves the process.
 *
 * @module
 */

/**
 * Hides the password of every URL in `text` (`postgres://app:***@host/db`) so it can be printed.
 * The password runs to the last `@` before the host, so `@`, `:` and spaces inside it are hidden
 * too (over-redacting free text after a URL is the safe side).
 */
export function redactUrl(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)[^/?#]*@/gi, "$1***@");
}
