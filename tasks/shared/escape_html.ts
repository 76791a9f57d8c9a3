/**
 * Escaping text for HTML: every value a page shows (from the warehouse, the API, a log) goes
 * through {@linkcode escapeHtml}, so a value is always text, never markup.
 *
 * @module
 */

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * Escapes text for HTML content and quoted attributes.
 *
 * @example
 * ```ts
 * escapeHtml(`"><img onerror=x>`); // "&quot;&gt;&lt;img onerror=x&gt;"
 * ```
 */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char] ?? char);
}
