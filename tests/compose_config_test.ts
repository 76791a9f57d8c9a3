/**
 * The stack's defaults start: every compose service that runs the project's code gets, from the
 * image's `ENV` and its own `environment:` as compose interpolates it, a configuration that
 * `loadConfig` accepts — with no `.env` at all, and with `.env.example` copied to `.env`. When
 * `docker-compose` is installed, the interpolation is checked against its own.
 */
import assert from "node:assert/strict";
import { parse as parseDotenv } from "dotenv";
import { parse } from "yaml";
import { loadConfig } from "../tasks/shared/config.ts";
import { errorMessage } from "../tasks/shared/errors.ts";

const ROOT = new URL("../", import.meta.url);
const read = (path: string) => Deno.readTextFile(new URL(path, ROOT));

type Environment = Record<string, string>;
interface Service {
  image?: string;
  build?: unknown;
  environment?: Record<string, string | number | null>;
}

/** Compose's variable substitution: `$$`, `$X`, `${X}`, `${X:-d}`, `${X-d}`, `${X:?e}`. */
function interpolate(text: string, variables: Environment): string {
  return text.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (whole, braced?: string, operator?: string, argument?: string, bare?: string) => {
      if (whole === "$$") return "$";
      const name = (braced ?? bare)!;
      const value = variables[name];
      const missing = operator?.startsWith(":") ? !value : value === undefined;
      if (!missing) return value!;
      if (operator?.endsWith("?")) throw new Error(`${name}: ${argument}`);
      return operator ? argument! : "";
    },
  );
}

/** The environment the project image gives every container: the final stage's `ENV`. */
async function imageEnvironment(): Promise<Environment> {
  const lines = (await read("Dockerfile")).replace(/\\\n/g, " ").split("\n");
  const finalStage = lines.slice(lines.findLastIndex((line) => /^FROM\s/i.test(line)));
  const env: Environment = {};
  for (const line of finalStage.filter((line) => /^ENV\s/i.test(line))) {
    for (const [, name, value] of line.matchAll(/([A-Z_][A-Z0-9_]*)=(\S*)/g)) env[name!] = value!;
  }
  return env;
}

const compose = parse(await read("docker-compose.yml")) as { services: Record<string, Service> };
const projectServices = Object.entries(compose.services).filter(([, service]) =>
  service.build !== undefined || service.image?.startsWith("randomuser-elt:")
);
const image = await imageEnvironment();

function serviceEnvironment(service: Service, variables: Environment): Environment {
  const env: Environment = { ...image };
  for (const [name, value] of Object.entries(service.environment ?? {})) {
    env[name] = interpolate(String(value ?? ""), variables);
  }
  return env;
}

const cases: Array<[string, () => Promise<Environment>]> = [
  ["with no .env (compose's defaults)", () => Promise.resolve({})],
  [
    "with .env.example as .env",
    async () => parseDotenv(await read(".env.example")) as Environment,
  ],
];

Deno.test("the services that run the project image are the pipeline and the Metabase one-shots", () => {
  assert.deepEqual(projectServices.map(([name]) => name).sort(), [
    "metabase-database",
    "metabase-setup",
    "pipeline",
  ]);
});

for (const [label, variables] of cases) {
  Deno.test(`every project service's configuration is valid ${label}`, async () => {
    const failures: string[] = [];
    for (const [name, service] of projectServices) {
      const env = serviceEnvironment(service, await variables());
      try {
        await loadConfig({ env, envFile: null });
      } catch (error) {
        failures.push(`${name}: ${errorMessage(error)}`);
      }
    }
    assert.deepEqual(failures, [], `services that would exit 2 on start:\n${failures.join("\n")}`);
  });
}

const composeInstalled = await new Deno.Command("docker-compose", {
  args: ["version"],
  stdout: "null",
  stderr: "null",
}).output().then((output) => output.success, () => false);

Deno.test({
  name: "the interpolation above is docker-compose's own",
  ignore: Deno.env.get("CI") !== "true" && !composeInstalled,
  async fn() {
    for (const [label, variables] of cases) {
      const envFile = await Deno.makeTempFile({ suffix: ".env" });
      try {
        const vars = await variables();
        await Deno.writeTextFile(
          envFile,
          Object.entries(vars).map(([k, v]) => `${k}=${v}`).join("\n"),
        );
        const output = await new Deno.Command("docker-compose", {
          args: ["--env-file", envFile, "-f", "docker-compose.yml", "config"],
          cwd: ROOT,
          clearEnv: true,
          env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
          stdout: "piped",
          stderr: "piped",
        }).output();
        assert.ok(output.success, new TextDecoder().decode(output.stderr));
        const resolved = parse(new TextDecoder().decode(output.stdout)) as {
          services: Record<string, Service>;
        };
        for (const [name, service] of projectServices) {
          const ours = serviceEnvironment(service, vars);
          const theirs = Object.fromEntries(
            Object.entries(resolved.services[name]!.environment ?? {}).map((
              [k, v],
            ) => [k, String(v ?? "")]),
          );
          for (const [key, value] of Object.entries(theirs)) {
            assert.equal(ours[key], value, `${label}: ${name}.${key}`);
          }
        }
      } finally {
        await Deno.remove(envFile);
      }
    }
  },
});
