/**
 * The console's answers that are not a view of the ledger: not found, bad request, forbidden,
 * unavailable, an action started — one heading, one message, a way back.
 *
 * @module
 */
import { type PageFrame, renderPage } from "./console_layout.ts";
import { html } from "./html_template.ts";

/** A page that says one thing. */
export function renderMessage(
  message: { title: string; text: string; link?: { href: string; label: string } },
  frame: PageFrame,
): string {
  const link = message.link ?? { href: "/", label: "Back to the overview" };
  const body = html`
    <section>
      <p class="message" data-message>${message.text}</p>
      <p><a href="${link.href}">${link.label}</a></p>
    </section>
  `;
  return renderPage(message.title, body, frame);
}
