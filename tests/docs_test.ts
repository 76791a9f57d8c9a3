/**
 * The documentation held true: every relative link and `#anchor` in `README.md` and `docs/`
 * resolves, `docs/configuration.md` documents exactly the variables the configuration reads (each
 * with its default), `docs/commands.md` names every task of `deno.json`, and the star schema's
 * `erDiagram` in `docs/data-model.md` names exactly the marts dbt builds.
 */
import assert from "node:assert/strict";
import { basename, dirname, extname, join, relative } from "node:path";
import { CONFIG_VARIABLES, hasFixedDefault, loadConfig } from "../tasks/shared/config.ts";
import { DBT_PROJECT_DIR, DENO_JSON, PROJECT_ROOT, projectPath } from "../tasks/shared/paths.ts";

const DOCS_DIR = projectPath("docs");

/** README.md and every Markdown file under docs/, as absolute paths. */
function markdownFiles(): string[] {
  const docs = [...Deno.readDirSync(DOCS_DIR)]
    .filter((entry) => entry.isFile && entry.name.endsWith(".md"))
    .map((entry) => join(DOCS_DIR, entry.name));
  return [projectPath("README.md"), ...docs.sort()];
}

/** The text outside fenced code blocks, with inline code spans blanked (links there are text). */
function prose(markdown: string): string {
  return withoutFences(markdown).replace(/`[^`\n]*`/g, "``");
}

function withoutFences(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "");
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading.trim().toLowerCase()
    .replace(/[^\p{Letter}\p{Number}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

/** Every anchor a Markdown file's headings make, as GitHub numbers repeated ones. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const match of withoutFences(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = slug(match[1]!);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

/** The link targets of a Markdown file (inline links and images), outside code. */
function linkTargets(markdown: string): string[] {
  return [...prose(markdown).matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)]
    .map((match) => match[1]!);
}

Deno.test("every relative link and #anchor in the README and docs/ resolves", async () => {
  const broken: string[] = [];
  for (const file of markdownFiles()) {
    const text = await Deno.readTextFile(file);
    for (const target of linkTargets(text)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: — not ours to check
      const [path, anchor] = target.split("#", 2) as [string, string | undefined];
      const resolved = path === "" ? file : join(dirname(file), decodeURIComponent(path));
      const where = `${relative(PROJECT_ROOT, file)} → ${target}`;
      let stat: Deno.FileInfo;
      try {
        stat = await Deno.stat(resolved);
      } catch {
        broken.push(`${where}: no such file`);
        continue;
      }
      if (anchor === undefined) continue;
      if (!stat.isFile || extname(resolved) !== ".md") {
        broken.push(`${where}: an anchor into something that is not a Markdown file`);
      } else if (!anchors(await Deno.readTextFile(resolved)).has(anchor)) {
        broken.push(`${where}: no heading makes #${anchor}`);
      }
    }
  }
  assert.deepEqual(broken, []);
});

Deno.test("the anchor rules match GitHub's for the headings these docs use", () => {
  assert.deepEqual(
    [...anchors(
      "# Run on Airflow\n## What is exercised, and what is not\n## `deno task x`\n## A\n## A",
    )],
    ["run-on-airflow", "what-is-exercised-and-what-is-not", "deno-task-x", "a", "a-1"],
  );
  assert.deepEqual(linkTargets("[a](b.md#c) `[x](nope.md)`\n```\n[y](nope.md)\n```\n![i](p.png)"), [
    "b.md#c",
    "p.png",
  ]);
});

/** The rows of docs/configuration.md's variable table: name → default cell. */
async function documentedVariables(): Promise<Map<string, string>> {
  const text = await Deno.readTextFile(join(DOCS_DIR, "configuration.md"));
  const rows = new Map<string, string>();
  for (const match of text.matchAll(/^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|\s*([^|]*?)\s*\|/gm)) {
    assert.ok(!rows.has(match[1]!), `docs/configuration.md has two rows for ${match[1]}`);
    rows.set(match[1]!, match[2]!);
  }
  return rows;
}

Deno.test("docs/configuration.md names exactly the variables the configuration reads", async () => {
  const rows = await documentedVariables();
  assert.deepEqual([...rows.keys()].sort(), [...CONFIG_VARIABLES].sort());
  // Nor does its prose name a variable the configuration does not read.
  const text = await Deno.readTextFile(join(DOCS_DIR, "configuration.md"));
  const named = new Set(
    [...text.matchAll(/`([A-Z][A-Z0-9]*_[A-Z0-9_]+)`/g)].map((match) => match[1]!),
  );
  const known: ReadonlySet<string> = new Set(CONFIG_VARIABLES);
  assert.deepEqual([...named].filter((name) => !known.has(name)), []);
});

Deno.test("the default docs/configuration.md gives each variable is the one it has", async () => {
  const unset = await loadConfig({ env: {}, envFile: null });
  const rows = await documentedVariables();
  for (const name of CONFIG_VARIABLES) {
    const cell = rows.get(name) ?? "";
    assert.notEqual(cell, "", `${name} has no default in docs/configuration.md`);
    const literal = /^`([^`]*)`$/.exec(cell)?.[1];
    // A default written as a value must be the value: setting it changes nothing. A default in
    // words ("unset → embedded PostgreSQL") is for a variable with no fixed value.
    if (literal !== undefined) {
      const set = await loadConfig({ env: { [name]: literal }, envFile: null });
      assert.deepEqual(set, unset, `${name}=${literal} is not its default`);
    } else {
      assert.ok(!hasFixedDefault(name), `${name} has a fixed default; write it as \`value\``);
    }
  }
});

Deno.test("docs/commands.md names every task of deno.json", async () => {
  const { tasks } = JSON.parse(await Deno.readTextFile(DENO_JSON)) as {
    tasks: Record<string, unknown>;
  };
  const text = await Deno.readTextFile(join(DOCS_DIR, "commands.md"));
  const missing = Object.keys(tasks).filter((task) =>
    !new RegExp(`deno task ${task.replace(/[.*+?^${}()|[\]\\:]/g, "\\$&")}(?![\\w:-])`).test(text)
  );
  assert.deepEqual(missing, []);
});

Deno.test("the star schema's erDiagram names exactly the marts dbt builds", async () => {
  const text = await Deno.readTextFile(join(DOCS_DIR, "data-model.md"));
  const diagrams = [...text.matchAll(/^```mermaid\n(erDiagram\n[\s\S]*?)^```$/gm)];
  assert.equal(diagrams.length, 1, "docs/data-model.md has one erDiagram");
  const diagram = diagrams[0]![1]!;
  const entities = new Set<string>();
  for (const match of diagram.matchAll(/^\s*(\w+)\s+[|}o]\S*--\S*[|{o]\s+(\w+)\s*:/gm)) {
    entities.add(match[1]!).add(match[2]!);
  }
  for (const match of diagram.matchAll(/^\s*(\w+)\s*\{/gm)) entities.add(match[1]!);
  const marts = [...Deno.readDirSync(join(DBT_PROJECT_DIR, "models", "marts"))]
    .filter((entry) => entry.isFile && entry.name.endsWith(".sql"))
    .map((entry) => basename(entry.name, ".sql"));
  assert.deepEqual([...entities].sort(), marts.sort());
});
