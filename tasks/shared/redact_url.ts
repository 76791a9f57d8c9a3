/**
 * Hiding credentials in text that may be printed: every message, log line and ledger row passes
 * through {@linkcode redactUrl} so a connection password never leaves the process.
 *
 * @module
 */
import { CREDENTIAL_PARAMS } from "./connection_url.ts";

/**
 * Hides the password of every URL in `text` (`postgres://app:***@host/db`) and the value of every
 * credential parameter in a query string (`?password=***`, `sslpassword`, `passfile`, …) so it
 * can be printed. The password runs to the last `@` before the host, so `@`, `:` and spaces
 * inside it are hidden too (over-redacting free text after a URL is the safe side).
 */
export function redactUrl(text: string): string {
  return text
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)[^/?#]*@/gi, "$1***@")
    .replace(CREDENTIAL_QUERY, "$1***");
}

/**
 * `password=`, `sslpassword=`, `passfile=`, … after `?` or `&`, to the next parameter or space (a
 * colon that ends the URL in a message, `…?password=x: refused`, is left).
 */
const CREDENTIAL_QUERY = new RegExp(
  `([?&](?:${CREDENTIAL_PARAMS.join("|")})=)(?:[^&#\\s:]|:(?![\\s]|$))*`,
  "gi",
);
