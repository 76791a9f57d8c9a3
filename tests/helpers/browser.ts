/**
 * A headless Chromium for browser tests that needs nothing installed by hand: the system's
 * Chromium when there is one (`CHROMIUM_PATH`, default `/usr/bin/chromium`), otherwise the
 * Chromium that the pinned npm package `@sparticuz/chromium` carries (decompressed to the
 * temporary directory on first use). It never skips: when neither can start, it throws why.
 *
 * @example
 * ```ts
 * await using browser = await launchChromium();
 * const page = await browser.newPage();
 * ```
 *
 * @module
 */
import bundled from "@sparticuz/chromium";
import { type Browser, chromium, type Page } from "playwright-core";

/** Flags that keep Chromium off the network this machine does not have (see docs/development.md, Tests). */
const OFFLINE_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** A launched browser, closed by `await using`; `source` says which Chromium it is. */
export interface TestBrowser extends AsyncDisposable {
  readonly browser: Browser;
  readonly source: string;
  newPage: Browser["newPage"];
}

/** Launches the system Chromium if it is executable, else the bundled one. */
export async function launchChromium(): Promise<TestBrowser> {
  const systemPath = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";
  const reasons: string[] = [];
  if (await isExecutable(systemPath)) {
    try {
      return wrap(
        await chromium.launch({ executablePath: systemPath, args: OFFLINE_ARGS }),
        `system Chromium at ${systemPath}`,
      );
    } catch (error) {
      reasons.push(`${systemPath} did not start: ${String(error)}`);
    }
  } else {
    reasons.push(`no executable Chromium at ${systemPath}`);
  }
  try {
    const executablePath = await bundled.executablePath();
    const args = [...new Set([...bundled.args, ...OFFLINE_ARGS])];
    return wrap(
      await chromium.launch({ executablePath, args }),
      `@sparticuz/chromium at ${executablePath}`,
    );
  } catch (error) {
    reasons.push(`@sparticuz/chromium did not start: ${String(error)}`);
  }
  throw new Error(
    `no Chromium could start for the browser test (${reasons.join("; ")}). ` +
      "Run `deno task setup` (it installs @sparticuz/chromium), or install Chromium and set " +
      "CHROMIUM_PATH to it.",
  );
}

/** What a page asked for, and the errors it reported (console errors, uncaught ones), so far. */
export interface PageWatch {
  readonly requests: string[];
  readonly errors: string[];
}

/** Starts recording `page`'s requests and errors. */
export function watchPage(page: Page): PageWatch {
  const watch: PageWatch = { requests: [], errors: [] };
  page.on("request", (request) => watch.requests.push(request.url()));
  page.on("console", (message) => {
    if (message.type() === "error") watch.errors.push(message.text());
  });
  page.on("pageerror", (error) => watch.errors.push(error.message));
  return watch;
}

function wrap(browser: Browser, source: string): TestBrowser {
  return {
    browser,
    source,
    newPage: browser.newPage.bind(browser),
    [Symbol.asyncDispose]: () => browser.close(),
  };
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    const info = await Deno.stat(path);
    return info.isFile && info.mode !== null && (info.mode & 0o111) !== 0;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
