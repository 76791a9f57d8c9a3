/**
 * What the console's pages show, read from the ledger (`meta`), the warehouse and the landing
 * zone: the overview (each pipeline's last run and success, the grid of the latest logical dates,
 * the latest load), one run with every try and its output, and the data page. Every string read
 * passes the secret mask before a page sees it.
 *
 * @example
 * ```ts
 * const view = new LedgerView(sql, { mask, dataDir: "data" });
 * const run = await view.run("01J…"); // undefined when there is no such run
 * ```
 *
 * @module
 */
import { readManifest } from "../../tasks/landing/landing_manifest.ts";
import { landingFiles } from "../../tasks/landing/landing_zone.ts";
import { errorMessage } from "../../tasks/shared/errors.ts";
import type { SecretMask } from "../../tasks/shared/secret_mask.ts";
import type { Sql } from "../../tasks/warehouse/sql_client.ts";
import { runColumns, type RunRecord, tryColumns, type TryRecord } from "../ledger.ts";

/** Logical dates in the overview's grid and on the data page. */
export const GRID_DATES = 30;
const RECENT_RUNS = 15;

/** The latest run of a (pipeline, ds): one cell of the grid. */
export interface GridCell {
  readonly pipeline: string;
  readonly ds: string;
  readonly run_id: string;
  readonly state: RunRecord["state"];
  readonly failure: string | null;
  readonly error: string | null;
  /** Runs of this (pipeline, ds) in the ledger. */
  readonly runs: number;
}

/** The latest succeeded load of a landing file into `raw.users`. */
export interface LatestLoad {
  readonly ds: string;
  readonly batch_id: string;
  readonly rows_in_file: number | null;
  readonly finished_at: Date;
}

/** The overview page's data. */
export interface Overview {
  /** The last run of each pipeline in the ledger. */
  readonly lastRuns: ReadonlyMap<string, RunRecord>;
  /** The last succeeded run of each pipeline. */
  readonly lastSuccesses: ReadonlyMap<string, RunRecord>;
  readonly latestLoad: LatestLoad | undefined;
  /** The latest {@linkcode GRID_DATES} logical dates with a run, oldest first. */
  readonly dates: readonly string[];
  readonly cells: readonly GridCell[];
  readonly recent: readonly RunRecord[];
}

/** A try with what it printed. */
export interface TryDetail extends TryRecord {
  /** Null for tries recorded before the ledger kept output. */
  readonly output: string | null;
}

/** The run page's data. */
export interface RunDetail {
  readonly run: RunRecord;
  readonly tries: readonly TryDetail[];
  /** Every run of the same pipeline and ds, newest first (this one included). */
  readonly siblings: readonly RunRecord[];
}

/** One logical date on the data page. */
export interface DataDay {
  readonly ds: string;
  readonly rawRows: number | null;
  readonly factRows: number | null;
  /** From the ds's landing manifest; null when there is none (or it is not on this host). */
  readonly rejects: number | null;
  readonly duplicates: number | null;
}

/** A row of `meta.load_batches`. */
export interface LoadBatch {
  readonly batch_id: string;
  readonly ds: string;
  readonly status: string;
  readonly vouched: boolean;
  readonly rows_in_file: number | null;
  readonly inserted: number | null;
  readonly updated: number | null;
  readonly deleted: number | null;
  readonly unchanged: number | null;
  readonly error: string | null;
  readonly started_at: Date;
  readonly finished_at: Date;
}

/** A row of `meta.dbt_runs`. */
export interface DbtRun {
  readonly run_id: string;
  readonly ds: string | null;
  readonly runner: string;
  readonly status: string;
  readonly exit_code: number;
  readonly models: number;
  readonly tests: number;
  readonly failures: number;
  readonly warnings: number;
  readonly skipped: number;
  readonly failed_nodes: unknown;
  readonly started_at: Date;
  readonly finished_at: Date;
}

/** The data page's data. */
export interface DataOverview {
  readonly days: readonly DataDay[];
  /** Why `dim_user` could not be counted, if it could not (not built yet, say). */
  readonly factProblem: string | undefined;
  readonly loads: readonly LoadBatch[];
  readonly dbtRuns: readonly DbtRun[];
}

/** Options for {@linkcode LedgerView}. */
export interface LedgerViewOptions {
  /** Applied to every string read. */
  mask: SecretMask;
  /** The landing zone, for the rejects in each ds's manifest. */
  dataDir: string;
}

/** Reads the console's pages; see the module documentation. */
export class LedgerView {
  readonly #sql: Sql;
  readonly #mask: SecretMask;
  readonly #dataDir: string;

  constructor(sql: Sql, options: LedgerViewOptions) {
    this.#sql = sql;
    this.#mask = options.mask;
    this.#dataDir = options.dataDir;
  }

  /** The overview page's data. */
  async overview(): Promise<Overview> {
    const sql = this.#sql;
    const [lastRuns, lastSuccesses, [latestLoad], cells, recent] = await Promise.all([
      sql<RunRecord[]>`
        select distinct on (pipeline) ${runColumns(sql)} from meta.pipeline_runs
        order by pipeline, started_at desc, run_id desc`,
      sql<RunRecord[]>`
        select distinct on (pipeline) ${runColumns(sql)} from meta.pipeline_runs
        where state = 'succeeded' order by pipeline, finished_at desc, run_id desc`,
      sql<LatestLoad[]>`
        select ds::text as ds, batch_id, rows_in_file::float8 as rows_in_file, finished_at
        from meta.load_batches where status = 'succeeded' order by finished_at desc limit 1`,
      sql<GridCell[]>`
        with dates as (
          select distinct ds from meta.pipeline_runs order by ds desc limit ${GRID_DATES}
        )
        select distinct on (r.pipeline, r.ds) r.pipeline, r.ds::text as ds, r.run_id, r.state,
               r.failure, r.error, count(*) over (partition by r.pipeline, r.ds)::int as runs
        from meta.pipeline_runs r join dates using (ds)
        order by r.pipeline, r.ds, r.started_at desc, r.run_id desc`,
      sql<RunRecord[]>`
        select ${runColumns(sql)} from meta.pipeline_runs
        order by started_at desc, run_id desc limit ${RECENT_RUNS}`,
    ]);
    const byPipeline = (runs: readonly RunRecord[]) =>
      new Map(runs.map((run) => [run.pipeline, this.#mask.redactAll(run)]));
    return {
      lastRuns: byPipeline(lastRuns),
      lastSuccesses: byPipeline(lastSuccesses),
      latestLoad,
      dates: [...new Set(cells.map((cell) => cell.ds))].sort(),
      cells: this.#mask.redactAll([...cells]),
      recent: this.#mask.redactAll([...recent]),
    };
  }

  /** The run `runId` with every try, or undefined when the ledger has no such run. */
  async run(runId: string): Promise<RunDetail | undefined> {
    const sql = this.#sql;
    const [run] = await sql<RunRecord[]>`
      select ${runColumns(sql)} from meta.pipeline_runs where run_id = ${runId}`;
    if (!run) return undefined;
    const [tries, siblings] = await Promise.all([
      sql<TryDetail[]>`
        select ${tryColumns(sql)}, output
        from meta.task_tries left join meta.task_try_output using (run_id, task, try_number)
        where run_id = ${runId}
        order by started_at, try_number`,
      sql<RunRecord[]>`
        select ${runColumns(sql)} from meta.pipeline_runs
        where pipeline = ${run.pipeline} and ds = ${run.ds}::date
        order by started_at desc, run_id desc`,
    ]);
    return this.#mask.redactAll({ run, tries: [...tries], siblings: [...siblings] });
  }

  /** The data page's data: the latest {@linkcode GRID_DATES} logical dates, loads, dbt runs. */
  async data(): Promise<DataOverview> {
    const sql = this.#sql;
    const dates = (await sql<{ ds: string }[]>`
      select ds::text as ds from (
        select ds from meta.load_batches union select ds from meta.pipeline_runs
      ) as d order by ds desc limit ${GRID_DATES}`).map((row) => row.ds);
    const [rawRows, facts, loads, dbtRuns, manifests] = await Promise.all([
      sql<{ ds: string; rows: number }[]>`
        select _ds::text as ds, count(*)::float8 as rows from raw.users
        where _ds = any(${dates}::date[]) group by 1`,
      this.#factRows(dates),
      sql<LoadBatch[]>`
        select batch_id, ds::text as ds, status, vouched, rows_in_file::float8 as rows_in_file,
               inserted::float8 as inserted, updated::float8 as updated,
               deleted::float8 as deleted, unchanged::float8 as unchanged, error, started_at,
               finished_at
        from meta.load_batches order by finished_at desc, batch_id desc limit 20`,
      sql<DbtRun[]>`
        select run_id, ds::text as ds, runner, status, exit_code, models, tests, failures,
               warnings, skipped, failed_nodes, started_at, finished_at
        from meta.dbt_runs order by finished_at desc, run_id desc limit 10`,
      Promise.all(dates.map((ds) => this.#manifestCounts(ds))),
    ]);
    const raw = new Map(rawRows.map((row) => [row.ds, row.rows]));
    const days = dates.map((ds, index): DataDay => ({
      ds,
      rawRows: raw.get(ds) ?? 0,
      factRows: facts.rows === undefined ? null : facts.rows.get(ds) ?? 0,
      ...manifests[index]!,
    }));
    return this.#mask.redactAll({
      days,
      factProblem: facts.problem,
      loads: [...loads],
      dbtRuns: [...dbtRuns],
    });
  }

  /** Users of `analytics.dim_user` per load date (the ds that last delivered each), or why they cannot be counted. */
  async #factRows(
    dates: readonly string[],
  ): Promise<{ rows?: Map<string, number>; problem?: string }> {
    const sql = this.#sql;
    const [table] = await sql`select to_regclass('analytics.dim_user') is not null as built`;
    if (!table?.built) return { problem: "analytics.dim_user is not built yet" };
    try {
      const rows = await sql<{ ds: string; rows: number }[]>`
        select load_date::text as ds, count(*)::float8 as rows from analytics.dim_user
        where load_date = any(${dates}::date[]) group by 1`;
      return { rows: new Map(rows.map((row) => [row.ds, row.rows])) };
    } catch (error) {
      return { problem: `cannot count analytics.dim_user: ${errorMessage(error)}` };
    }
  }

  async #manifestCounts(ds: string): Promise<Pick<DataDay, "rejects" | "duplicates">> {
    try {
      const manifest = await readManifest(landingFiles(this.#dataDir, ds).manifest);
      if (manifest) {
        return { rejects: manifest.extract.rejects, duplicates: manifest.extract.duplicates };
      }
    } catch {
      // An unreadable manifest shows as unknown here; the load itself says what is wrong.
    }
    return { rejects: null, duplicates: null };
  }
}
