/**
 * HTML that is safe by construction: the {@linkcode html} tag escapes every value put into its
 * template, unless the value is itself {@linkcode Html} made by the tag. No page of the console
 * concatenates markup with text by hand.
 *
 * @example
 * ```ts
 * const cell = html`<td title="${error}">${rows}</td>`; // error and rows escaped
 * const page = html`<table>${cells}</table>`; // cells: Html[], kept as markup
 * ```
 *
 * @module
 */
import { escapeHtml } from "../../tasks/shared/escape_html.ts";

/** Markup made by {@linkcode html}: trusted to be put into another template as it is. */
export class Html {
  readonly #text: string;

  constructor(text: string) {
    this.#text = text;
  }

  toString(): string {
    return this.#text;
  }
}

/** What a template may hold: text (escaped), numbers, markup, lists of them; nothing shows as "". */
export type HtmlValue = Html | string | number | null | undefined | false | readonly HtmlValue[];

/** A template whose values are escaped; see the module documentation. */
export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): Html {
  let text = strings[0] ?? "";
  values.forEach((value, index) => {
    text += render(value) + (strings[index + 1] ?? "");
  });
  return new Html(text);
}

function render(value: HtmlValue): string {
  if (value instanceof Html) return value.toString();
  if (Array.isArray(value)) return value.map(render).join("");
  if (value === null || value === undefined || value === false) return "";
  return escapeHtml(String(value));
}
