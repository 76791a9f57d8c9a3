/**
 * dbt source freshness of `raw.users`: how long ago its newest row was loaded (`_loaded_at`), held
 * against `warn_after` and `error_after` (`FRESHNESS_WARN_AFTER`, `FRESHNESS_ERROR_AFTER`, which
 * the source's YAML reads from the environment). Each check is recorded in `meta.source_freshness`; a `warn`
 * becomes the task's warning and an `error` a terminal failure (loading again, not retrying the
 * check, is what makes the data fresh).
 *
 * @example
 * ```ts
 * const check = await checkSourceFreshness(warehouse, { dbt, ds, outDir, warnAfterMinutes: 1560,
 *   errorAfterMinutes: 3000 });
 * const verdict = freshnessVerdict(check);
 * if (verdict.error) throw verdict.error;
 * ```
 *
 * @module
 */
import { resolve } from "node:path";
import { ulid } from "ulid";
import { ignoreNotFound, TerminalError, TransientError } from "../shared/errors.ts";
import type { Logger } from "../shared/logger.ts";
import { withAdvisoryLock } from "../warehouse/advisory_lock.ts";
import type { Sql } from "../warehouse/sql_client.ts";
import {
  dbtFailureIsTransient,
  type DbtRunSummary,
  type DbtSettings,
  runDbt,
} from "./dbt_runner.ts";

/** The dbt source checked, and the table it is. */
const SOURCE = { select: "source:randomuser.users", uniqueIdEnd: ".randomuser.users" } as const;
const TABLE = "raw.users";
const FRESHNESS_LOCK = "randomuser-elt:dbt-source-freshness";

/** Options for {@linkcode checkSourceFreshness}. */
export interface SourceFreshnessOptions {
  dbt: DbtSettings;
  /** The logical date of the run that checks, recorded with the check. */
  ds: string;
  /** dbt's directories: the check's target and logs go to `<outDir>/freshness/`. */
  outDir: string;
  warnAfterMinutes: number;
  errorAfterMinutes: number;
  logger?: Logger;
}

/** What dbt found, when it could check. */
export interface FreshnessResult {
  readonly status: "pass" | "warn" | "error" | "runtime error";
  /** The newest `_loaded_at`; null when the table has no row. */
  readonly maxLoadedAt: Date | null;
  readonly ageSeconds: number | null;
}

/** A check: dbt's run, and its result when dbt got one. */
export interface FreshnessCheck {
  readonly summary: DbtRunSummary;
  readonly result: FreshnessResult | undefined;
  readonly warnAfterMinutes: number;
  readonly errorAfterMinutes: number;
}

/** Runs `dbt source freshness` on raw.users and records what it found. */
export async function checkSourceFreshness(
  warehouse: { sql: Sql; url: string },
  options: SourceFreshnessOptions,
): Promise<FreshnessCheck> {
  // A target directory of its own, so a check never waits for a build (they share nothing but the
  // project), nor a build for it; and no --vars, so its partial parse holds from one check to the
  // next (a var that changes makes dbt parse the whole project again).
  const outDir = resolve(options.outDir, "freshness");
  const sourcesJson = resolve(outDir, "target", "sources.json");
  // The result is read under the lock too: the next check removes it as it starts.
  const { summary, result } = await withAdvisoryLock(warehouse.sql, async () => {
    await Deno.remove(sourcesJson).catch(ignoreNotFound);
    const summary = await runDbt(options.dbt, {
      warehouseUrl: warehouse.url,
      args: ["source", "freshness", "--select", SOURCE.select],
      env: {
        DBT_FRESHNESS_WARN_AFTER_MINUTES: String(options.warnAfterMinutes),
        DBT_FRESHNESS_ERROR_AFTER_MINUTES: String(options.errorAfterMinutes),
      },
      outDir,
      ...(options.logger ? { logger: options.logger } : {}),
    });
    return { summary, result: await readResult(sourcesJson) };
  }, {
    // Checks share that directory: one at a time (per warehouse, as builds are).
    key: FRESHNESS_LOCK,
    onWait: () => options.logger?.info("another freshness check runs; waiting for it"),
  });
  const check = {
    summary,
    result,
    warnAfterMinutes: options.warnAfterMinutes,
    errorAfterMinutes: options.errorAfterMinutes,
  };
  if (check.result) await recordCheck(warehouse.sql, { ds: options.ds, check });
  return check;
}

/**
 * What a check means for the task: a warning line for `warn`; an error for `error` (terminal)
 * and for a check dbt could not make (transient when the connection failed, else terminal).
 */
export function freshnessVerdict(check: FreshnessCheck): { warning?: string; error?: Error } {
  const { result } = check;
  const limits = `warn after ${limit(check.warnAfterMinutes)}, error after ` +
    limit(check.errorAfterMinutes);
  if (!result || result.status === "runtime error") {
    const failure = dbtFailureIsTransient(check.summary) ? TransientError : TerminalError;
    return {
      error: new failure(
        `dbt source freshness could not check ${TABLE} (exit ${check.summary.exitCode}); ` +
          "see DATA_DIR/dbt/logs/dbt.log",
      ),
    };
  }
  const loaded = result.maxLoadedAt === null || result.ageSeconds === null
    ? `${TABLE} has no rows`
    : `${TABLE} was last loaded ${hours(result.ageSeconds)} ago, at ` +
      `${result.maxLoadedAt.toISOString().slice(0, 16).replace("T", " ")} UTC`;
  if (result.status === "warn") return { warning: `${loaded} (${limits})` };
  if (result.status === "error") {
    return {
      error: new TerminalError(
        `${loaded} (${limits}): the data is stale; run extract_load (deno task run ` +
          "extract_load) or raise FRESHNESS_ERROR_AFTER",
      ),
    };
  }
  return {};
}

/** An age: `27.0 h`. */
function hours(seconds: number): string {
  return `${(seconds / 3600).toFixed(1)} h`;
}

/** A threshold as it was set: `26 h`, `90 min`. */
function limit(minutes: number): string {
  return minutes % 60 === 0 ? `${minutes / 60} h` : `${minutes} min`;
}

/** dbt writes this timestamp for a source without rows. */
const NO_ROWS = "0001-01-01";

async function readResult(path: string): Promise<FreshnessResult | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    ignoreNotFound(error);
    return undefined; // dbt failed before checking
  }
  const parsed = JSON.parse(text) as {
    results?: Array<{
      unique_id: string;
      status: string;
      max_loaded_at?: string | null;
      max_loaded_at_time_ago_in_s?: number | null;
    }>;
  };
  const result = parsed.results?.find((r) => r.unique_id.endsWith(SOURCE.uniqueIdEnd));
  if (!result) return undefined;
  const status = result.status === "pass" || result.status === "warn" || result.status === "error"
    ? result.status
    : "runtime error";
  const loadedAt = result.max_loaded_at ?? null;
  const empty = loadedAt === null || loadedAt.startsWith(NO_ROWS);
  return {
    status,
    maxLoadedAt: empty ? null : new Date(loadedAt),
    ageSeconds: empty ? null : result.max_loaded_at_time_ago_in_s ?? null,
  };
}

async function recordCheck(sql: Sql, record: { ds: string; check: FreshnessCheck }): Promise<void> {
  const { check } = record;
  const result = check.result;
  if (!result) return;
  await sql`
    insert into meta.source_freshness (
      check_id, ds, source, status, max_loaded_at, age_seconds, warn_after_seconds,
      error_after_seconds
    ) values (
      ${ulid()}, ${record.ds}::date, ${TABLE}, ${result.status}, ${result.maxLoadedAt},
      ${result.ageSeconds}, ${check.warnAfterMinutes * 60}, ${check.errorAfterMinutes * 60}
    )`;
}
