/**
 * `/healthz`: healthy when the scheduler loop is alive (where this process runs one) and the
 * warehouse answers a query within {@linkcode HEALTH_TIMEOUT_MS}; otherwise unhealthy, with the
 * reason. Compose's healthcheck of the `pipeline` service asks it.
 *
 * @module
 */
import { errorMessage } from "../../tasks/shared/errors.ts";
import type { SecretMask } from "../../tasks/shared/secret_mask.ts";
import type { Sql } from "../../tasks/warehouse/sql_client.ts";
import type { SchedulerHandle } from "./console_actions.ts";

/** How long the warehouse may take to answer. */
export const HEALTH_TIMEOUT_MS = 2_000;

/** The answer of `/healthz`: 200 or 503, and its JSON body. */
export interface Health {
  readonly status: 200 | 503;
  readonly body: {
    readonly status: "ok" | "unavailable";
    readonly reason?: string;
    readonly scheduler: string;
    readonly warehouse: string;
    readonly warehouse_ms?: number;
  };
}

class HealthTimeout extends Error {}

/** Checks the scheduler (when there is one) and the warehouse. */
export async function checkHealth(
  sql: Sql,
  options: { scheduler: SchedulerHandle | undefined; mask: SecretMask },
): Promise<Health> {
  const problem = options.scheduler?.problem();
  const scheduler = options.scheduler === undefined
    ? "not run by this process (deno task console)"
    : problem ?? "running";
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let warehouseProblem: string | undefined;
  try {
    await Promise.race([
      sql`select 1`,
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new HealthTimeout(`did not answer within ${HEALTH_TIMEOUT_MS / 1000} s`)),
          HEALTH_TIMEOUT_MS,
        );
      }),
    ]);
  } catch (error) {
    warehouseProblem = error instanceof HealthTimeout
      ? error.message
      : `failed a query: ${options.mask.redact(errorMessage(error))}`;
  } finally {
    clearTimeout(timer);
  }
  const ms = Math.round(performance.now() - started);
  const reasons = [
    ...(problem ? [`the scheduler ${problem}`] : []),
    ...(warehouseProblem ? [`the warehouse ${warehouseProblem}`] : []),
  ];
  if (reasons.length > 0) {
    return {
      status: 503,
      body: {
        status: "unavailable",
        reason: reasons.join("; "),
        scheduler,
        warehouse: warehouseProblem ?? "ok",
      },
    };
  }
  return { status: 200, body: { status: "ok", scheduler, warehouse: "ok", warehouse_ms: ms } };
}
