/// <reference lib="dom" />
/**
 * The operations console as `deno task console` serves it, after a day with a succeeded and a
 * terminally failed run — real runs, whose error line and output carry HTML: the pages, the JSON,
 * bad input, the report link, the escaping, no secret in any answer, and a real browser.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseHTML } from "linkedom";
import { assertExit, createPipelineFixture } from "./helpers/pipeline_fixture.ts";
import { launchChromium, watchPage } from "./helpers/browser.ts";
import { startConsoleProcess } from "./helpers/console_process.ts";

const FAST = { USERS_PER_RUN: "300", TASK_RETRY_DELAY: "50ms" };
/** A column name that is markup: it ends up in the failed run's error line and output. */
const HOSTILE = `"><img src=x onerror=alert(1)><script>alert(2)</script>`;
const SECRETS = {
  ANALYST_PASSWORD: "analyst-Secret-4417",
  METABASE_ADMIN_PASSWORD: "Metabase-Secret-9931",
  CONSOLE_TOKEN: "console-secret-token-5521",
};
const PAGE_POLICY = "default-src 'none'; style-src 'self'; img-src 'self' data:; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

interface Answer {
  readonly path: string;
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}

Deno.test("the console shows a day with a succeeded and a terminally failed run, safely", async (t) => {
  await using fixture = await createPipelineFixture();
  assertExit(await fixture.cli(["run", "extract_load", "--ds", "2026-01-02"], FAST), 0);
  await fixture.db.sql`alter table raw.users add column ${fixture.db.sql(HOSTILE)} text`;
  assertExit(await fixture.cli(["run", "extract_load", "--ds", "2026-01-03"], FAST), 3);
  const runIds = new Map(
    (await fixture.db.sql<{ ds: string; run_id: string }[]>`
      select ds::text as ds, run_id from meta.pipeline_runs`).map((r) => [r.ds, r.run_id]),
  );
  const succeeded = runIds.get("2026-01-02")!;
  const failed = runIds.get("2026-01-03")!;

  await using served = await startConsoleProcess(fixture, "console", SECRETS);
  const origin = new URL(served.url).origin;
  const answers: Answer[] = [];
  const get = async (path: string, init?: RequestInit): Promise<Answer> => {
    const response = await fetch(new URL(path, served.url), init);
    const answer = {
      path,
      status: response.status,
      headers: response.headers,
      body: await response.text(),
    };
    answers.push(answer);
    return answer;
  };
  const ledgerChecksum = async () => {
    const [row] = await fixture.db.sql`
      select md5(coalesce((select string_agg(r::text, '|' order by run_id) from meta.pipeline_runs r), '')
        || coalesce((select string_agg(t::text, '|' order by run_id, task, try_number)
                     from meta.task_tries t), '')) as md5`;
    return row?.md5 as string;
  };

  await t.step("the overview's grid shows both runs, each cell linking to its run", async () => {
    const overview = await get("/");
    assert.equal(overview.status, 200);
    assert.equal(overview.headers.get("content-security-policy"), PAGE_POLICY);
    const { document } = parseHTML(overview.body);
    const cells = [...document.querySelectorAll("a.cell")].map((cell) => [
      cell.getAttribute("data-pipeline"),
      cell.getAttribute("data-ds"),
      cell.getAttribute("data-state"),
      cell.getAttribute("href"),
    ]);
    assert.deepEqual(cells, [
      ["extract_load", "2026-01-02", "succeeded", `/runs/${succeeded}`],
      ["extract_load", "2026-01-03", "failed", `/runs/${failed}`],
    ]);
    const card = document.querySelector('[data-pipeline="extract_load"]')!.textContent!;
    assert.match(card, /Last run\s+failed · terminal\s+ds 2026-01-03/);
    assert.match(card, /Last success\s+ds 2026-01-02/);
    assert.match(card, /Next run\s+\d{4}-\d{2}-\d{2} 00:05:00/);
    const load = document.querySelector("[data-latest-load]")!.textContent!;
    assert.match(load, /ds\s+2026-01-02\s+Rows\s+300/);
    assert.equal(document.querySelectorAll("script").length, 0);
    assert.equal(document.querySelector("form"), null, "deno task console offers no action");
  });

  await t.step(
    "the failed run's page shows every try, the error line and the output, as text",
    async () => {
      const page = await get(`/runs/${failed}`);
      assert.equal(page.status, 200);
      const { document } = parseHTML(page.body);
      assert.deepEqual(
        [...document.querySelectorAll("h3[data-task]")].map((h) => h.getAttribute("data-task")),
        ["migrate", "extract", "load"],
      );
      const load = document.querySelector('h3[data-task="load"] + div tbody tr')!;
      const cells = [...load.querySelectorAll("td")].map((td) => td.textContent!.trim());
      assert.deepEqual([cells[0], cells[1], cells[5], cells[6]], [
        "1",
        "failed · terminal",
        "3",
        "terminal",
      ]);
      assert.match(cells[8]!, /^the CSV header of .* does not match raw\.users \(missing /);
      assert.ok(cells[8]!.includes(HOSTILE), "the error line shows the markup as text");
      assert.ok(document.querySelector("[data-run-error]")!.textContent!.includes(HOSTILE));
      const outputs = [...document.querySelectorAll("details[data-output] pre")].map((pre) =>
        pre.textContent!
      );
      assert.equal(outputs.length, 3, "one output per try");
      assert.ok(outputs[2]!.includes(`error: the CSV header of`), outputs[2]!);
      assert.ok(outputs[2]!.includes(HOSTILE));
      assert.match(outputs[1]!, /^extract ds=2026-01-03 users=300 /m, "the extract's summary line");
      // The markup is escaped in the HTML itself: no element was made of it.
      assert.equal(document.querySelectorAll("script, img").length, 0);
      assert.ok(!page.body.includes("<script>alert"), "no raw <script>");
      assert.ok(!page.body.includes("<img src=x"), "no raw <img>");
      assert.ok(page.body.includes("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;"));
    },
  );

  await t.step("/api/runs is what deno task status --json prints", async () => {
    const status = await fixture.cli(["status", "--json", "--limit", "5"]);
    assertExit(status, 0);
    const api = await get("/api/runs?limit=5");
    assert.equal(api.status, 200);
    assert.match(api.headers.get("content-type")!, /^application\/json/);
    assert.deepEqual(JSON.parse(api.body), JSON.parse(status.stdout));
    assert.equal(JSON.parse((await get("/api/runs?limit=1")).body).length, 1);
  });

  await t.step("the data page shows rows per ds and the loads", async () => {
    const data = await get("/data");
    assert.equal(data.status, 200);
    const { document } = parseHTML(data.body);
    const row = (ds: string) =>
      [...document.querySelectorAll(`tr[data-ds="${ds}"] td`)].map((td) => td.textContent!.trim());
    assert.deepEqual(row("2026-01-02"), ["2026-01-02", "300", "—", "0", "0"]);
    assert.deepEqual(row("2026-01-03").slice(0, 2), ["2026-01-03", "0"]);
    const [batch] = await fixture.db.sql`
      select batch_id from meta.load_batches where status = 'succeeded'`;
    assert.ok(data.body.includes(batch!.batch_id), "the succeeded load is listed");
  });

  await t.step("the report is linked once it has been written", async () => {
    assert.equal((await get("/report")).status, 404);
    assert.doesNotMatch((await get("/")).body, /href="\/report"/);
    const report = join(fixture.workspace.dataDir, "report", "index.html");
    await Deno.mkdir(join(fixture.workspace.dataDir, "report"), { recursive: true });
    await Deno.writeTextFile(report, "<!doctype html><title>report</title><style>p{}</style><p>ok");
    assert.match((await get("/")).body, /href="\/report"/);
    const served = await get("/report");
    assert.equal(served.status, 200);
    assert.equal(served.body, await Deno.readTextFile(report));
    assert.match(
      served.headers.get("content-security-policy")!,
      /^default-src 'none'; style-src 'unsafe-inline';/,
    );
  });

  await t.step("bad input gets a clear answer and changes nothing", async () => {
    const before = await ledgerChecksum();
    const cases: Array<[string, RequestInit | undefined, number, RegExp]> = [
      [
        "/runs/01ARZ3NDEKTSV4RRFFQ69G5FAV",
        undefined,
        404,
        /There is no run 01ARZ3NDEKTSV4RRFFQ69G5FAV in the ledger\./,
      ],
      ["/runs/%3Cscript%3E", undefined, 404, /There is no run &lt;script&gt; in the ledger\./],
      ["/runs/%E0%A4%A", undefined, 404, /There is no run %E0%A4%A in the ledger\./],
      [
        "/api/runs?limit=0",
        undefined,
        400,
        /limit: expected a whole number from 1 to 1000, got \\"0\\"/,
      ],
      [
        "/api/runs?limit=ten",
        undefined,
        400,
        /limit: expected a whole number from 1 to 1000, got \\"ten\\"/,
      ],
      ["/nowhere", undefined, 404, /There is no page \/nowhere here\./],
      ["/", { method: "DELETE" }, 405, /method not allowed; allowed: GET, HEAD/],
      [
        "/actions/run",
        {
          method: "POST",
          headers: { origin, "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({
            pipeline: "extract_load",
            ds: "2026-01-03",
            token: SECRETS.CONSOLE_TOKEN,
          }),
        },
        403,
        /Refused: deno task console is a read-only view of the ledger/,
      ],
    ];
    for (const [path, init, status, message] of cases) {
      const answer = await get(path, init);
      assert.equal(answer.status, status, `${path}: ${answer.body}`);
      assert.match(answer.body, message, path);
    }
    assert.equal(await ledgerChecksum(), before);
  });

  await t.step(
    "in Chromium with scripting off: both states in the grid, the failed cell leads to its error and output",
    async () => {
      await using browser = await launchChromium();
      const page = await browser.newPage({
        viewport: { width: 1280, height: 900 },
        javaScriptEnabled: false,
      });
      const { requests, errors } = watchPage(page);
      await page.goto(served.url, { waitUntil: "load" });
      assert.equal(await page.locator('a.cell[data-state="succeeded"]').count(), 1);
      assert.equal(await page.locator('a.cell[data-state="failed"]').count(), 1);
      const screenshot = Deno.env.get("CONSOLE_SCREENSHOT") ??
        join(fixture.workspace.dir, "console.png");
      await page.screenshot({ path: screenshot, fullPage: true });
      const png = await Deno.readFile(screenshot);
      assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47], "a PNG");
      assert.ok(png.length > 30_000, `a real screenshot (${png.length} bytes)`);

      await page.locator('a.cell[data-state="failed"]').click();
      await page.waitForURL(`**/runs/${failed}`);
      assert.ok((await page.locator("[data-run-error]").textContent())!.includes(HOSTILE));
      const output = await page.locator('h3[data-task="load"] ~ details[data-output="1"] pre')
        .first().textContent();
      assert.ok(output!.includes(`error: the CSV header of`) && output!.includes(HOSTILE), output!);
      assert.ok(
        await page.locator("details[open] pre.output").first().isVisible(),
        "a failed try's output is open",
      );
      assert.deepEqual(errors, []);
      const elsewhere = requests.filter((url) =>
        !url.startsWith("data:") && new URL(url).origin !== origin
      );
      assert.deepEqual(elsewhere, [], "no request but to the console");
      assert.ok(
        requests.some((url) => url.endsWith("/console.css")),
        "the stylesheet is the console's",
      );
    },
  );

  await t.step(
    "no password or token reaches any answer, even when the ledger holds one",
    async () => {
      const warehousePassword = decodeURIComponent(new URL(fixture.db.url).password);
      assert.ok(warehousePassword.length > 0, "the test warehouse has a password");
      const secrets = [...Object.values(SECRETS), warehousePassword];
      // Rows written by a process that did not know these secrets (an Airflow worker, an older
      // version): the console must hide them anyway.
      await fixture.db.sql`
        update meta.task_try_output
        set output = output || ${`\nleaked ${SECRETS.ANALYST_PASSWORD} ${fixture.db.url}`}
        where run_id = ${failed} and task = 'load'`;
      await fixture.db.sql`
        update meta.task_tries set error = ${`token ${SECRETS.CONSOLE_TOKEN}`}
        where run_id = ${failed} and task = 'load'`;
      await fixture.db.sql`
      update meta.pipeline_runs set error = error || ${` ${SECRETS.METABASE_ADMIN_PASSWORD}`}
      where run_id = ${failed}`;
      await fixture.db.sql`
      update meta.load_batches set error = ${`password ${warehousePassword}`} where status = 'failed'`;
      for (
        const path of [
          "/",
          `/runs/${failed}`,
          `/runs/${succeeded}`,
          "/data",
          "/api/runs",
          "/metrics",
          "/healthz",
          "/console.css",
          "/report",
        ]
      ) {
        assert.equal((await get(path)).status, 200, path);
      }
      const run = await get(`/runs/${failed}`);
      assert.match(
        run.body,
        /leaked \*\*\* postgres:\/\/[^:]+:\*\*\*@/,
        "the planted secrets show as ***",
      );
      assert.match(run.body, /token \*\*\*/);
      for (const answer of answers) {
        const text = answer.body +
          [...answer.headers].map(([name, value]) => `${name}: ${value}`).join("\n");
        for (const secret of secrets) {
          assert.ok(!text.includes(secret), `${answer.path} (${answer.status}) shows a secret`);
        }
        assert.ok(answer.headers.get("content-security-policy"), `${answer.path} has a CSP`);
        assert.equal(answer.headers.get("x-content-type-options"), "nosniff");
      }
    },
  );

  const status = await served.stop();
  assert.equal(status.code, 0, served.stderr());
});
