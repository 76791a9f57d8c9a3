/**
 * The operations console's HTTP server: server-rendered pages of the ledger (overview, a run,
 * data), the HTML report, `/api/runs` (what `deno task status --json` prints), `/healthz`,
 * `/metrics`, and the guarded actions. Every answer carries a Content-Security-Policy that allows
 * no script and nothing from elsewhere; a GET changes nothing.
 *
 * It binds at once — a port in use is a usage error naming `CONSOLE_PORT` — and answers 503
 * until {@linkcode ConsoleServer.attach} gives it the warehouse (the scheduler opens it after).
 *
 * @example
 * ```ts
 * await using server = ConsoleServer.listen({ host: "127.0.0.1", port: 8080, ... });
 * console.log(`console: ${server.url}`);
 * server.attach({ sql });
 * ```
 *
 * @module
 */
import { resolve } from "node:path";
import { errorMessage, ignoreNotFound, UsageError } from "../../tasks/shared/errors.ts";
import type { Logger } from "../../tasks/shared/logger.ts";
import type { SecretMask } from "../../tasks/shared/secret_mask.ts";
import { connect, type Sql } from "../../tasks/warehouse/sql_client.ts";
import type { Pipelines } from "../definitions.ts";
import { RunLedger } from "../ledger.ts";
import { answerAction, type SchedulerHandle } from "./console_actions.ts";
import type { ConsoleMode, PageFrame } from "./console_layout.ts";
import { checkHealth } from "./console_health.ts";
import { renderDataPage } from "./data_page.ts";
import { ledgerMetrics } from "./ledger_metrics.ts";
import { LedgerView } from "./ledger_view.ts";
import { renderMessage } from "./message_page.ts";
import { renderOverview } from "./overview_page.ts";
import { PROMETHEUS_CONTENT_TYPE, prometheusText } from "./prometheus_text.ts";
import { renderRunPage } from "./run_page.ts";

/** Options for {@linkcode ConsoleServer.listen}. */
export interface ConsoleServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly mode: ConsoleMode;
  readonly pipelines: Pipelines;
  /** Where the report (`report/index.html`) and the landing manifests are. */
  readonly dataDir: string;
  /** Hides secrets in everything the console answers. */
  readonly mask: SecretMask;
  /** `CONSOLE_TOKEN`: with a scheduler attached, it enables the actions. */
  readonly token: string | undefined;
  readonly logger: Logger;
}

/** What the console reads and drives, given once the warehouse is open. */
export interface ConsoleBackend {
  /** The warehouse (password included): the console opens a small pool of its own there. */
  readonly warehouseUrl: string;
  /** The scheduler of this process (`deno task start`); none for `deno task console`. */
  readonly scheduler?: SchedulerHandle;
}

/** Connections of the console's own pool: pages never wait for the runner's connections. */
const POOL_SIZE = 3;

const STYLESHEET = await Deno.readTextFile(new URL("./console.css", import.meta.url));
/** No script, no frame, nothing from elsewhere: styles and forms of the console itself. */
const PAGE_POLICY = "default-src 'none'; style-src 'self'; img-src 'self' data:; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
/** The report styles itself inline (one self-contained file); it runs no script either. */
const REPORT_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; " +
  "form-action 'none'; frame-ancestors 'none'; base-uri 'none'";
const RUN_ID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const MAX_API_RUNS = 1_000;

/** The console; see the module documentation. */
export class ConsoleServer implements AsyncDisposable {
  readonly #options: ConsoleServerOptions;
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  #backend:
    | { sql: Sql; view: LedgerView; ledger: RunLedger; scheduler: SchedulerHandle | undefined }
    | undefined;

  private constructor(
    options: ConsoleServerOptions,
    bind: (handler: Deno.ServeHandler) => Deno.HttpServer<Deno.NetAddr>,
  ) {
    this.#options = options;
    this.#server = bind((request) => this.#handle(request));
  }

  /**
   * Listens on `options.host:options.port`. Throws a {@linkcode UsageError} naming
   * `CONSOLE_PORT` or `CONSOLE_HOST` when it cannot.
   */
  static listen(options: ConsoleServerOptions): ConsoleServer {
    return new ConsoleServer(options, (handler) => {
      try {
        return Deno.serve({
          hostname: options.host,
          port: options.port,
          onListen: () => {},
          onError: (error) => {
            options.logger.error("console request failed", { error: errorMessage(error) });
            return new Response("internal error", { status: 500 });
          },
        }, handler);
      } catch (error) {
        throw bindError(error, options);
      }
    });
  }

  /** `http://host:port/`, the port the system gave when asked for 0. */
  get url(): string {
    const { hostname, port } = this.#server.addr;
    return `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}/`;
  }

  /** Starts answering from the warehouse (until now every request got 503). */
  attach(backend: ConsoleBackend): void {
    if (this.#backend) throw new Error("the console is attached already");
    const sql = connect(backend.warehouseUrl, { max: POOL_SIZE });
    this.#backend = {
      sql,
      view: new LedgerView(sql, { mask: this.#options.mask, dataDir: this.#options.dataDir }),
      ledger: new RunLedger(sql),
      scheduler: backend.scheduler,
    };
  }

  /** Stops listening (requests in flight finish first), then closes the pool. */
  async close(): Promise<void> {
    await this.#server.shutdown();
    await this.#backend?.sql.end({ timeout: 5 });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #handle(request: Request): Promise<Response> {
    const started = performance.now();
    let response: Response;
    try {
      response = await this.#route(request);
    } catch (error) {
      this.#options.logger.error("console request failed", {
        path: new URL(request.url).pathname,
        error: errorMessage(error),
      });
      response = this.#page(
        503,
        await this.#message(
          "Unavailable",
          `The console could not read the ledger: ${
            this.#options.mask.redact(errorMessage(error))
          }`,
        ),
      );
    }
    response.headers.set("server-timing", `app;dur=${(performance.now() - started).toFixed(2)}`);
    if (request.method === "HEAD") return new Response(null, response);
    return response;
  }

  async #route(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const path = url.pathname;
    const get = request.method === "GET" || request.method === "HEAD";
    if (path.startsWith("/actions/")) {
      if (request.method !== "POST") return this.#notAllowed("POST");
      return await this.#action(request, path);
    }
    if (!get) return this.#notAllowed("GET, HEAD");
    if (path === "/console.css") {
      return respond(200, STYLESHEET, { "content-type": "text/css; charset=utf-8" });
    }
    const attached = this.#backend;
    if (!attached) {
      const starting = "starting: the warehouse is being opened";
      if (path === "/healthz") return json(503, { status: "unavailable", reason: starting });
      return this.#page(503, await this.#message("Starting", `The console is ${starting}.`));
    }
    const { sql, view, ledger, scheduler } = attached;
    const actions = this.#actionsEnabled();
    if (path === "/") {
      const overview = await view.overview();
      return this.#page(
        200,
        renderOverview(overview, {
          ...await this.#frame(),
          pipelines: this.#options.pipelines,
          actions,
        }),
      );
    }
    const runMatch = /^\/runs\/([^/]+)$/.exec(path);
    if (runMatch) {
      const runId = decodedSegment(runMatch[1]!);
      const detail = RUN_ID.test(runId) ? await view.run(runId) : undefined;
      if (!detail) {
        return this.#page(
          404,
          await this.#message("Not found", `There is no run ${runId} in the ledger.`),
        );
      }
      return this.#page(200, renderRunPage(detail, { ...await this.#frame(), actions }));
    }
    if (path === "/data") {
      return this.#page(200, renderDataPage(await view.data(), await this.#frame()));
    }
    if (path === "/report") return await this.#report();
    if (path === "/api/runs") {
      const limit = url.searchParams.get("limit");
      if (
        limit !== null &&
        !(/^\d{1,4}$/.test(limit) && Number(limit) >= 1 && Number(limit) <= MAX_API_RUNS)
      ) {
        return json(400, {
          error: `limit: expected a whole number from 1 to ${MAX_API_RUNS}, got ${
            JSON.stringify(limit)
          }`,
        });
      }
      const runs = await ledger.recentRuns(limit === null ? 20 : Number(limit));
      return json(200, this.#options.mask.redactAll(runs));
    }
    if (path === "/healthz") {
      const health = await checkHealth(sql, {
        scheduler,
        mask: this.#options.mask,
      });
      return json(health.status, health.body);
    }
    if (path === "/metrics") {
      const families = await ledgerMetrics(sql, {
        pipelines: this.#options.pipelines,
        schedulerUp: scheduler !== undefined && scheduler.problem() === undefined,
      });
      return respond(200, prometheusText(families), { "content-type": PROMETHEUS_CONTENT_TYPE });
    }
    return this.#page(404, await this.#message("Not found", `There is no page ${path} here.`));
  }

  /** Whether actions are offered: a token is set and a scheduler runs in this process. */
  #actionsEnabled(): boolean {
    return this.#options.token !== undefined && this.#backend?.scheduler !== undefined;
  }

  async #action(request: Request, path: string): Promise<Response> {
    const answer = await answerAction(request, {
      path,
      mode: this.#options.mode,
      token: this.#options.token,
      scheduler: this.#backend?.scheduler,
      pipelines: this.#options.pipelines,
    });
    if (answer.status === 202) {
      this.#options.logger.info("console action started", { path, what: answer.text });
    }
    return this.#page(answer.status, await this.#message(answer.title, answer.text));
  }

  async #report(): Promise<Response> {
    const file = resolve(this.#options.dataDir, "report", "index.html");
    try {
      return respond(
        200,
        await Deno.readFile(file),
        { "content-type": "text/html; charset=utf-8" },
        REPORT_POLICY,
      );
    } catch (error) {
      ignoreNotFound(error);
      return this.#page(
        404,
        await this.#message(
          "Not found",
          "No report has been written yet: deno task report writes it.",
        ),
      );
    }
  }

  async #frame(): Promise<PageFrame> {
    const report = await Deno.stat(resolve(this.#options.dataDir, "report", "index.html")).then(
      (info) => info.isFile,
      () => false,
    );
    return { report, mode: this.#options.mode, now: new Date() };
  }

  async #message(title: string, text: string): Promise<string> {
    return renderMessage({ title, text }, await this.#frame());
  }

  #page(status: number, body: string): Response {
    return respond(status, body, { "content-type": "text/html; charset=utf-8" });
  }

  #notAllowed(allow: string): Response {
    return respond(405, `method not allowed; allowed: ${allow}\n`, {
      "content-type": "text/plain; charset=utf-8",
      allow,
    });
  }
}

/** A path segment decoded, or as it came when it is not valid percent-encoding. */
function decodedSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** A response with the console's security headers. */
function respond(
  status: number,
  body: string | Uint8Array<ArrayBuffer>,
  headers: Record<string, string>,
  policy: string = PAGE_POLICY,
): Response {
  return new Response(body, {
    status,
    headers: {
      ...headers,
      "content-security-policy": policy,
      "x-content-type-options": "nosniff",
      "x-frame-options": "DENY",
      // Same-origin requests keep their Origin (actions check it); others get nothing.
      "referrer-policy": "same-origin",
      "cache-control": "no-store",
    },
  });
}

function json(status: number, value: unknown): Response {
  return respond(status, JSON.stringify(value, null, 2) + "\n", {
    "content-type": "application/json; charset=utf-8",
  });
}

/** Why the console cannot listen, as a usage error naming the variable to change. */
function bindError(error: unknown, options: ConsoleServerOptions): Error {
  const where = `${options.host}:${options.port}`;
  if (error instanceof Deno.errors.AddrInUse) {
    return new UsageError(
      `CONSOLE_PORT ${options.port} is in use on ${options.host}: another program listens on ` +
        `${where}. Set CONSOLE_PORT to a free port (0 picks one), or to off for no console`,
      { cause: error },
    );
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return new UsageError(
      `CONSOLE_PORT ${options.port}: not allowed to listen on ${where} (ports below 1024 need ` +
        "privileges). Set CONSOLE_PORT to 1024 or above",
      { cause: error },
    );
  }
  return new UsageError(
    `CONSOLE_HOST ${options.host}: cannot listen on ${where}: ${errorMessage(error)}. Set ` +
      "CONSOLE_HOST to an address of this machine (127.0.0.1, 0.0.0.0, ::1)",
    { cause: error },
  );
}
