/**
 * Fault plan for the project's stand-in for randomuser.me: tests queue failures (status codes,
 * delays, truncated or malformed bodies, bad data) that the fake server serves, never by chance.
 */

import { z } from "zod";
import type { RandomUserPage } from "./user_generator.ts";

/** Replaces (or adds) fields of the record at `index` in the page; dotted paths reach nested fields. */
export interface FieldPatch {
  index: number;
  /** Dotted path → new value; a value of `undefined` deletes the field. */
  set: Readonly<Record<string, unknown>>;
}

/** One failure the fake server can serve, told apart by `kind`. */
export type Fault =
  /** That status with a JSON error body, and `Retry-After` (seconds or an HTTP date) when given. */
  | { kind: "status"; status: 429 | 500 | 502 | 503; retryAfter?: number | string }
  /** Waits `ms`, then answers normally; gives up when the client or the server goes away. */
  | { kind: "delay"; ms: number }
  /** 200 whose `Content-Length` promises the whole body, but only half is sent before the connection drops. */
  | { kind: "truncate" }
  /** 200 `application/json` whose body is not JSON. */
  | { kind: "malformed" }
  /**
   * The page compressed (`Content-Encoding: gzip` or `br`), with a `Content-Length` of the
   * compressed bytes when `contentLength` (default true), else chunked; `padding` spaces after
   * the JSON (still valid JSON) make a page that inflates to any size.
   */
  | { kind: "compressed"; encoding: "gzip" | "br"; contentLength?: boolean; padding?: number }
  /** 200 JSON whose first `records` (default 1) users carry wrongly typed fields. */
  | { kind: "wrong_types"; records?: number }
  /** 200 JSON with the named records modified. */
  | { kind: "patch"; patches: readonly FieldPatch[] }
  /** 200 JSON with `results: []`. */
  | { kind: "empty" };

/** The `kind` of a fault. */
export type FaultKind = Fault["kind"];

/**
 * When to serve a fault: on `page` (any page when absent) of `seed` (any seed when absent: a
 * seed is a logical date's, so runs of other dates at the same time go unharmed), `times` times
 * (default 1; Infinity = always).
 */
export interface FaultRule {
  page?: number;
  seed?: string;
  times?: number;
  fault: Fault;
}

interface PendingRule {
  readonly page: number | undefined;
  readonly seed: string | undefined;
  remaining: number;
  readonly fault: Fault;
}

/** The queue of faults a fake server consults on every `/api/` request. */
export class FaultPlan {
  #rules: PendingRule[] = [];

  /** Queues a rule; throws when `times` or `page` is not a positive integer. */
  add(rule: FaultRule): void {
    const times = rule.times ?? 1;
    if (times !== Infinity && (!Number.isInteger(times) || times < 1)) {
      throw new RangeError(
        `fault rule times must be a positive integer or Infinity, got ${times}; ` +
          "omit it to fail once",
      );
    }
    if (rule.page !== undefined && (!Number.isInteger(rule.page) || rule.page < 1)) {
      throw new RangeError(
        `fault rule page must be a positive integer, got ${rule.page}; omit it to match any page`,
      );
    }
    this.#rules.push({ page: rule.page, seed: rule.seed, remaining: times, fault: rule.fault });
  }

  /** Drops every queued rule. */
  clear(): void {
    this.#rules = [];
  }

  /** The fault for a request of `page` (of `seed`): the first matching rule with uses left, which spends one. */
  take(page: number, seed?: string): Fault | undefined {
    const index = this.#rules.findIndex((rule) =>
      (rule.page === undefined || rule.page === page) &&
      (rule.seed === undefined || rule.seed === seed)
    );
    const rule = this.#rules[index];
    if (rule === undefined) return undefined;
    rule.remaining--;
    if (rule.remaining <= 0) this.#rules.splice(index, 1);
    return rule.fault;
  }

  /** The rules still queued, in order, with the uses they have left. */
  get pending(): readonly FaultRule[] {
    return this.#rules.map((rule) => ({
      ...(rule.page === undefined ? {} : { page: rule.page }),
      ...(rule.seed === undefined ? {} : { seed: rule.seed }),
      times: rule.remaining,
      fault: rule.fault,
    }));
  }
}

const patchSchema = z.object({
  index: z.number().int().nonnegative(),
  set: z.record(z.string(), z.unknown()).optional(),
  /** Over HTTP `undefined` cannot be written, so paths to delete are listed here. */
  unset: z.array(z.string()).optional(),
});

const faultSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("status"),
    status: z.literal([429, 500, 502, 503], { error: "status must be 429, 500, 502 or 503" }),
    retryAfter: z.union([z.number().nonnegative(), z.string()]).optional(),
  }),
  z.object({ kind: z.literal("delay"), ms: z.number().nonnegative() }),
  z.object({ kind: z.literal("truncate") }),
  z.object({ kind: z.literal("malformed") }),
  z.object({
    kind: z.literal("compressed"),
    encoding: z.enum(["gzip", "br"]),
    contentLength: z.boolean().optional(),
    padding: z.number().int().nonnegative().optional(),
  }),
  z.object({ kind: z.literal("wrong_types"), records: z.number().int().positive().optional() }),
  z.object({ kind: z.literal("patch"), patches: z.array(patchSchema) }),
  z.object({ kind: z.literal("empty") }),
]);

const ruleSchema = z.object({
  page: z.number().int().positive().optional(),
  seed: z.string().min(1).optional(),
  times: z.union([z.number().int().positive(), z.literal("always")]).optional(),
  fault: faultSchema,
});

/**
 * Reads fault rules sent as JSON to `POST /_fake/faults`: one rule or an array of them, with
 * `"times": "always"` for Infinity and `"unset": ["path"]` in a patch to delete fields.
 * Throws an Error naming the offending field when the body does not fit.
 */
export function parseFaultRules(body: unknown): FaultRule[] {
  const parsed = Array.isArray(body)
    ? z.array(ruleSchema).safeParse(body)
    : ruleSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? "body" : issue.path.join(".");
    throw new Error(
      `fault rule rejected at ${where}: ${issue?.message ?? "invalid"}; send ` +
        '{"page"?: n, "seed"?: s, "times"?: n | "always", "fault": {"kind": ...}} or an ' +
        "array of those",
    );
  }
  const rules = Array.isArray(parsed.data) ? parsed.data : [parsed.data];
  return rules.map((rule): FaultRule => {
    const times = rule.times === "always" ? Infinity : rule.times;
    return {
      ...(rule.page === undefined ? {} : { page: rule.page }),
      ...(rule.seed === undefined ? {} : { seed: rule.seed }),
      ...(times === undefined ? {} : { times }),
      fault: toFault(rule.fault),
    };
  });
}

function toFault(fault: z.infer<typeof faultSchema>): Fault {
  switch (fault.kind) {
    case "status":
      return fault.retryAfter === undefined
        ? { kind: "status", status: fault.status }
        : { kind: "status", status: fault.status, retryAfter: fault.retryAfter };
    case "delay":
      return { kind: "delay", ms: fault.ms };
    case "compressed":
      return {
        kind: "compressed",
        encoding: fault.encoding,
        ...(fault.contentLength === undefined ? {} : { contentLength: fault.contentLength }),
        ...(fault.padding === undefined ? {} : { padding: fault.padding }),
      };
    case "wrong_types":
      return fault.records === undefined
        ? { kind: "wrong_types" }
        : { kind: "wrong_types", records: fault.records };
    case "patch":
      return {
        kind: "patch",
        patches: fault.patches.map((patch) => {
          const set: Record<string, unknown> = { ...patch.set };
          for (const path of patch.unset ?? []) set[path] = undefined;
          return { index: patch.index, set };
        }),
      };
    default:
      return { kind: fault.kind };
  }
}

/** A fault that changes the page's data rather than how it is sent. */
export type DataFault = Extract<Fault, { kind: "wrong_types" | "patch" | "empty" }>;

/** Applies a data fault to a freshly generated page, in place, and returns it as plain JSON data. */
export function applyDataFault(page: RandomUserPage, fault: DataFault): unknown {
  const data = page as unknown as { results: Record<string, unknown>[]; info: unknown };
  switch (fault.kind) {
    case "empty":
      data.results = [];
      break;
    case "wrong_types":
      for (const record of data.results.slice(0, fault.records ?? 1)) {
        setPath(record, "dob.age", "thirty");
        setPath(record, "location.street.number", "12a");
        setPath(record, "location.coordinates.latitude", 12.5);
      }
      break;
    case "patch":
      for (const patch of fault.patches) {
        const record = data.results[patch.index];
        if (record === undefined) continue;
        for (const [path, value] of Object.entries(patch.set)) setPath(record, path, value);
      }
      break;
  }
  return data;
}

/** Sets (or with `undefined`, deletes) a dotted path, creating intermediate objects as needed. */
function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split(".");
  const last = keys.pop() ?? path;
  let node = target;
  for (const key of keys) {
    const next = node[key];
    if (typeof next === "object" && next !== null && !Array.isArray(next)) {
      node = next as Record<string, unknown>;
    } else {
      if (value === undefined) return;
      const created: Record<string, unknown> = {};
      node[key] = created;
      node = created;
    }
  }
  if (value === undefined) delete node[last];
  else node[last] = value;
}
