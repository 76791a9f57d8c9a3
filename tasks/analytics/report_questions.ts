/**
 * Asking the warehouse the report's questions: every analysis runs as the read-only `analyst`
 * role in one read-only, repeatable-read transaction (one snapshot for the whole report), and
 * comes back as columns (with the kind of each) and rows as PostgreSQL printed them.
 *
 * @example
 * ```ts
 * const { freshness, answers } = await askQuestions(sql, await loadAnalyses());
 * ```
 *
 * @module
 */
import type { Logger } from "../shared/logger.ts";
import type { Sql, TransactionSql } from "../warehouse/sql_client.ts";
import { type Analysis, MARTS_SCHEMA } from "./analyses.ts";
import { analysisFailure, asAnalyst, type Column, columnKind } from "./analysis_columns.ts";

/** An answer: the columns and the rows as PostgreSQL printed them (`null` for SQL null). */
export interface Answer {
  readonly analysis: Analysis;
  readonly columns: readonly Column[];
  readonly rows: readonly (readonly (string | null)[])[];
}

/** How fresh the marts are: the latest load date (ages are as of it), how many, users, rows per mart. */
export interface Freshness {
  readonly latestLoadDate: string | null;
  readonly loadDates: number;
  readonly users: number;
  readonly marts: readonly { readonly name: string; readonly rows: number }[];
}

/** Answers every analysis (see the module documentation), with the marts' freshness. */
export async function askQuestions(
  sql: Sql,
  analyses: readonly Analysis[],
  logger: Logger | undefined,
): Promise<{ freshness: Freshness; answers: Answer[] }> {
  return await asAnalyst(sql, async (tx) => {
    const freshness = await readFreshness(tx);
    const answers: Answer[] = [];
    for (const analysis of analyses) {
      const started = performance.now();
      answers.push(await answer(tx, analysis));
      logger?.info("answered", {
        analysis: analysis.name,
        rows: answers.at(-1)?.rows.length,
        ms: Math.round(performance.now() - started),
      });
    }
    return { freshness, answers };
  });
}

async function readFreshness(tx: TransactionSql): Promise<Freshness> {
  const [summary] = await tx<{ latest: string | null; load_dates: number; users: number }[]>`
    select (select max(as_of_date)::text from ${tx(MARTS_SCHEMA)}.as_of_date) as latest,
           (select count(distinct load_date)::int from ${tx(MARTS_SCHEMA)}.fct_load_batches
            where status = 'succeeded') as load_dates,
           (select count(*)::int from ${tx(MARTS_SCHEMA)}.dim_user) as users`;
  const relations = await tx<{ name: string }[]>`
    select table_name as name from information_schema.tables
    where table_schema = ${MARTS_SCHEMA} order by table_name`;
  const marts = [];
  for (const { name } of relations) {
    const [count] = await tx<{ rows: number }[]>`
      select count(*)::int as rows from ${tx(MARTS_SCHEMA)}.${tx(name)}`;
    marts.push({ name, rows: count?.rows ?? 0 });
  }
  return {
    latestLoadDate: summary?.latest ?? null,
    loadDates: summary?.load_dates ?? 0,
    users: summary?.users ?? 0,
    marts,
  };
}

async function answer(tx: TransactionSql, analysis: Analysis): Promise<Answer> {
  let result;
  try {
    // raw(): every value exactly as PostgreSQL prints it, so the table shows the SQL answer.
    result = await tx.unsafe(analysis.sql).raw();
  } catch (error) {
    throw analysisFailure(analysis, error);
  }
  const decoder = new TextDecoder();
  const columns = result.columns.map((column) => ({
    name: column.name,
    kind: columnKind(column.type),
  }));
  const rows = result.map((row) =>
    row.map((value) => value === null ? null : decoder.decode(value as Uint8Array))
  );
  return { analysis, columns, rows };
}
