/**
 * The result columns of the analyses as PostgreSQL describes them — each query parsed, not run,
 * as the read-only `analyst` role — with the kind of each column. Their charts are drawn from
 * these columns, in the HTML report and in Metabase alike.
 *
 * @example
 * ```ts
 * for (const { analysis, columns } of await describeAnalyses(sql, await loadAnalyses())) {
 *   console.log(analysis.name, columns.map((column) => column.name));
 * }
 * ```
 *
 * @module
 */
import { errorMessage, TerminalError } from "../shared/errors.ts";
import type { Sql, TransactionSql } from "../warehouse/sql_client.ts";
import { type Analysis, MARTS_SCHEMA } from "./analyses.ts";

/** The role every question runs as: reads the marts and nothing else (sql/migrations/0005). */
export const ANALYST_ROLE = "analyst";

/** What kind of value a result column holds. */
export type ColumnKind = "number" | "date" | "time" | "boolean" | "text";

/** A result column: its name and what kind of value it holds. */
export interface Column {
  readonly name: string;
  readonly kind: ColumnKind;
}

/** An analysis with the columns its query returns. */
export interface AnalysisColumns {
  readonly analysis: Analysis;
  readonly columns: readonly Column[];
}

/** The marts do not exist yet: no transform has built them. */
export class MartsNotBuiltError extends TerminalError {
  override name = "MartsNotBuiltError";
  constructor() {
    super(
      `the marts are not built yet (no ${MARTS_SCHEMA}.fct_registrations in the warehouse): ` +
        "run `deno task transform` first (or `deno task run`, which also migrates, extracts and " +
        "loads)",
    );
  }
}

const NUMBER_TYPES = new Set([20, 21, 23, 26, 700, 701, 1700]);
const DATE_TYPES = new Set([1082]);
const TIME_TYPES = new Set([1083, 1114, 1184, 1266]);

/** The kind of a column of PostgreSQL type `oid`. */
export function columnKind(oid: number): ColumnKind {
  if (NUMBER_TYPES.has(oid)) return "number";
  if (DATE_TYPES.has(oid)) return "date";
  if (TIME_TYPES.has(oid)) return "time";
  if (oid === 16) return "boolean";
  return "text";
}

/**
 * Runs `work` as the `analyst` role in one read-only, repeatable-read transaction (one snapshot),
 * after checking that the marts exist; throws {@linkcode MartsNotBuiltError} when they do not.
 */
export async function asAnalyst<T>(sql: Sql, work: (tx: TransactionSql) => Promise<T>): Promise<T> {
  const [role] = await sql`select 1 from pg_roles where rolname = ${ANALYST_ROLE}`;
  if (!role) {
    throw new TerminalError(
      `the warehouse has no ${ANALYST_ROLE} role, which the questions run as: run ` +
        "`deno task migrate`, then `deno task transform`",
    );
  }
  // postgres.js types begin()'s result as UnwrapPromiseArray<T>, which is T for every T here
  // (work resolves to a value, not to an array of promises).
  return await sql.begin("isolation level repeatable read read only", async (tx) => {
    await tx`set local role ${tx(ANALYST_ROLE)}`;
    const [fact] = await tx<{ relation: string | null }[]>`
      select to_regclass(${`${MARTS_SCHEMA}.fct_registrations`})::text as relation`;
    if (!fact?.relation) throw new MartsNotBuiltError();
    return await work(tx);
  }) as T;
}

/** The result columns of every analysis, described (not run) as the `analyst` role. */
export async function describeAnalyses(
  sql: Sql,
  analyses: readonly Analysis[],
): Promise<AnalysisColumns[]> {
  return await asAnalyst(sql, async (tx) => {
    const described: AnalysisColumns[] = [];
    for (const analysis of analyses) {
      let columns;
      try {
        columns = (await tx.unsafe(analysis.sql).describe()).columns;
      } catch (error) {
        throw analysisFailure(analysis, error);
      }
      described.push({
        analysis,
        columns: columns.map((column) => ({ name: column.name, kind: columnKind(column.type) })),
      });
    }
    return described;
  });
}

/** The error for an analysis whose query the warehouse refused. */
export function analysisFailure(analysis: Analysis, error: unknown): TerminalError {
  return new TerminalError(
    `analysis ${analysis.file} failed: ${errorMessage(error)}. It runs as the read-only ` +
      `${ANALYST_ROLE} role, which reads schema ${MARTS_SCHEMA} only: fix the query and try again`,
    { cause: error },
  );
}
