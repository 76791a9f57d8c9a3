/**
 * `/metrics` against the real thing: `promtool check metrics` lints it, and a real Prometheus
 * (Debian's `prometheus`, on loopback, with a scrape configuration written here) scrapes the
 * console; PromQL answers through Prometheus' HTTP API must equal the ledger's own counts.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fillLedgerHistory, historyConsole } from "../bench/ledger_history.ts";
import { migrate } from "../tasks/warehouse/migrations.ts";
import { createTestDatabase } from "./helpers/test_warehouse.ts";

const decoder = new TextDecoder();

/** A Prometheus tool on PATH, or a failure that says how to get it. */
async function tool(name: "prometheus" | "promtool"): Promise<string> {
  const found = await new Deno.Command("sh", {
    args: ["-c", `command -v ${name}`],
    stdout: "piped",
  })
    .output();
  const path = decoder.decode(found.stdout).trim();
  assert.ok(found.success && path, `${name} is not installed: apt-get install prometheus (Debian)`);
  return path;
}

function freePort(): number {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  return listener.addr.port;
}

interface Vector {
  metric: Record<string, string>;
  value: [number, string];
}

Deno.test("a real Prometheus scrapes /metrics, its PromQL answers equal the ledger's counts, and promtool passes it", async () => {
  await using db = await createTestDatabase();
  await migrate(db.sql);
  const history = await fillLedgerHistory(db.sql, { days: 40, lastDs: "2026-01-01" });
  await using server = historyConsole(db.url);
  const target = new URL(server.url).host;

  const exposition = await (await fetch(new URL("/metrics", server.url))).text();
  const check = new Deno.Command(await tool("promtool"), {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = check.stdin.getWriter();
  await writer.write(new TextEncoder().encode(exposition));
  await writer.close();
  const linted = await check.output();
  assert.ok(
    linted.success,
    `promtool: ${decoder.decode(linted.stdout)}${decoder.decode(linted.stderr)}`,
  );
  for (
    const name of [
      "runs_total",
      "task_tries_total",
      "last_success_timestamp_seconds",
      "rows_loaded_total",
      "run_duration_seconds",
      "alerts_sent_total",
      "alerts_failed_total",
      "scheduler_up",
    ]
  ) {
    assert.match(
      exposition,
      new RegExp(`^# HELP randomuser_elt_${name} .+\\n# TYPE randomuser_elt_${name} `, "m"),
    );
  }

  const dir = await Deno.makeTempDir({ prefix: "relt-prometheus-" });
  const port = freePort();
  await Deno.writeTextFile(
    join(dir, "prometheus.yml"),
    [
      "global:",
      "  scrape_interval: 1s",
      "scrape_configs:",
      "  - job_name: randomuser-elt",
      "    static_configs:",
      `      - targets: ["${target}"]`,
      "",
    ].join("\n"),
  );
  const prometheus = new Deno.Command(await tool("prometheus"), {
    args: [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const log = (async () => {
    let text = "";
    for await (const chunk of prometheus.stderr) text += decoder.decode(chunk, { stream: true });
    return text;
  })();
  const query = async (promql: string): Promise<Vector[]> => {
    const response = await fetch(
      `http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(promql)}`,
    );
    const body = await response.json() as { status: string; data: { result: Vector[] } };
    assert.equal(body.status, "success", JSON.stringify(body));
    return body.data.result;
  };
  try {
    const deadline = Date.now() + 90_000;
    while (true) {
      const scraped = await query('up{job="randomuser-elt"}').catch(() => []);
      if (scraped.length > 0 && scraped[0]!.value[1] === "1") break;
      assert.ok(Date.now() < deadline, "Prometheus did not scrape the console");
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const byLabels = (vectors: Vector[], ...labels: string[]) =>
      Object.fromEntries(
        vectors.map((v) => [labels.map((l) => v.metric[l]).join(" "), Number(v.value[1])]),
      );

    const runs = await db.sql<{ pipeline: string; state: string; n: number }[]>`
      select pipeline, state, count(*)::int as n from meta.pipeline_runs group by 1, 2`;
    assert.deepEqual(
      byLabels(
        await query("sum by (pipeline, state) (randomuser_elt_runs_total) > 0"),
        "pipeline",
        "state",
      ),
      Object.fromEntries(runs.map((r) => [`${r.pipeline} ${r.state}`, r.n])),
    );
    assert.equal(runs.reduce((sum, r) => sum + r.n, 0), history.runs);

    const tries = await db.sql<{ outcome: string; n: number }[]>`
      select case when state = 'succeeded' then 'ok' else failure end as outcome, count(*)::int as n
      from meta.task_tries group by 1`;
    assert.deepEqual(
      byLabels(await query("sum by (outcome) (randomuser_elt_task_tries_total) > 0"), "outcome"),
      Object.fromEntries(tries.map((r) => [r.outcome, r.n])),
    );

    const [loads] = await db.sql`
      select sum(rows_in_file)::float8 as rows from meta.load_batches where status = 'succeeded'`;
    assert.equal(
      Number((await query("randomuser_elt_rows_loaded_total"))[0]!.value[1]),
      loads!.rows,
    );

    const lastSuccess = await db.sql<{ pipeline: string; seconds: number }[]>`
      select pipeline, extract(epoch from max(finished_at))::float8 as seconds
      from meta.pipeline_runs where state = 'succeeded' group by 1`;
    assert.deepEqual(
      byLabels(await query("randomuser_elt_last_success_timestamp_seconds"), "pipeline"),
      Object.fromEntries(lastSuccess.map((r) => [r.pipeline, r.seconds])),
    );

    const [slow] = await db.sql`
      select count(*)::int as n from meta.pipeline_runs
      where pipeline = 'extract_load' and finished_at - started_at <= interval '300 seconds'`;
    const bucket = await query(
      'randomuser_elt_run_duration_seconds_bucket{pipeline="extract_load",le="300"}',
    );
    assert.equal(Number(bucket[0]!.value[1]), slow!.n);
    assert.equal(Number((await query("randomuser_elt_scheduler_up"))[0]!.value[1]), 0);
  } finally {
    prometheus.kill("SIGTERM");
    await prometheus.status;
    await log;
    await Deno.remove(dir, { recursive: true });
  }
});
