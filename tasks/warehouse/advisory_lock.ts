/**
 * Work that must not run twice at once against one warehouse — two dbt builds, two Metabase
 * provisionings — held apart by a session-level advisory lock on a connection of its own.
 *
 * @example
 * ```ts
 * await withAdvisoryLock(sql, () => build(), { key: "randomuser-elt:dbt-build" });
 * ```
 *
 * @module
 */
import type { Sql } from "./sql_client.ts";

/**
 * The gate between loads and dbt builds: a build holds it alone while dbt runs; a load takes it
 * shared just before it commits. So no load's rows appear halfway through a build (dbt reads
 * `raw.users` model by model: a fact would meet a user its dimension never saw), while loads run
 * side by side and only their commits wait for a build.
 */
export const RAW_USERS_GATE = "randomuser-elt:raw-users-gate";

/** Options for {@linkcode withAdvisoryLock}. */
export interface AdvisoryLockOptions {
  /** The lock's name (hashed to PostgreSQL's lock key). */
  key: string;
  /** Called once when another holder makes this one wait. */
  onWait?: () => void;
}

/** Runs `work` holding advisory lock `options.key`, waiting for another holder to finish first. */
export async function withAdvisoryLock<T>(
  sql: Sql,
  work: () => Promise<T>,
  options: AdvisoryLockOptions,
): Promise<T> {
  const lock = await sql.reserve();
  try {
    const [free] = await lock`select pg_try_advisory_lock(hashtext(${options.key})) as ok`;
    if (!free?.ok) {
      options.onWait?.();
      await lock`select pg_advisory_lock(hashtext(${options.key}))`;
    }
    try {
      return await work();
    } finally {
      await lock`select pg_advisory_unlock(hashtext(${options.key}))`;
    }
  } finally {
    lock.release();
  }
}
