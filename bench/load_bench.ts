/**
 * The load benchmark: `tasks/load.ts` against `psql -c "\copy … FROM … CSV HEADER"` of the same
 * file into an identical empty table in the same database, in interleaved repetitions: the first
 * load of the ds (manifest and header checks, COPY straight into an empty `raw.users`, batch
 * record), then a reload of the same unchanged file (COPY into a staging table, merge that
 * rewrites nothing, delete of nothing).
 *
 * @module
 */
import type { Logger } from "../tasks/shared/logger.ts";
import { landingFiles } from "../tasks/landing/landing_zone.ts";
import { migrate } from "../tasks/warehouse/migrations.ts";
import type { BenchDatabase } from "./bench_database.ts";
import { median } from "./extract_bench.ts";
import {
  assertSucceeded,
  type CommandLine,
  denoScript,
  runTimed,
  type TimingTools,
} from "./timed_process.ts";

/** Options for {@linkcode benchLoad}. */
export interface LoadBenchOptions {
  db: BenchDatabase;
  /** The `DATA_DIR` holding the CSV of `ds`. */
  dataDir: string;
  ds: string;
  /** Repetitions of each side. */
  reps: number;
  workspace: string;
  tools: TimingTools;
  logger: Logger;
  signal: AbortSignal;
}

/** What the load benchmark measured. */
export interface LoadBenchResult {
  readonly rows: number;
  readonly csvMb: number;
  readonly reps: number;
  /** Whether a CHECKPOINT ran before every repetition (it needs the right privilege). */
  readonly checkpoints: boolean;
  /** `deno task load`, wall clock of the process, per repetition. */
  readonly oursSeconds: readonly number[];
  /** The loader's own timer (process start-up and connection excluded), per repetition. */
  readonly oursInProcessSeconds: readonly number[];
  /** The reload of the same, unchanged file, wall clock of the process, per repetition. */
  readonly reloadSeconds: readonly number[];
  /** `psql \copy`, wall clock of the process, per repetition. */
  readonly psqlSeconds: readonly number[];
  readonly oursMedian: number;
  readonly oursInProcessMedian: number;
  readonly reloadMedian: number;
  readonly psqlMedian: number;
  /** `oursMedian / psqlMedian`: the first load. */
  readonly ratio: number;
  /** `reloadMedian / psqlMedian`. */
  readonly reloadRatio: number;
  /** `oursInProcessMedian / psqlMedian`. */
  readonly inProcessRatio: number;
}

/** The table psql loads: `raw.users`' columns, types, generated id and indexes. */
const PSQL_TABLE = "bench.users_psql";
const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/** Runs the benchmark; see the module documentation. */
export async function benchLoad(options: LoadBenchOptions): Promise<LoadBenchResult> {
  const { db, logger } = options;
  const file = landingFiles(options.dataDir, options.ds).csv;
  const csvMb = (await Deno.stat(file)).size / 1e6;
  await migrate(db.sql);
  const psql = await psqlReference(db, file);
  const checkpoints = await canCheckpoint(db);
  const ours = denoScript("tasks/load.ts", ["--ds", options.ds]);
  const oursSeconds: number[] = [];
  const oursInProcessSeconds: number[] = [];
  const reloadSeconds: number[] = [];
  const psqlSeconds: number[] = [];
  let rows = 0;
  for (let rep = 1; rep <= options.reps; rep++) {
    options.signal.throwIfAborted();
    await reset(db, checkpoints);
    const load = await runTimed(ours, {
      cwd: options.workspace,
      env: { DATABASE_URL: db.url, DATA_DIR: options.dataDir },
      tools: options.tools,
    });
    assertSucceeded(load, "deno task load");
    rows = await countRows(db, "raw.users");
    oursSeconds.push(load.wallSeconds);
    oursInProcessSeconds.push(load.result()?.counts.seconds ?? NaN);

    options.signal.throwIfAborted();
    if (checkpoints) await db.sql`checkpoint`;
    const reload = await runTimed(ours, {
      cwd: options.workspace,
      env: { DATABASE_URL: db.url, DATA_DIR: options.dataDir },
      tools: options.tools,
    });
    assertSucceeded(reload, "deno task load (reload)");
    if (reload.result()?.counts.unchanged !== rows) {
      throw new Error(`the reload changed rows: ${reload.stdout.trim()}`);
    }
    reloadSeconds.push(reload.wallSeconds);

    options.signal.throwIfAborted();
    const psqlTime = await psql.time({
      rows,
      checkpoint: checkpoints,
      workspace: options.workspace,
      tools: options.tools,
    });
    psqlSeconds.push(psqlTime);
    logger.info("load repetition", {
      rep,
      of: options.reps,
      rows,
      ours_s: load.wallSeconds.toFixed(2),
      reload_s: reload.wallSeconds.toFixed(2),
      psql_s: psqlTime.toFixed(2),
    });
  }
  const oursMedian = median(oursSeconds);
  const oursInProcessMedian = median(oursInProcessSeconds);
  const reloadMedian = median(reloadSeconds);
  const psqlMedian = median(psqlSeconds);
  return {
    rows,
    csvMb,
    reps: options.reps,
    checkpoints,
    oursSeconds,
    oursInProcessSeconds,
    reloadSeconds,
    psqlSeconds,
    oursMedian,
    oursInProcessMedian,
    reloadMedian,
    psqlMedian,
    ratio: oursMedian / psqlMedian,
    reloadRatio: reloadMedian / psqlMedian,
    inProcessRatio: oursInProcessMedian / psqlMedian,
  };
}

/** `psql \copy` of a CSV into `bench.users_psql` (raw.users' twin): the reference of a load. */
export interface PsqlReference {
  readonly command: CommandLine;
  /** Empties the table, runs the copy, checks it loaded `rows`; its wall time in seconds. */
  time(
    options: { rows: number; checkpoint: boolean; workspace: string; tools: TimingTools },
  ): Promise<number>;
}

/** Creates `bench.users_psql` like `raw.users` and the `psql \copy` command that fills it. */
export async function psqlReference(db: BenchDatabase, file: string): Promise<PsqlReference> {
  const columns = await csvHeader(file);
  await db.sql`create schema if not exists bench`;
  await db.sql`create table bench.users_psql (like raw.users including all)`;
  // raw.users' load metadata defaults read the load's transaction settings; psql's copy has none.
  await db.sql`
    alter table bench.users_psql
      alter column _ds set default '2026-01-01',
      alter column _batch_id set default 'psql',
      alter column _loaded_at set default now()`;
  const command: CommandLine = {
    program: "psql",
    args: [
      db.url,
      "-X",
      "-q",
      "-v",
      "ON_ERROR_STOP=1",
      "-c",
      `\\copy ${PSQL_TABLE} (${columns.join(", ")}) FROM '${
        file.replaceAll("'", "''")
      }' CSV HEADER`,
    ],
  };
  return {
    command,
    async time(options) {
      await reset(db, options.checkpoint);
      const copy = await runTimed(command, {
        cwd: options.workspace,
        env: {},
        tools: options.tools,
      });
      assertSucceeded(copy, "psql \\copy");
      const copied = await countRows(db, PSQL_TABLE);
      if (copied !== options.rows) {
        throw new Error(`psql loaded ${copied} rows, not ${options.rows}: not the same work`);
      }
      return copy.wallSeconds;
    },
  };
}

/** The CSV's header names, checked to be plain identifiers (they become SQL in psql's `\copy`). */
async function csvHeader(file: string): Promise<string[]> {
  using handle = await Deno.open(file, { read: true });
  const buffer = new Uint8Array(64 * 1024);
  const read = (await handle.read(buffer)) ?? 0;
  const line = new TextDecoder().decode(buffer.subarray(0, read)).split(/\r?\n/)[0] ?? "";
  const names = line.split(",");
  const bad = names.find((name) => !IDENTIFIER.test(name));
  if (bad !== undefined) throw new SyntaxError(`the CSV header of ${file} has the name ${bad}`);
  return names;
}

/** Empties both tables, so every repetition loads into an empty table. */
export async function reset(db: BenchDatabase, checkpoint: boolean): Promise<void> {
  await db.sql`truncate raw.users, bench.users_psql`;
  if (checkpoint) await db.sql`checkpoint`;
}

/** Rows in `table` (`schema.table`). */
async function countRows(db: BenchDatabase, table: string): Promise<number> {
  // postgres.js quotes `schema.table` as "schema"."table".
  const [row] = await db.sql<{ rows: number }[]>`select count(*)::int as rows from ${
    db.sql(table)
  }`;
  return row?.rows ?? 0;
}

/** A superuser or a member of pg_checkpoint (PostgreSQL 15+) may run CHECKPOINT. */
export async function canCheckpoint(db: BenchDatabase): Promise<boolean> {
  const [row] = await db.sql<{ allowed: boolean }[]>`
    select rolsuper or exists (
      select 1 from pg_roles where rolname = 'pg_checkpoint'
        and pg_has_role(current_user, oid, 'member')
    ) as allowed
    from pg_roles where rolname = current_user`;
  return row?.allowed ?? false;
}
