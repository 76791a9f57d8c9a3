/**
 * Command line for the Metabase STAND-IN (not Metabase; see `server.ts`), for the compose test,
 * where it runs in a container in Metabase's place. As Metabase does, it first connects to its
 * application database (`MB_DB_TYPE=postgres` with `MB_DB_HOST`, `MB_DB_PORT`, `MB_DB_DBNAME`,
 * `MB_DB_USER`, `MB_DB_PASS`) and does not answer until it can, and it tests every warehouse
 * connection it is given by logging in with it. Keeps its objects in memory, unlike Metabase.
 *
 * @example
 * ```sh
 * deno run -A tests/fake_metabase/main.ts --hostname 0.0.0.0 --port 3000
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { errorMessage } from "../../tasks/shared/errors.ts";
import { connect } from "../../tasks/warehouse/sql_client.ts";
import { startFakeMetabase } from "./server.ts";

const APP_DB_WAIT_MS = 120_000;

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    hostname: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "3000" },
  },
});
const port = Number(flags.port);
if (!/^\d+$/.test(flags.port) || port > 65535) {
  console.error(`error: --port must be a whole number from 0 to 65535 (got ${flags.port})`);
  Deno.exit(2);
}

/** Logs in to the PostgreSQL server the details name and runs `select 1`. */
async function login(details: Record<string, unknown>): Promise<void> {
  const url = new URL("postgres://localhost");
  url.hostname = String(details.host);
  url.port = String(details.port);
  url.pathname = `/${encodeURIComponent(String(details.dbname))}`;
  url.username = encodeURIComponent(String(details.user));
  url.password = encodeURIComponent(String(details.password ?? ""));
  const sql = connect(url.href, { max: 1 });
  try {
    await sql`select 1`;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

const env = Deno.env.toObject();
if (env.MB_DB_TYPE === "postgres") {
  const appDb = {
    host: env.MB_DB_HOST,
    port: env.MB_DB_PORT ?? "5432",
    dbname: env.MB_DB_DBNAME,
    user: env.MB_DB_USER,
    password: env.MB_DB_PASS,
  };
  const deadline = Date.now() + APP_DB_WAIT_MS;
  for (let attempt = 1;; attempt++) {
    try {
      await login(appDb);
      console.log(`metabase stand-in: application database ${appDb.dbname}@${appDb.host} answers`);
      break;
    } catch (error) {
      if (Date.now() > deadline) {
        console.error(
          `error: the application database ${appDb.dbname}@${appDb.host}:${appDb.port} ` +
            `did not answer in ${APP_DB_WAIT_MS / 1000} s: ${errorMessage(error)}`,
        );
        Deno.exit(1);
      }
      if (attempt === 1) {
        console.log(
          `metabase stand-in: waiting for the application database (${errorMessage(error)})`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
}

// Every warehouse connection it is given is tested by logging in, the stand-in's default.
const server = startFakeMetabase({ hostname: flags.hostname, port });
const stop = async () => {
  await server.close();
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", stop);
Deno.addSignalListener("SIGTERM", stop);
console.log(`metabase stand-in (NOT Metabase) listening on ${flags.hostname}:${port}`);
