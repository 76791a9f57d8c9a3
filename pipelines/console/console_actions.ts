/**
 * The console's actions — run a pipeline again for a date, backfill a date range — and the guard
 * in front of them: a POST from a page of this very console (its `Origin`), carrying the
 * console's token, with fields that name a pipeline and real dates within the usual bounds.
 * Anything else is refused with the status and a message that names what is wrong, before
 * anything runs.
 *
 * @example
 * ```ts
 * const answer = await answerAction(request, { path, mode, token, scheduler, pipelines });
 * // 202: the scheduler started it — the same runner as `deno task run`, under the same lock
 * ```
 *
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { isCalendarDate, isWithin, logicalDateBounds } from "../../tasks/shared/dates.ts";
import { type PipelineName, type Pipelines, selectPipelines } from "../definitions.ts";

/** Run a pipeline again for a logical date. */
export interface RunAgainAction {
  readonly kind: "run";
  readonly pipeline: PipelineName;
  readonly ds: string;
}

/** Run the missing or failed dates of a range. */
export interface BackfillAction {
  readonly kind: "backfill";
  readonly pipelines: readonly PipelineName[];
  readonly from: string;
  readonly to: string;
}

/** An action the console may ask of the scheduler. */
export type ConsoleAction = RunAgainAction | BackfillAction;

/** The scheduler as the console sees it: whether its loop is alive, and a way to start work. */
export interface SchedulerHandle {
  /** Why the scheduler loop is not alive now, or undefined when it is. */
  problem(): string | undefined;
  /** Starts `action` in the background, tracked as the scheduler's own work. */
  start(action: ConsoleAction): void;
}

/** An action refused: the HTTP status and what is wrong. */
class ActionRefused extends Error {
  override name = "ActionRefused";

  constructor(readonly status: 400 | 403 | 413 | 415, message: string) {
    super(message);
  }
}

/** What an action's request came to: the status, and the message the console shows. */
export interface ActionAnswer {
  readonly status: 202 | 400 | 403 | 404 | 413 | 415 | 503;
  readonly title: string;
  readonly text: string;
}

/** Where an action's request arrived. */
export interface ActionContext {
  /** `/actions/run` or `/actions/backfill`. */
  readonly path: string;
  /** `deno task console` never acts. */
  readonly mode: "scheduler" | "console";
  /** `CONSOLE_TOKEN`; without it, the console is read-only. */
  readonly token: string | undefined;
  /** The scheduler of this process, once it is attached. */
  readonly scheduler: SchedulerHandle | undefined;
  readonly pipelines: Pipelines;
}

/**
 * Answers an action's POST: refused (403) by a read-only console, refused as
 * {@linkcode readAction} says, unavailable (503) while the scheduler loop does not run, else
 * started (202) by the scheduler.
 */
export async function answerAction(
  request: Request,
  context: ActionContext,
): Promise<ActionAnswer> {
  const kind = context.path === "/actions/run"
    ? "run"
    : context.path === "/actions/backfill"
    ? "backfill"
    : undefined;
  if (kind === undefined) {
    return { status: 404, title: "Not found", text: `There is no action ${context.path}.` };
  }
  if (context.mode === "console" || context.token === undefined) {
    const why = context.mode === "console"
      ? "deno task console is a read-only view of the ledger; actions run where the scheduler " +
        "runs (deno task start, with CONSOLE_TOKEN set)"
      : "this console is read-only: set CONSOLE_TOKEN to enable its actions";
    return { status: 403, title: "Forbidden", text: `Refused: ${why}.` };
  }
  let action: ConsoleAction;
  try {
    action = await readAction(request, {
      kind,
      token: context.token,
      pipelines: context.pipelines,
    });
  } catch (error) {
    if (!(error instanceof ActionRefused)) throw error;
    const title = error.status === 403 ? "Forbidden" : "Bad request";
    return { status: error.status, title, text: error.message };
  }
  const { scheduler } = context;
  const problem = scheduler === undefined ? "is still starting" : scheduler.problem();
  if (scheduler === undefined || problem !== undefined) {
    return {
      status: 503,
      title: "Unavailable",
      text: `Not started: the scheduler ${problem}; try again.`,
    };
  }
  scheduler.start(action);
  const what = action.kind === "run"
    ? `${action.pipeline} for ds ${action.ds}, as deno task run would`
    : `a backfill of ${action.pipelines.join(" and ")} from ${action.from} to ${action.to}, ` +
      "as deno task backfill would";
  return {
    status: 202,
    title: "Started",
    text: `Started ${what}, under the same lock as every run: if a run of the same pipeline ` +
      "and date is under way, it waits for it. It shows on the overview as it runs.",
  };
}

/** The most a form may weigh. */
const MAX_BODY_BYTES = 16 * 1024;

/** Options for {@linkcode readAction}. */
interface ReadActionOptions {
  readonly kind: ConsoleAction["kind"];
  /** `CONSOLE_TOKEN`. */
  readonly token: string;
  readonly pipelines: Pipelines;
  /** Today for the date bounds; default now. */
  readonly now?: Date;
}

/**
 * Reads and checks an action's POST: its Origin, its token (the form's `token` field, or an
 * `Authorization: Bearer` header), then its fields. Throws {@linkcode ActionRefused}.
 */
async function readAction(
  request: Request,
  options: ReadActionOptions,
): Promise<ConsoleAction> {
  const own = new URL(request.url).origin;
  const origin = request.headers.get("origin");
  if (origin !== own) {
    throw new ActionRefused(
      403,
      origin === null
        ? `Refused: the request has no Origin header; post from this console's pages (${own})`
        : `Refused: the request comes from ${origin}, not from this console (${own})`,
    );
  }
  const form = await readForm(request);
  const bearer = /^Bearer (.+)$/.exec(request.headers.get("authorization") ?? "")?.[1];
  const token = bearer ?? form.get("token") ?? "";
  if (!sameSecret(token, options.token)) {
    throw new ActionRefused(403, "Refused: the console token is missing or wrong");
  }
  const bounds = logicalDateBounds(options.now);
  const date = (field: string): string => {
    const value = form.get(field) ?? "";
    if (!isCalendarDate(value)) {
      throw new ActionRefused(400, `${field}: expected a date YYYY-MM-DD, got "${value}"`);
    }
    if (!isWithin(value, bounds)) {
      throw new ActionRefused(
        400,
        `${field}: expected a date from ${bounds.first} to ${bounds.last} (tomorrow, UTC), ` +
          `got ${value}`,
      );
    }
    return value;
  };
  const names = Object.keys(options.pipelines).join(", ");
  if (options.kind === "run") {
    const pipeline = form.get("pipeline") ?? "";
    if (!(pipeline in options.pipelines)) {
      throw new ActionRefused(400, `pipeline: expected one of ${names}, got "${pipeline}"`);
    }
    return { kind: "run", pipeline: pipeline as PipelineName, ds: date("ds") };
  }
  const pipelines = selectPipelines(form.get("pipeline") ?? "all");
  if (!pipelines) {
    throw new ActionRefused(
      400,
      `pipeline: expected all or one of ${names}, got "${form.get("pipeline")}"`,
    );
  }
  const from = date("from");
  const to = date("to");
  if (from > to) {
    throw new ActionRefused(400, `from: ${from} is after to ${to}; the range runs from to to`);
  }
  return { kind: "backfill", pipelines, from, to };
}

/** The form of a POST: URL-encoded, at most {@linkcode MAX_BODY_BYTES}. */
async function readForm(request: Request): Promise<URLSearchParams> {
  const type = request.headers.get("content-type")?.split(";")[0]?.trim().toLowerCase();
  if (type !== "application/x-www-form-urlencoded") {
    throw new ActionRefused(
      415,
      `Refused: expected a form (application/x-www-form-urlencoded), got ${type ?? "no body type"}`,
    );
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of request.body ?? ReadableStream.from<Uint8Array>([])) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      throw new ActionRefused(413, `Refused: the form is over ${MAX_BODY_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.length;
  }
  return new URLSearchParams(new TextDecoder().decode(body));
}

/** Compares two secrets in constant time (by their digests, which have equal lengths). */
function sameSecret(given: string, expected: string): boolean {
  const digest = (text: string) => createHash("sha256").update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
