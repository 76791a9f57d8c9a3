/**
 * The streamed `extract_load` benchmark: `deno task extract --load` (every core, its defaults)
 * against the replay server into an empty `raw.users` — the file written and COPYed in one pass —
 * beside `psql \copy` of the very file it wrote into an identical empty table, in interleaved
 * repetitions. The report also sets it against the sum of the extract and the load run apart.
 *
 * @module
 */
import { landingFiles } from "../tasks/landing/landing_zone.ts";
import { seedFor } from "../tasks/extract/randomuser_client.ts";
import type { Logger } from "../tasks/shared/logger.ts";
import { EXTRACT_DENO_FLAGS } from "../pipelines/definitions.ts";
import { migrate } from "../tasks/warehouse/migrations.ts";
import type { BenchDatabase } from "./bench_database.ts";
import { median } from "./extract_bench.ts";
import { canCheckpoint, psqlReference, reset } from "./load_bench.ts";
import { startReplayServer } from "./replay_server.ts";
import { assertSucceeded, denoScript, runTimed, type TimingTools } from "./timed_process.ts";

/** Options for {@linkcode benchStreamed}. */
export interface StreamedBenchOptions {
  db: BenchDatabase;
  users: number;
  ds: string;
  pageSize: number;
  concurrency: number;
  reps: number;
  workspace: string;
  /** Every CPU the machine allows (the streamed run's default worker pool uses them). */
  cpus: readonly number[];
  tools: TimingTools;
  logger: Logger;
  signal: AbortSignal;
}

/** What the streamed benchmark measured. */
export interface StreamedBenchResult {
  readonly users: number;
  readonly csvMb: number;
  readonly reps: number;
  /** `deno task extract --load`, wall clock of the process, per repetition. */
  readonly streamedSeconds: readonly number[];
  /** `psql \copy` of the file it wrote, per repetition. */
  readonly psqlSeconds: readonly number[];
  /** The largest peak RSS of the streamed runs, in MB. */
  readonly peakRssMb: number | undefined;
  readonly streamedMedian: number;
  readonly psqlMedian: number;
  /** `streamedMedian / psqlMedian`. */
  readonly ratio: number;
}

/** Runs the benchmark; see the module documentation. */
export async function benchStreamed(options: StreamedBenchOptions): Promise<StreamedBenchResult> {
  const { db, logger } = options;
  const seed = seedFor(options.ds);
  await using replay = await startReplayServer({
    seed,
    pages: Math.ceil(options.users / options.pageSize),
    pageSize: options.pageSize,
  });
  const dataDir = `${options.workspace}/streamed/data`;
  const file = landingFiles(dataDir, options.ds).csv;
  await migrate(db.sql);
  const checkpoints = await canCheckpoint(db);
  const streamed = denoScript(
    "tasks/extract.ts",
    ["--ds", options.ds, "--users", String(options.users), "--load"],
    EXTRACT_DENO_FLAGS,
  );
  const env = {
    DATABASE_URL: db.url,
    DATA_DIR: dataDir,
    RANDOMUSER_API_URL: replay.url,
    API_PAGE_SIZE: String(options.pageSize),
    API_CONCURRENCY: String(options.concurrency),
  };
  const streamedSeconds: number[] = [];
  const psqlSeconds: number[] = [];
  const peaks: number[] = [];
  let psql: Awaited<ReturnType<typeof psqlReference>> | undefined;
  for (let rep = 1; rep <= options.reps; rep++) {
    options.signal.throwIfAborted();
    if (psql) await reset(db, checkpoints);
    else await db.sql`truncate raw.users`;
    const run = await runTimed(streamed, {
      cwd: options.workspace,
      env,
      cpus: options.cpus,
      tools: options.tools,
    });
    assertSucceeded(run, "deno task extract --load");
    const counts = run.result()?.counts ?? {};
    if (counts["load.rows"] !== options.users || counts["load.inserted"] !== options.users) {
      throw new Error(`the streamed load did not load every user: ${run.stdout.trim()}`);
    }
    streamedSeconds.push(run.wallSeconds);
    peaks.push(counts.peak_rss_mb ?? NaN);

    options.signal.throwIfAborted();
    psql ??= await psqlReference(db, file);
    const psqlTime = await psql.time({
      rows: options.users,
      checkpoint: checkpoints,
      workspace: options.workspace,
      tools: options.tools,
    });
    psqlSeconds.push(psqlTime);
    logger.info("streamed extract_load repetition", {
      rep,
      of: options.reps,
      streamed_s: run.wallSeconds.toFixed(2),
      psql_s: psqlTime.toFixed(2),
    });
  }
  const streamedMedian = median(streamedSeconds);
  const psqlMedian = median(psqlSeconds);
  const finite = peaks.filter((mb) => Number.isFinite(mb));
  return {
    users: options.users,
    csvMb: (await Deno.stat(file)).size / 1e6,
    reps: options.reps,
    streamedSeconds,
    psqlSeconds,
    peakRssMb: finite.length > 0 ? Math.max(...finite) : undefined,
    streamedMedian,
    psqlMedian,
    ratio: streamedMedian / psqlMedian,
  };
}
