/**
 * The postgres.js client every task uses: the `Sql` types, and {@linkcode connect}, a pool with
 * bounded connect and idle times, quiet about notices, that names its process in
 * `pg_stat_activity`.
 *
 * @example
 * ```ts
 * const sql = connect("postgres://app:pw@127.0.0.1:5432/warehouse", { max: 1 });
 * await sql`select 1`;
 * ```
 *
 * @module
 */
import postgres from "postgres";
import { type ConnectionUrl, parseConnectionUrl } from "../shared/connection_url.ts";

/** A postgres.js client with the settings every task uses. */
export type Sql = postgres.Sql;
/** The client inside `sql.begin(…)`. */
export type TransactionSql = postgres.TransactionSql;

/**
 * Seconds a connection may take to open. postgres.js times each attempt with it (TCP connect to
 * ready for query) but starts afresh on every reconnect; `openWarehouse` holds the whole opening
 * — probe and first query — to it.
 */
export const CONNECT_TIMEOUT_SECONDS = 10;

/** Options for {@linkcode connect}. */
export interface ConnectOptions {
  max?: number;
}

/**
 * A postgres.js pool for `url` (read as libpq reads it: `connection_url.ts`), quiet about
 * notices, with bounded connect and idle times.
 */
export function connect(url: string, options: ConnectOptions = {}): Sql {
  const { host, port, ...rest } = clientOptions(parseConnectionUrl(url));
  const sql = postgres({
    ...rest,
    // postgres.js 3.4.9 takes arrays here at run time (index.js parseOptions) though its types say
    // one value: the one way to give it an IPv6 host, which its own URL parser splits at `:`.
    host: host as unknown as string,
    port: port as unknown as number,
    max: options.max ?? 4,
    connect_timeout: CONNECT_TIMEOUT_SECONDS,
    idle_timeout: 30,
    onnotice: () => {},
    // Which process holds a connection shows in pg_stat_activity: randomuser-elt:load:12345.
    connection: { application_name: applicationName() },
  });
  if (sql.options.host.join(",") !== host.join(",")) {
    throw new TypeError(
      "postgres.js no longer takes a list of hosts as an option: revisit " +
        "tasks/warehouse/sql_client.ts (postgres is pinned at 3.4.9 in deno.json)",
    );
  }
  return sql;
}

function applicationName(): string {
  const script = Deno.mainModule.split("/").at(-1)?.replace(/\.ts$/, "") ?? "deno";
  return `randomuser-elt:${script}:${Deno.pid}`.slice(0, 63);
}

/**
 * What postgres.js needs of a parsed URL, given as options rather than as the URL: postgres.js
 * 3.4.9 reads `[::1]` as a host named `[` and sends unknown query parameters to the server.
 */
function clientOptions(url: ConnectionUrl) {
  const { params } = url;
  const socket = url.hosts[0]?.host.startsWith("/") ? url.hosts[0] : undefined;
  const password = url.password ??
    (params.passfile === undefined ? undefined : passfilePassword(params.passfile, url));
  return {
    host: url.hosts.map((entry) => entry.host),
    port: url.hosts.map((entry) => entry.port),
    ...(socket ? { path: `${socket.host}/.s.PGSQL.${socket.port}` } : {}),
    ...(url.user === undefined ? {} : { user: url.user }),
    ...(password === undefined ? {} : { password }),
    ...(url.database === undefined ? {} : { database: url.database }),
    ssl: sslOption(params),
    ...(params.sslnegotiation === "direct" ? { sslnegotiation: "direct" as const } : {}),
    ...(params.target_session_attrs === undefined
      ? {}
      : { target_session_attrs: params.target_session_attrs as "read-write" }),
  };
}

/** TLS as `sslmode` and the certificate parameters ask (libpq's rules, postgres.js's forms). */
function sslOption(params: Readonly<Record<string, string>>) {
  const files = {
    ...(params.sslrootcert && params.sslrootcert !== "system"
      ? { ca: Deno.readTextFileSync(params.sslrootcert) }
      : {}),
    ...(params.sslcert ? { cert: Deno.readTextFileSync(params.sslcert) } : {}),
    ...(params.sslkey ? { key: Deno.readTextFileSync(params.sslkey) } : {}),
    ...(params.sslpassword ? { passphrase: params.sslpassword } : {}),
  };
  // libpq: with a root certificate, `require` verifies the chain as verify-ca does. Without an
  // sslmode, no TLS, as postgres.js has always connected here (libpq would `prefer` it).
  const mode = params.sslmode ??
    (params.sslrootcert !== undefined ? "verify-full" : "disable");
  switch (mode) {
    case "disable":
      return false;
    case "allow":
    case "prefer":
      return "prefer" as const;
    case "require":
      if (params.sslrootcert === undefined) {
        return Object.keys(files).length === 0
          ? "require" as const
          : { ...files, rejectUnauthorized: false };
      }
      return { ...files, checkServerIdentity: () => undefined };
    case "verify-ca":
      return { ...files, checkServerIdentity: () => undefined };
    default:
      return files;
  }
}

/**
 * The password a pgpass file (`host:port:database:user:password`, `*` for any, `\:` escaped)
 * holds for the URL's first server, as libpq looks it up; `undefined` when no line matches.
 */
function passfilePassword(path: string, url: ConnectionUrl): string | undefined {
  const first = url.hosts[0];
  const wanted = [
    first?.host ?? "localhost",
    String(first?.port ?? 5432),
    url.database ?? url.user ?? "",
    url.user ?? "",
  ];
  for (const line of Deno.readTextFileSync(path).split(/\r?\n/)) {
    if (line.trim() === "" || line.startsWith("#")) continue;
    const fields = line.split(/(?<!\\):/).map((field) => field.replace(/\\([:\\])/g, "$1"));
    if (fields.length < 5) continue;
    if (wanted.every((value, i) => fields[i] === "*" || fields[i] === value)) {
      return fields.slice(4).join(":");
    }
  }
  return undefined;
}
