/**
 * The console's `/metrics`: metric families read from the ledger at each scrape — so counts
 * survive restarts and agree with `deno task status` — plus whether this process's scheduler
 * loop runs. Each source is one function of the warehouse; a new one is added to `SOURCES`.
 *
 * @example
 * ```ts
 * const text = prometheusText(await ledgerMetrics(sql, { pipelines, schedulerUp: true }));
 * ```
 *
 * @module
 */
import type { Sql } from "../../tasks/warehouse/sql_client.ts";
import { ALERT_KINDS } from "../alerts/alert_message.ts";
import type { Pipelines } from "../definitions.ts";
import {
  histogramSamples,
  type Labels,
  type MetricFamily,
  type Sample,
} from "./prometheus_text.ts";

/** What a metric source knows besides the warehouse. */
export interface MetricContext {
  /** The pipelines: their names and tasks get a series even before their first run. */
  readonly pipelines: Pipelines;
  /** Whether this process runs the scheduler loop and it is alive (`deno task console`: never). */
  readonly schedulerUp: boolean;
}

/** Reads some metric families. */
export type MetricSource = (sql: Sql, context: MetricContext) => Promise<MetricFamily[]>;

const PREFIX = "randomuser_elt_";
/** Upper bounds (seconds) of the run duration histogram: a second to two hours. */
const DURATION_BUCKETS = [1, 5, 10, 30, 60, 120, 300, 600, 1_800, 3_600, 7_200];
const NEGATED_BUCKETS = DURATION_BUCKETS.map((le) => -le).reverse();
/** The outcomes every task has a series for (failure classes add their own when they occur). */
const TRY_OUTCOMES = ["ok", "transient", "terminal", "usage", "stopped"];
const FINISHED_STATES = ["succeeded", "failed"];

async function runMetrics(sql: Sql, context: MetricContext): Promise<MetricFamily[]> {
  const [byState, lastSuccess, durations] = await Promise.all([
    sql<{ pipeline: string; state: string; runs: number }[]>`
      select pipeline, state, count(*)::float8 as runs from meta.pipeline_runs group by 1, 2`,
    sql<{ pipeline: string; seconds: number }[]>`
      select pipeline, extract(epoch from max(finished_at))::float8 as seconds
      from meta.pipeline_runs where state = 'succeeded' group by 1`,
    // One pass: each run's bucket is the number of bounds below its duration (so a duration
    // equal to a bound counts in that bound's bucket, as `le` says), found by width_bucket
    // over the negated bounds.
    sql<{ pipeline: string; bucket: number; runs: number; seconds: number }[]>`
      select pipeline,
             ${DURATION_BUCKETS.length}::int - width_bucket(
               -extract(epoch from finished_at - started_at)::float8, ${NEGATED_BUCKETS}::float8[]
             ) as bucket,
             count(*)::float8 as runs,
             sum(extract(epoch from finished_at - started_at))::float8 as seconds
      from meta.pipeline_runs where state <> 'running' and finished_at is not null
      group by 1, 2`,
  ]);
  const pipelines = Object.keys(context.pipelines);
  const finished = new Counts();
  const running = new Counts();
  for (const pipeline of pipelines) {
    running.add({ pipeline }, 0);
    for (const state of FINISHED_STATES) finished.add({ pipeline, state }, 0);
  }
  for (const row of byState) {
    if (row.state === "running") running.add({ pipeline: row.pipeline }, row.runs);
    else finished.add({ pipeline: row.pipeline, state: row.state }, row.runs);
  }
  const histograms = new Map<string, { perBucket: number[]; count: number; sum: number }>();
  for (const row of durations) {
    const histogram = histograms.get(row.pipeline) ??
      { perBucket: DURATION_BUCKETS.map(() => 0), count: 0, sum: 0 };
    if (row.bucket < DURATION_BUCKETS.length) histogram.perBucket[row.bucket]! += row.runs;
    histogram.count += row.runs;
    histogram.sum += row.seconds;
    histograms.set(row.pipeline, histogram);
  }
  return [
    {
      name: `${PREFIX}runs_total`,
      help: "Finished pipeline runs in the ledger, by pipeline and state (succeeded, failed).",
      type: "counter",
      samples: finished.samples(),
    },
    {
      name: `${PREFIX}runs_running`,
      help: "Pipeline runs the ledger holds as running, by pipeline.",
      type: "gauge",
      samples: running.samples(),
    },
    {
      name: `${PREFIX}last_success_timestamp_seconds`,
      help: "When the last succeeded run of each pipeline finished (Unix time).",
      type: "gauge",
      samples: lastSuccess.map((row) => ({
        labels: { pipeline: row.pipeline },
        value: row.seconds,
      })),
    },
    {
      name: `${PREFIX}run_duration_seconds`,
      help: "Duration of finished pipeline runs, start to finish, retry delays included.",
      type: "histogram",
      samples: histogramSamples(
        [...histograms].sort(([a], [b]) => a.localeCompare(b)).map(([pipeline, h]) => {
          let below = 0;
          return {
            labels: { pipeline },
            buckets: DURATION_BUCKETS.map((
              le,
              i,
            ): [number, number] => [le, below += h.perBucket[i]!]),
            count: h.count,
            sum: h.sum,
          };
        }),
      ),
    },
  ];
}

async function tryMetrics(sql: Sql, context: MetricContext): Promise<MetricFamily[]> {
  const rows = await sql<{ pipeline: string; task: string; outcome: string; tries: number }[]>`
    select r.pipeline, t.task,
           case when t.state = 'succeeded' then 'ok' else coalesce(t.failure, 'transient') end
             as outcome,
           count(*)::float8 as tries
    from meta.task_tries t join meta.pipeline_runs r using (run_id)
    where t.state <> 'running'
    group by 1, 2, 3`;
  const tries = new Counts();
  for (const pipeline of Object.values(context.pipelines)) {
    for (const task of pipeline.tasks) {
      for (const outcome of TRY_OUTCOMES) {
        tries.add({ pipeline: pipeline.name, task: task.name, outcome }, 0);
      }
    }
  }
  for (const row of rows) {
    tries.add({ pipeline: row.pipeline, task: row.task, outcome: row.outcome }, row.tries);
  }
  return [{
    name: `${PREFIX}task_tries_total`,
    help: "Finished task tries in the ledger, by pipeline, task and outcome " +
      "(ok, or the failure class: transient, terminal, usage, stopped, timeout, orphaned).",
    type: "counter",
    samples: tries.samples(),
  }];
}

async function loadMetrics(sql: Sql): Promise<MetricFamily[]> {
  const [row] = await sql<
    { rows: number; inserted: number; updated: number; deleted: number; unchanged: number }[]
  >`
    select coalesce(sum(rows_in_file), 0)::float8 as rows,
           coalesce(sum(inserted), 0)::float8 as inserted,
           coalesce(sum(updated), 0)::float8 as updated,
           coalesce(sum(deleted), 0)::float8 as deleted,
           coalesce(sum(unchanged), 0)::float8 as unchanged
    from meta.load_batches where status = 'succeeded'`;
  const changes = ["inserted", "updated", "deleted", "unchanged"] as const;
  return [
    {
      name: `${PREFIX}rows_loaded_total`,
      help: "Rows of the landing files that succeeded loads took into raw.users.",
      type: "counter",
      samples: [{ value: row?.rows ?? 0 }],
    },
    {
      name: `${PREFIX}load_row_changes_total`,
      help: "What succeeded loads did to raw.users, by change (inserted, updated, deleted, " +
        "unchanged).",
      type: "counter",
      samples: changes.map((change) => ({ labels: { change }, value: row?.[change] ?? 0 })),
    },
  ];
}

async function alertMetrics(sql: Sql): Promise<MetricFamily[]> {
  const rows = await sql<{ kind: string; state: string; alerts: number }[]>`
    select kind, state, count(*)::float8 as alerts from meta.alerts
    where state <> 'sending' group by 1, 2`;
  const sent = new Counts();
  const failed = new Counts();
  for (const kind of ALERT_KINDS) {
    sent.add({ kind }, 0);
    failed.add({ kind }, 0);
  }
  for (const row of rows) {
    (row.state === "sent" ? sent : failed).add({ kind: row.kind }, row.alerts);
  }
  return [
    {
      name: `${PREFIX}alerts_sent_total`,
      help: "Webhook alerts delivered, by kind (failure, recovery, warning, stale).",
      type: "counter",
      samples: sent.samples(),
    },
    {
      name: `${PREFIX}alerts_failed_total`,
      help: "Webhook alerts the receiver did not take after every try (down, slow, an error " +
        "status), by kind; the runs they told of kept their outcome.",
      type: "counter",
      samples: failed.samples(),
    },
  ];
}

function schedulerMetrics(_sql: Sql, context: MetricContext): Promise<MetricFamily[]> {
  return Promise.resolve([{
    name: `${PREFIX}scheduler_up`,
    help: "1 while this process runs the scheduler loop (deno task start), else 0.",
    type: "gauge",
    samples: [{ value: context.schedulerUp ? 1 : 0 }],
  }]);
}

/** Every source of `/metrics`, in the order they are printed. */
const SOURCES: readonly MetricSource[] = [
  runMetrics,
  tryMetrics,
  loadMetrics,
  alertMetrics,
  schedulerMetrics,
];

/** Reads every metric family; see the module documentation. */
export async function ledgerMetrics(sql: Sql, context: MetricContext): Promise<MetricFamily[]> {
  return (await Promise.all(SOURCES.map((source) => source(sql, context)))).flat();
}

/** Values by label set, summed, printed in a stable order. */
class Counts {
  readonly #values = new Map<string, { labels: Labels; value: number }>();

  add(labels: Labels, value: number): void {
    const key = JSON.stringify(Object.entries(labels));
    const entry = this.#values.get(key);
    if (entry) entry.value += value;
    else this.#values.set(key, { labels, value });
  }

  samples(): Sample[] {
    return [...this.#values].sort(([a], [b]) => a.localeCompare(b))
      .map(([, { labels, value }]) => ({ labels, value }));
  }
}
