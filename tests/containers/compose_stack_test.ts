/**
 * The stack as users run it, for real: the image built from the `Dockerfile`, the real
 * `docker-compose.yml` brought up with `docker-compose` on a Docker engine, with labelled
 * stand-ins only for what cannot be had where this project is built (`postgres:17`,
 * `metabase/metabase`, randomuser.me: see `docker-compose.standins.yml`), and checked the way a
 * user would check it. Prints one summary line. Runs when an engine answers (always in CI, and
 * in `deno task test:containers`); `CONTAINER_TESTS=skip` skips it.
 *
 * @module
 */
import assert from "node:assert/strict";
import { connect } from "../../tasks/warehouse/sql_client.ts";
import { ComposeProject } from "./compose_project.ts";
import { buildImage } from "../../tasks/transform/project_image.ts";
import {
  buildMetabaseStandin,
  buildTestProjectImage,
  buildWarehouseStandin,
  containerTests,
  hostCaBundle,
  PROJECT_IMAGE,
} from "./images.ts";

const { engine, ignore } = await containerTests();

const USERS = 1_000;
const CA_PROBE = "randomuser-elt-test/ca-probe:latest";
const ADMIN_EMAIL = "admin@example.com";
const ANALYST_PASSWORD = "Analyst-pass-1";
const LONG_RUNNING = ["metabase", "pipeline", "randomuser-api", "warehouse"];
const ONE_SHOT = ["metabase-database", "metabase-setup"];
const SERVICES = [...LONG_RUNNING, ...ONE_SHOT];
const decoder = new TextDecoder();

/** A free TCP port on loopback, for a published port. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

async function docker(args: string[]): Promise<Uint8Array> {
  const output = await new Deno.Command("docker", { args, stdout: "piped", stderr: "piped" })
    .output();
  assert.ok(output.success, `docker ${args[0]}: ${decoder.decode(output.stderr)}`);
  return output.stdout;
}

/**
 * The certificates of `bundle` that are not public roots — on this machine, its TLS gateway's
 * CA — each as the lines of its PEM body. Public roots are those under Debian's
 * /usr/share/ca-certificates (the image may well hold them: certifi, pip's vendored copy).
 */
async function privateCertificates(bundle: string): Promise<string[][]> {
  const pem = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g;
  const bodies = (text: string) => [...text.matchAll(pem)].map((m) => m[1]!.trim().split(/\s+/));
  const find = await new Deno.Command("find", {
    args: ["/usr/share/ca-certificates", "-name", "*.crt"],
    stdout: "piped",
    stderr: "null",
  }).output();
  const publicRoots = new Set<string>();
  for (const file of decoder.decode(find.stdout).split("\n").filter(Boolean)) {
    for (const lines of bodies(await Deno.readTextFile(file))) publicRoots.add(lines.join(""));
  }
  return bodies(await Deno.readTextFile(bundle)).filter((lines) =>
    !publicRoots.has(lines.join(""))
  );
}

/** Which of `needles` some layer of `image` holds, byte for byte (`docker save`). */
async function foundInLayers(image: string, needles: string[]): Promise<string[]> {
  const dir = await Deno.makeTempDir({ prefix: "relt-image-save-" });
  try {
    await docker(["save", "--output", `${dir}/image.tar`, image]);
    const untar = await new Deno.Command("tar", { args: ["-xf", "image.tar"], cwd: dir }).output();
    assert.ok(untar.success, "tar -xf of docker save's output");
    const manifest = JSON.parse(await Deno.readTextFile(`${dir}/manifest.json`)) as Array<
      { Layers: string[] }
    >;
    const found = new Set<string>();
    for (const layer of manifest.flatMap((entry) => entry.Layers)) {
      const text = new TextDecoder("latin1").decode(await Deno.readFile(`${dir}/${layer}`));
      for (const needle of needles) if (text.includes(needle)) found.add(needle);
    }
    return [...found];
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

interface MetabaseState {
  collections: Array<{ id: number; name: string }>;
  cards: Array<{ id: number; name: string }>;
  dashboards: Array<{ id: number; name: string; cards: number[] }>;
}

/** What the Metabase (stand-in) holds, read over its API as the admin. */
async function metabaseState(base: string, password: string): Promise<MetabaseState> {
  const login = await fetch(`${base}/api/session`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: ADMIN_EMAIL, password }),
  });
  assert.equal(login.status, 200, "the admin can log in");
  const { id: session } = await login.json() as { id: string };
  const get = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${base}${path}`, { headers: { "x-metabase-session": session } });
    assert.equal(response.status, 200, `GET ${path}`);
    return await response.json() as T;
  };
  const collections = (await get<Array<{ id: number | string; name: string }>>("/api/collection"))
    .filter((c): c is { id: number; name: string } => typeof c.id === "number");
  const cards = [];
  for (const collection of collections) {
    const items = await get<{ data: Array<{ id: number; name: string }> }>(
      `/api/collection/${collection.id}/items?models=card`,
    );
    cards.push(...items.data.map(({ id, name }) => ({ id, name })));
  }
  const dashboards = [];
  const dashboardIds = [];
  for (const collection of collections) {
    const items = await get<{ data: Array<{ id: number }> }>(
      `/api/collection/${collection.id}/items?models=dashboard`,
    );
    dashboardIds.push(...items.data.map((item) => item.id));
  }
  for (const id of dashboardIds) {
    const dashboard = await get<
      { id: number; name: string; dashcards: Array<{ card_id: number }> }
    >(
      `/api/dashboard/${id}`,
    );
    dashboards.push({
      id,
      name: dashboard.name,
      cards: dashboard.dashcards.map((d) => d.card_id).sort((a, b) => a - b),
    });
  }
  return {
    collections: collections.map(({ id, name }) => ({ id, name })),
    cards: cards.sort((a, b) => a.id - b.id),
    dashboards,
  };
}

Deno.test({
  name: "the compose stack starts from the Dockerfile, runs the pipelines and is provisioned",
  ignore,
  async fn(t) {
    assert.ok(engine, "no Docker engine answers (CI starts one with .ci/docker-engine start)");
    const composeVersion = decoder.decode(
      (await new Deno.Command("docker-compose", { args: ["version", "--short"], stdout: "piped" })
        .output()).stdout,
    ).trim();
    const engineVersion = decoder.decode(await docker(["info", "--format", "{{.ServerVersion}}"]))
      .trim();
    const summary: string[] = [];
    let failed = false;
    /** A step that runs only while every step before it passed. */
    const step = async (name: string, fn: () => Promise<void>) => {
      failed = !(await t.step({ name, ignore: failed, fn })) || failed;
    };

    await step(
      "the image builds from the Dockerfile, as a non-root user, with no CA in it",
      async () => {
        const seconds = await buildTestProjectImage();
        const [user, size] = decoder.decode(
          await docker([
            "image",
            "inspect",
            "--format",
            "{{.Config.User}} {{.Size}}",
            PROJECT_IMAGE,
          ]),
        ).trim().split(" ");
        assert.equal(user, "10001:10001");
        summary.push(
          `image built in ${seconds.toFixed(0)} s (${Math.round(Number(size) / 1e6)} MB)`,
        );
      },
    );

    await step("the build's CA bundle is in no layer of the image", async () => {
      const bundle = await hostCaBundle();
      const secret = bundle ? await privateCertificates(bundle) : [];
      if (secret.length === 0) {
        summary.push("no private CA to look for");
        return;
      }
      // The third PEM line of each (the first lines are much alike across certificates).
      const needles = secret.map((lines) => lines[2]!);
      assert.deepEqual(await foundInLayers(PROJECT_IMAGE, needles), []);
      const history = decoder.decode(
        await docker(["history", "--no-trunc", "--format", "{{.CreatedBy}}", PROJECT_IMAGE]),
      );
      assert.doesNotMatch(history, /BEGIN CERTIFICATE|ca-certificates\.crt/);
      // The search finds the bundle where it is: an image that copies it in.
      const context = await Deno.makeTempDir({ prefix: "relt-ca-probe-" });
      try {
        await Deno.copyFile(bundle!, `${context}/bundle.pem`);
        await Deno.writeTextFile(`${context}/Dockerfile`, "FROM scratch\nCOPY bundle.pem /\n");
        await buildImage(CA_PROBE, { context });
        try {
          assert.deepEqual((await foundInLayers(CA_PROBE, needles)).length, needles.length);
        } finally {
          await docker(["image", "rm", "--force", CA_PROBE]);
        }
      } finally {
        await Deno.remove(context, { recursive: true });
      }
      summary.push(`the build's CA (${secret.length} private certificates) in no layer`);
    });

    await step("the stand-in images build", async () => {
      await buildWarehouseStandin();
      await buildMetabaseStandin();
    });

    const warehousePort = freePort();
    const metabasePort = freePort();
    const consolePort = freePort();
    await using stack = await ComposeProject.create({
      WAREHOUSE_PORT: String(warehousePort),
      METABASE_PORT: String(metabasePort),
      CONSOLE_PORT: String(consolePort),
      // What a user's .env sets to try the stack offline; the API is the stand-in's service.
      RANDOMUSER_API_URL: "http://randomuser-api:8787/api/",
      USERS_PER_RUN: String(USERS),
      TASK_RETRY_DELAY: "5s",
    });
    const admin = connect(`postgres://admin:admin@127.0.0.1:${warehousePort}/warehouse`, {
      max: 1,
    });
    const metabase = `http://127.0.0.1:${metabasePort}`;
    let adminPassword = "";
    const today = new Date().toISOString().slice(0, 10);
    let firstUp: Awaited<ReturnType<typeof stack.containers>> = [];
    try {
      await step(
        "docker-compose up -d: every service healthy, metabase-setup exited 0",
        async () => {
          const started = performance.now();
          await stack.compose(["up", "-d", "--no-build"]);
          firstUp = await stack.waitUntilReady({
            services: SERVICES,
            oneShot: ONE_SHOT,
            // A bound, not a timing: 2 to 3 minutes on a quiet 2-core machine, far more when loaded.
            timeoutMs: 600_000,
          });
          assert.deepEqual(firstUp.map((c) => c.service), [
            "metabase",
            "metabase-database",
            "metabase-setup",
            "pipeline",
            "randomuser-api",
            "warehouse",
          ]);
          summary.push(`stack healthy in ${((performance.now() - started) / 1000).toFixed(0)} s`);
        },
      );

      await step("the pipeline service ran today's extract_load and transform", async () => {
        const deadline = Date.now() + 300_000;
        let runs: Array<{ pipeline: string; ds: string; state: string; error: string | null }> = [];
        while (Date.now() < deadline) {
          const status = await stack.exec("pipeline", ["deno", "task", "status", "--json"]);
          assert.equal(status.code, 0, status.stderr);
          runs = JSON.parse(status.stdout);
          const today_ = runs.filter((r) => r.ds === today);
          const failed = today_.find((r) => r.state === "failed");
          assert.ok(
            !failed,
            `${failed?.pipeline} failed: ${failed?.error}\n${await stack.logs("pipeline")}`,
          );
          if (
            ["extract_load", "transform"].every((p) =>
              today_.some((r) => r.pipeline === p && r.state === "succeeded")
            )
          ) break;
          await new Promise((resolve) => setTimeout(resolve, 2_000));
        }
        const succeeded = runs.filter((r) => r.ds === today && r.state === "succeeded")
          .map((r) => r.pipeline).sort();
        assert.deepEqual(succeeded, ["extract_load", "transform"]);
        const table = await stack.exec("pipeline", ["deno", "task", "status"]);
        assert.match(table.stdout, /extract_load .* succeeded/);
        summary.push(`extract_load and transform succeeded in the pipeline container`);
      });

      await step(
        "the console answers on its published port: /healthz 200, today's runs on the overview",
        async () => {
          const consoleUrl = `http://127.0.0.1:${consolePort}`;
          const health = await fetch(`${consoleUrl}/healthz`);
          const body = await health.json() as { status: string; scheduler: string };
          assert.equal(health.status, 200, JSON.stringify(body));
          assert.deepEqual([body.status, body.scheduler], ["ok", "running"]);
          const overview = await (await fetch(`${consoleUrl}/`)).text();
          for (const pipeline of ["extract_load", "transform"]) {
            assert.match(
              overview,
              new RegExp(`data-pipeline="${pipeline}" data-ds="${today}" data-state="succeeded"`),
            );
          }
          summary.push(`console healthy on 127.0.0.1:${consolePort}`);
        },
      );

      await step("raw.users and the marts hold today's users", async () => {
        const [raw] = await admin`select count(*)::int as rows from raw.users where _ds = ${today}`;
        assert.equal(raw?.rows, USERS);
        const [fact] = await admin`
          select count(*)::int as rows from analytics.dim_user where load_date = ${today}`;
        assert.equal(fact?.rows, USERS);
        const marts = await admin<{ name: string }[]>`
          select table_name as name from information_schema.tables
          where table_schema = 'analytics' and table_name ~ '^(dim|fct)_' order by 1`;
        assert.ok(marts.length > 0, "no marts in analytics");
        for (const mart of marts) {
          const [count] = await admin`
            select count(*)::int as rows from ${admin("analytics")}.${admin(mart.name)}`;
          assert.ok((count?.rows ?? 0) > 0, `analytics.${mart.name} is empty`);
        }
        summary.push(`${USERS} rows in raw.users and dim_user, ${marts.length} marts filled`);
      });

      await step(
        "the Metabase stand-in holds the collection, the questions and the dashboard",
        async () => {
          const setup = firstUp.find((c) => c.service === "metabase-setup");
          assert.equal(setup?.exitCode, 0);
          // No fixed admin password: the first setup generated one into the metabase-setup
          // volume, and the user reads it as docs/metabase.md says.
          const read = await stack.compose(
            [
              "run",
              "--rm",
              "--no-deps",
              "-T",
              "metabase-setup",
              "cat",
              "/metabase-setup/admin_password",
            ],
            { check: false },
          );
          assert.equal(read.code, 0, read.stderr);
          adminPassword = read.stdout.trim();
          assert.ok(adminPassword.length >= 12, "a generated admin password");
          const analyses =
            [...Deno.readDirSync(new URL("../../dbt_project/analyses/", import.meta.url))]
              .filter((e) => e.name.endsWith(".sql")).length;
          const state = await metabaseState(metabase, adminPassword);
          assert.deepEqual(state.collections.map((c) => c.name), ["randomuser-elt"]);
          assert.equal(state.cards.length, analyses);
          assert.deepEqual(state.dashboards.map((d) => [d.name, d.cards.length]), [[
            "randomuser-elt: users",
            analyses,
          ]]);
          assert.deepEqual(state.dashboards[0]!.cards, state.cards.map((c) => c.id));
          // The stand-in's own record (GET /_fake/state): every question draws with named roles,
          // and the marts carry dbt's descriptions, synced after the transform.
          const fake = await (await fetch(`${metabase}/_fake/state`)).json() as {
            cards: Array<{ name: string; visualization_settings: Record<string, unknown> }>;
            tables: Array<{
              schema: string;
              name: string;
              description: string | null;
              fields: Array<{ name: string; description: string | null }>;
            }>;
          };
          for (const card of fake.cards) {
            const settings = card.visualization_settings;
            const roles = settings["pie.dimension"]
              ? [settings["pie.dimension"], settings["pie.metric"]]
              : [settings["graph.dimensions"], settings["graph.metrics"]];
            assert.ok(roles.every((role) => role), `${card.name} names its chart's columns`);
          }
          const marts = fake.tables.filter((table) => table.schema === "analytics");
          assert.ok(
            marts.some((table) => table.name === "fct_registrations"),
            "fct_registrations is synced",
          );
          for (const table of marts.filter((table) => /^(dim|fct)_/.test(table.name))) {
            assert.ok(table.description, `${table.name} has dbt's description`);
            const described = table.fields.filter((field) => field.description).length;
            assert.ok(described > 0, `${table.name}'s columns have dbt's descriptions`);
          }
          summary.push(
            `provisioned: 1 collection, ${analyses} questions (chart roles set), 1 dashboard, ` +
              `${marts.length} marts described`,
          );
        },
      );

      await step("the analyst role reads the marts and nothing else", async () => {
        const analyst = connect(
          `postgres://analyst:${ANALYST_PASSWORD}@127.0.0.1:${warehousePort}/warehouse`,
          { max: 1 },
        );
        try {
          const [row] =
            await analyst`select count(*)::int as rows from analytics.fct_registrations`;
          assert.equal(row?.rows, USERS);
          for (
            const statement of [
              analyst`select count(*) from raw.users`,
              analyst`select count(*) from meta.pipeline_runs`,
              analyst`delete from analytics.fct_registrations`,
              analyst`create table analytics.mine (x int)`,
            ]
          ) {
            await assert.rejects(statement, /permission denied/);
          }
        } finally {
          await analyst.end();
        }
      });

      await step("a second up changes nothing", async () => {
        const checksum = async () => {
          const [row] = await admin`
            select md5(string_agg(u::text, '|' order by u.id)) as raw,
                   (select count(*)::int from meta.pipeline_runs) as runs,
                   (select count(*)::int from meta.load_batches) as batches
            from raw.users as u`;
          return row;
        };
        const before = {
          data: await checksum(),
          metabase: await metabaseState(metabase, adminPassword),
        };
        const setupStarted = firstUp.find((c) => c.service === "metabase-setup")!.startedAt;
        const result = await stack.compose(["up", "-d", "--no-build"]);
        const second = await stack.waitUntilReady({
          services: SERVICES,
          oneShot: ONE_SHOT,
          timeoutMs: 600_000,
          since: setupStarted,
        });
        const ids = (list: typeof second) =>
          list.filter((c) => LONG_RUNNING.includes(c.service)).map((c) => `${c.service} ${c.id}`);
        assert.deepEqual(ids(second), ids(firstUp), `a container was recreated:\n${result.stderr}`);
        assert.deepEqual(
          { data: await checksum(), metabase: await metabaseState(metabase, adminPassword) },
          before,
        );
        summary.push("second up: no container recreated, provisioning re-ran, nothing changed");
      });
    } finally {
      await admin.end();
      await t.step("down -v leaves nothing behind", async () => {
        await stack.compose(["down", "-v", "--remove-orphans"]);
        assert.deepEqual(await stack.leftovers(), []);
        summary.push("down -v left nothing");
      });
      console.log(
        `containers: ${
          summary.join("; ")
        } (docker-compose ${composeVersion}, engine ${engineVersion})`,
      );
    }
  },
});
