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
import { errorMessage, TerminalError } from "../shared/errors.ts";
import type { Logger } from "../shared/logger.ts";
import type { Sql, TransactionSql } from "../warehouse/sql_client.ts";
import { type Analysis, MARTS_SCHEMA } from "./analyses.ts";

/** The role every question runs as: reads the marts and nothing else (sql/migrations/0005). */
export const ANALYST_ROLE = "analyst";

export type ColumnKind = "number" | "date" | "time" | "boolean" | "text";

/** A result column: its name and what kind of value it holds. */
export interface Column {
  readonly name: string;
  readonly kind: ColumnKind;
}

/** An answer: the columns and the rows as PostgreSQL printed them (`null` for SQL null). */
export interface Answer {
  readonly analysis: Analysis;
  readonly columns: readonly Column[];
  readonly rows: readonly (readonly (string | null)[])[];
}

/** How fresh the marts are: the latest load date, how many, users, rows per mart. */
export interface Freshness {
  readonly latestLoadDate: string | null;
  readonly loadDates: number;
  readonly users: number;
  readonly marts: readonly { readonly name: string; readonly rows: number }[];
}

const NUMBER_TYPES = new Set([20, 21, 23, 26, 700, 701, 1700]);
const DATE_TYPES = new Set([1082]);
const TIME_TYPES = new Set([1083, 1114, 1184, 1266]);

function columnKind(oid: number): ColumnKind {
  if (NUMBER_TYPES.has(oid)) return "number";
  if (DATE_TYPES.has(oid)) return "date";
  if (TIME_TYPES.has(oid)) return "time";
  if (oid === 16) return "boolean";
  return "text";
}

/** Answers every analysis (see the module documentation), with the marts' freshness. */
export async function askQuestions(
  sql: Sql,
  analyses: readonly Analysis[],
  logger: Logger | undefined,
): Promise<{ freshness: Freshness; answers: Answer[] }> {
  const [role] = await sql`select 1 from pg_roles where rolname = ${ANALYST_ROLE}`;
  if (!role) {
    throw new TerminalError(
      `the warehouse has no ${ANALYST_ROLE} role, which the report runs as: run \`deno task migrate\`, ` +
        "then `deno task transform`",
    );
  }
  return await sql.begin("isolation level repeatable read read only", async (tx) => {
    await tx`set local role ${tx(ANALYST_ROLE)}`;
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
  const [fact] = await tx<{ relation: string | null }[]>`
    select to_regclass(${`${MARTS_SCHEMA}.fct_users`})::text as relation`;
  if (!fact?.relation) {
    throw new TerminalError(
      `the marts are not built yet (no ${MARTS_SCHEMA}.fct_users in the warehouse): ` +
        "run `deno task transform` first (or `deno task run`, which also migrates, extracts and " +
        "loads)",
    );
  }
  const [summary] = await tx<{ latest: string | null; load_dates: number; users: number }[]>`
    select max(load_date)::text as latest, count(distinct load_date)::int as load_dates,
           count(*)::int as users
    from ${tx(MARTS_SCHEMA)}.fct_users`;
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
    throw new TerminalError(
      `analysis ${analysis.file} failed: ${errorMessage(error)}. It runs as the read-only ` +
        `${ANALYST_ROLE} role, which reads schema ${MARTS_SCHEMA} only: fix the query and run ` +
        "`deno task report` again",
      { cause: error },
    );
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

/** A column's title for people: `users_pct` → "Users %", `load_date` → "Load date". */
export function columnTitle(name: string): string {
  const words = name.replace(/_pct$/, " %").replace(/_/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}
