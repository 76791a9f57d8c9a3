/// <reference lib="dom" />
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseHTML } from "linkedom";
import {
  assertExit,
  assertStderrLine,
  createPipelineFixture,
  type PipelineFixture,
} from "./helpers/pipeline_fixture.ts";
import { launchChromium, watchPage } from "./helpers/browser.ts";
import { analysisQuestions } from "./helpers/analysis_questions.ts";

import { ANALYSES_DIR } from "../tasks/shared/paths.ts";
import { readTaskResult } from "../tasks/shared/task_result.ts";
const HOSTILE_CITY = `<script src="https://evil.example/x.js"></script> & "Ville"`;

/** An analysis as the test reads it, independently of the report's own loader. */
interface QuestionFile {
  name: string;
  question: string;
  sql: string;
}

async function questionFiles(dir = ANALYSES_DIR): Promise<QuestionFile[]> {
  const files: QuestionFile[] = [];
  const questions = await analysisQuestions(dir);
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.name.endsWith(".sql")) continue;
    const text = await Deno.readTextFile(join(dir, entry.name));
    const question = questions.get(entry.name.replace(/\.sql$/, ""))?.question;
    assert.ok(question, `${entry.name} has a question in _analyses.yml`);
    const sql = text.replace(/\{\{\s*ref\('(\w+)'\)\s*\}\}/g, "analytics.$1");
    assert.doesNotMatch(sql, /\{\{|\{%/, `${entry.name}: only ref() jinja`);
    files.push({ name: entry.name.replace(/\.sql$/, ""), question, sql });
  }
  assert.ok(files.length >= 10, "the analyses are there");
  return files;
}

/** Writes `dir/_analyses.yml` giving each named analysis `question` and a bar chart. */
async function writeCatalog(dir: string, questions: Record<string, string>): Promise<void> {
  const entries = Object.entries(questions).map(([name, question]) =>
    `  - name: ${name}\n    config:\n      meta:\n        question: ${question}\n        chart: bar\n`
  );
  await Deno.writeTextFile(join(dir, "_analyses.yml"), `analyses:\n${entries.join("")}`);
}

/** What a table cell should say for a value postgres.js parsed, given its column's type. */
function cellMatches(cell: Element, value: unknown, type: number): boolean {
  const text = cell.textContent?.trim() ?? "";
  if (value === null) return cell.hasAttribute("data-null");
  if (value instanceof Date) return text === value.toISOString().slice(0, 10);
  if (typeof value === "boolean") return text === String(value);
  if ([20, 21, 23, 700, 701, 1700].includes(type)) {
    return text.replaceAll(",", "") === String(value) ||
      Number(text.replaceAll(",", "")) === Number(value);
  }
  return text === String(value);
}

async function runPipeline(fixture: PipelineFixture): Promise<void> {
  assertExit(
    await fixture.cli(["run", "all", "--ds", "2026-01-02"], {
      USERS_PER_RUN: "2000",
      TASK_RETRY_DELAY: "50ms",
    }),
    0,
  );
  // A city name that is an HTML injection: the report must show it as text, not run it.
  await fixture.db.sql`
    update analytics.dim_geography set city = ${HOSTILE_CITY}
    where geography_key = (
      select g.geography_key from analytics.fct_registrations f
      join analytics.dim_geography g using (geography_key)
      group by g.geography_key order by count(*) desc, g.geography_key limit 1)`;
}

Deno.test("report answers every analysis with a chart and a table, equal to the SQL answers", async (t) => {
  await using fixture = await createPipelineFixture();
  await runPipeline(fixture);
  const questions = await questionFiles();
  const file = join(fixture.workspace.dataDir, "report", "index.html");

  const result = await fixture.run("report");
  assertExit(result, 0);
  // One summary line for people, then the result line (`task_result.ts`), and nothing else.
  const [summary, resultLine, ...rest] = result.stdout.split("\n");
  assert.match(
    summary ?? "",
    new RegExp(
      `^report questions=${questions.length} rows=\\d+ file=${file} bytes=\\d+ seconds=\\d+\\.\\d\\d$`,
    ),
  );
  assert.equal(readTaskResult(resultLine ?? "")?.counts.questions, questions.length);
  assert.deepEqual(rest, [""]);
  const html = await Deno.readTextFile(file);
  const { document } = parseHTML(html);

  await t.step("the page loads nothing: no script, no external style, font or link", () => {
    assert.equal(document.querySelectorAll("script, link, iframe, object, embed, img").length, 0);
    for (const element of document.querySelectorAll("*")) {
      for (const name of ["src", "href", "xlink:href", "srcset", "action", "data", "poster"]) {
        const value = element.getAttribute(name);
        if (value !== null) assert.match(value, /^#/, `<${element.tagName} ${name}="${value}">`);
      }
    }
    for (const style of document.querySelectorAll("style")) {
      assert.doesNotMatch(style.textContent ?? "", /url\(|@import/);
    }
    assert.doesNotMatch(html, /<script/i);
  });

  await t.step("the header tells how fresh the data is", () => {
    const header = document.querySelector("header")?.textContent ?? "";
    assert.match(header, /Latest load date\s*2026-01-02/);
    assert.match(header, /Ages as of\s*2026-01-02/);
    assert.match(header, /Users \(dim_user\)\s*2,000/);
    for (const mart of ["fct_registrations", "fct_load_batches", "dim_user", "dim_date"]) {
      assert.match(header, new RegExp(`${mart}\\s*[\\d,]+`));
    }
  });

  await t.step("every question has a section with a drawn chart and a non-empty table", () => {
    for (const { name, question } of questions) {
      const section = document.querySelector(`section[data-analysis="${name}"]`);
      assert.ok(section, `a section for ${name}`);
      assert.equal(section.querySelector("h2")?.textContent?.includes(question), true, name);
      const svg = section.querySelector("figure.chart svg");
      assert.ok(svg, `${name} has a chart`);
      const marks = svg.querySelectorAll("g.role-mark path, g.role-mark text");
      assert.ok(marks.length > 0, `${name}'s chart has marks`);
      assert.ok(section.querySelectorAll("table tbody tr").length > 0, `${name} has rows`);
    }
  });

  await t.step("every table holds exactly the SQL answer", async () => {
    for (const { name, sql } of questions) {
      const answer = await fixture.db.sql.unsafe(sql);
      const table = document.querySelector(`section[data-analysis="${name}"] table`);
      assert.ok(table, name);
      const headers = [...table.querySelectorAll("thead th")].map((th) =>
        th.getAttribute("data-column")
      );
      assert.deepEqual(headers, answer.columns.map((column) => column.name), name);
      const rows = [...table.querySelectorAll("tbody tr")];
      assert.equal(rows.length, answer.length, `${name}: row count`);
      answer.forEach((row, r) => {
        const cells = [...(rows[r]?.querySelectorAll("td") ?? [])];
        answer.columns.forEach((column, c) => {
          const cell = cells[c];
          assert.ok(cell, `${name} row ${r} column ${column.name}`);
          const value = (row as Record<string, unknown>)[column.name];
          assert.ok(
            cellMatches(cell, value, column.type),
            `${name} row ${r} ${column.name}: the report says "${cell.textContent}", SQL says ${
              String(value)
            }`,
          );
        });
      });
    }
  });

  await t.step("names are shown as text, never as markup", () => {
    const cities = document.querySelector('section[data-analysis="top_cities"]');
    assert.ok(cities?.textContent?.includes(HOSTILE_CITY), "the hostile city is in the table");
    assert.ok(html.includes("&lt;script src=&quot;https://evil.example/x.js&quot;&gt;"));
  });

  await t.step({
    name: "in Chromium the file opens offline, every chart renders, nothing fails",
    fn: async () => {
      await using browser = await launchChromium();
      console.error(`report test: ${browser.source}`);
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const { requests, errors } = watchPage(page);
      await page.route(
        "**/*",
        (route) => route.request().url().startsWith("file://") ? route.continue() : route.abort(),
      );
      await page.goto(`file://${file}`, { waitUntil: "load" });

      const charts = await page.$$eval(
        "section.question",
        (sections) =>
          sections.map((section) => {
            const svg = section.querySelector("figure.chart svg");
            const box = svg?.getBoundingClientRect();
            const drawn = [...(svg?.querySelectorAll("g.role-mark path") ?? [])]
              .filter((path) => {
                const bbox = (path as SVGGraphicsElement).getBBox();
                return bbox.width > 0 || bbox.height > 0;
              });
            return {
              name: section.getAttribute("data-analysis"),
              width: box?.width ?? 0,
              height: box?.height ?? 0,
              drawn: drawn.length,
              rows: section.querySelectorAll("tbody tr").length,
            };
          }),
      );
      assert.deepEqual(
        charts.map((chart) => chart.name).sort(),
        questions.map((q) => q.name).sort(),
      );
      for (const chart of charts) {
        assert.ok(
          chart.width > 200 && chart.height > 100,
          `${chart.name}: ${JSON.stringify(chart)}`,
        );
        assert.ok(chart.drawn > 0, `${chart.name} draws marks`);
        assert.ok(chart.rows > 0, `${chart.name} has rows`);
      }
      assert.equal(await page.evaluate(() => document.scripts.length), 0);
      assert.deepEqual(errors, []);
      assert.deepEqual(requests, [`file://${file}`]);

      const screenshot = join(fixture.workspace.dataDir, "report", "report.png");
      await page.screenshot({ path: screenshot, fullPage: true });
      const png = await Deno.readFile(screenshot);
      assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47], "a PNG");
      assert.ok(png.length > 50_000, `a real screenshot (${png.length} bytes)`);
    },
  });

  await t.step("--out writes where it is told", async () => {
    const out = join(fixture.workspace.dir, "elsewhere", "report.html");
    assertExit(await fixture.run("report", ["--out", out]), 0);
    assert.match(await Deno.readTextFile(out), /^<!doctype html>/);
  });

  await t.step("an analysis that fails names its file, and runs as the analyst", async () => {
    const dir = join(fixture.workspace.dir, "analyses");
    await Deno.mkdir(dir);
    await Deno.copyFile(join(ANALYSES_DIR, "top_cities.sql"), join(dir, "top_cities.sql"));
    await writeCatalog(dir, { top_cities: "Top cities?", password_peek: "Can it read raw data?" });
    await Deno.writeTextFile(
      join(dir, "password_peek.sql"),
      "select login_password, count(*) from raw.users group by 1",
    );
    const result = await fixture.run("report", ["--analyses", dir, "--out", `${dir}/out.html`]);
    assertExit(result, 3);
    assert.match(
      result.stderr,
      /error: analysis .*password_peek\.sql failed: permission denied for schema raw\..*analyst/,
    );
    await assert.rejects(Deno.stat(`${dir}/out.html`), Deno.errors.NotFound);
  });

  await t.step("an analysis with jinja other than ref() is refused by name", async () => {
    const dir = join(fixture.workspace.dir, "jinja");
    await Deno.mkdir(dir);
    await writeCatalog(dir, { by_ds: "Users of one ds?" });
    await Deno.writeTextFile(
      join(dir, "by_ds.sql"),
      "select count(*) from {{ ref('dim_user') }} where load_date = '{{ var(\"ds\") }}'",
    );
    const result = await fixture.run("report", ["--analyses", dir]);
    assertExit(result, 3);
    assert.match(result.stderr, /error: .*by_ds\.sql uses jinja the report cannot run \(\{\{ var/);
  });

  await t.step(
    "an analysis whose question or chart is missing from the YAML is refused by name",
    async () => {
      const dir = join(fixture.workspace.dir, "unasked");
      await Deno.mkdir(dir);
      const catalog = join(dir, "_analyses.yml");
      for (const name of ["top_cities", "top_countries"]) {
        await Deno.copyFile(join(ANALYSES_DIR, `${name}.sql`), join(dir, `${name}.sql`));
      }
      const cases = [
        {
          yaml:
            "analyses:\n  - name: top_cities\n    config: { meta: { question: Where?, chart: bar } }\n",
          error: new RegExp(
            `analysis top_countries \\(top_countries\\.sql\\) is not listed in ${catalog}`,
          ),
        },
        {
          yaml: "analyses:\n  - name: top_cities\n    config: { meta: { chart: bar } }\n" +
            "  - name: top_countries\n    config: { meta: { question: Where?, chart: bar } }\n",
          error: new RegExp(
            `analysis top_cities \\(top_cities\\.sql\\) has no config\\.meta\\.question in ${catalog}`,
          ),
        },
        {
          yaml:
            "analyses:\n  - name: top_cities\n    config: { meta: { question: Where?, chart: bar } }\n" +
            "  - name: top_countries\n    config: { meta: { question: Where?, chart: map } }\n",
          error: new RegExp(
            `analysis top_countries \\(top_countries\\.sql\\) needs config\\.meta\\.chart in ${catalog}, ` +
              'one of bar, stacked_bar, grouped_bar, line, pie \\(it says "map"\\)',
          ),
        },
      ];
      for (const { yaml, error } of cases) {
        await Deno.writeTextFile(catalog, yaml);
        const result = await fixture.run("report", ["--analyses", dir, "--out", `${dir}/out.html`]);
        assertExit(result, 3);
        assertStderrLine(result.stderr, error);
        await assert.rejects(Deno.stat(`${dir}/out.html`), Deno.errors.NotFound);
      }
      await Deno.remove(catalog);
      const result = await fixture.run("report", ["--analyses", dir]);
      assertExit(result, 3);
      assertStderrLine(
        result.stderr,
        new RegExp(
          `no ${catalog}: each analysis needs an entry there with config\\.meta\\.question`,
        ),
      );
    },
  );
});

Deno.test("report says what to run when the warehouse has no marts yet", async (t) => {
  await using fixture = await createPipelineFixture();

  await t.step("--help and a bad flag", async () => {
    const help = await fixture.run("report", ["--help"]);
    assertExit(help, 0);
    assert.match(help.stdout, /--out <file>/);
    const bad = await fixture.run("report", ["--colour", "blue"]);
    assertExit(bad, 2);
    assertStderrLine(bad.stderr, /^error: unknown option '--colour'/);
  });

  await t.step("before anything ran: no marts", async () => {
    const result = await fixture.run("report");
    assertExit(result, 3);
    assert.match(result.stderr, /the marts are not built yet .*run `deno task transform`/);
  });

  await t.step("after migrate, before transform: no marts", async () => {
    assertExit(await fixture.run("migrate"), 0);
    const result = await fixture.run("report");
    assertExit(result, 3);
    assert.match(result.stderr, /the marts are not built yet .*run `deno task transform`/);
    await assert.rejects(
      Deno.stat(join(fixture.workspace.dataDir, "report", "index.html")),
      Deno.errors.NotFound,
    );
  });
});
