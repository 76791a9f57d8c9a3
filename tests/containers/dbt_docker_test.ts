/**
 * `DBT_RUNNER=docker` for real: `deno task transform` runs `dbt build` in the project image (the
 * one the `Dockerfile` builds, which pins dbt-postgres) against the test warehouse, and `auto`
 * picks docker exactly when an engine answers and the image is there. Runs when an engine
 * answers (always in CI); `CONTAINER_TESTS=skip` skips it.
 *
 * @module
 */
import assert from "node:assert/strict";
import { assertExit, createPipelineFixture } from "../helpers/pipeline_fixture.ts";
import { buildTestProjectImage, containerTests } from "./images.ts";

const { engine, ignore } = await containerTests();
const DOCKER_HOST = Deno.env.get("DOCKER_HOST");
const docker = DOCKER_HOST ? { DOCKER_HOST } : {};

Deno.test({
  name: "DBT_RUNNER=docker builds the star schema with dbt in the project image",
  ignore,
  async fn() {
    assert.ok(engine, "no Docker engine answers (CI starts one with .ci/docker-engine start)");
    await buildTestProjectImage();
    await using fixture = await createPipelineFixture();
    assertExit(await fixture.run("migrate"), 0);
    assertExit(await fixture.run("extract", ["--ds", "2026-01-01", "--users", "500"]), 0);
    assertExit(await fixture.run("load", ["--ds", "2026-01-01"]), 0);

    const result = await fixture.run("dbt_build", ["--ds", "2026-01-01"], {
      ...docker,
      DBT_RUNNER: "docker",
    });
    assertExit(result, 0);
    assert.match(result.stdout, /transform ds=2026-01-01 runner=docker exit_code=0 models=17 /);
    const [fact] = await fixture.db
      .sql`select count(*)::int as rows from analytics.fct_registrations`;
    assert.equal(fact?.rows, 500);
    const [run] = await fixture.db.sql`select runner, status from meta.dbt_runs`;
    assert.deepEqual(run, { runner: "docker", status: "succeeded" });
  },
});

Deno.test({
  name: "DBT_RUNNER=auto picks docker when an engine answers with the image, else local",
  ignore,
  async fn() {
    assert.ok(engine, "no Docker engine answers");
    await buildTestProjectImage();
    await using fixture = await createPipelineFixture();
    // DBT_BIN: a local runner that needs no .venv, so only the choice is tested here.
    const prepare = (env: Record<string, string>) =>
      fixture.run("dbt_build", ["--prepare"], { DBT_RUNNER: "auto", DBT_BIN: "dbt", ...env });
    const withEngine = await prepare(docker);
    assertExit(withEngine, 0);
    assert.match(withEngine.stdout, /^transform prepared=docker$/m);
    const noEngine = await prepare({ DOCKER_HOST: "unix:///nonexistent/docker.sock" });
    assertExit(noEngine, 0);
    assert.match(noEngine.stdout, /^transform prepared=local$/m);
    const noImage = await prepare({ ...docker, DBT_IMAGE: "randomuser-elt-test/absent:0" });
    assertExit(noImage, 0);
    assert.match(noImage.stdout, /^transform prepared=local$/m);
    // The project's own image under a tag the engine lacks: buildable from the bases it holds,
    // so auto picks docker and builds it on first use (from BuildKit's cache, after the above).
    const tag = "randomuser-elt:first-use-test";
    try {
      const firstUse = await prepare({ ...docker, DBT_IMAGE: tag });
      assertExit(firstUse, 0);
      assert.match(firstUse.stdout, /^transform prepared=docker$/m);
      assert.match(firstUse.stderr, /building the project image \(first use/);
    } finally {
      await new Deno.Command("docker", { args: ["image", "rm", "--force", tag], stdout: "null" })
        .output();
    }
  },
});
