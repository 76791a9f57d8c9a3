/**
 * `DATABASE_URL` read as libpq reads a connection URI: hosts in brackets (`[::1]`), several hosts
 * (`h1:5432,h2:5433`), percent-encoded parts, and connection parameters in the query string
 * (`?password=…&sslmode=require`). A parameter libpq does not know is a usage error naming it
 * (postgres.js alone sent any such parameter to the server as a startup parameter, password
 * included); one libpq knows but this pipeline does not honour is refused the same way, rather
 * than ignored.
 *
 * @example
 * ```ts
 * const url = parseConnectionUrl("postgres://app@[::1]:5432/warehouse?sslmode=require");
 * url.hosts; // [{ host: "::1", port: 5432 }]
 * ```
 *
 * @module
 */

/** One server a URL names: a TCP host (an IPv6 address without its brackets) or a socket folder. */
export interface ConnectionHost {
  readonly host: string;
  readonly port: number;
}

/** A parsed connection URL; `params` holds the query's parameters (decoded) but `host` and co. */
export interface ConnectionUrl {
  readonly hosts: readonly ConnectionHost[];
  readonly user: string | undefined;
  readonly password: string | undefined;
  readonly database: string | undefined;
  /** `sslmode`, `sslrootcert`, `passfile`, …: the parameters of the query string, decoded. */
  readonly params: Readonly<Record<string, string>>;
}

/** Parameters whose value is a credential or leads to one: hidden wherever a URL is printed. */
export const CREDENTIAL_PARAMS = ["password", "sslpassword", "passfile", "oauth_client_secret"];

/** libpq's connection parameters this pipeline honours (postgres.js and the dbt profile). */
const SUPPORTED = [
  "host",
  "port",
  "dbname",
  "user",
  "password",
  "passfile",
  "sslmode",
  "sslnegotiation",
  "sslrootcert",
  "sslcert",
  "sslkey",
  "sslpassword",
  "target_session_attrs",
];

/** The rest of libpq's connection parameters (PostgreSQL 18): known, not honoured here. */
const UNSUPPORTED = [
  "hostaddr",
  "connect_timeout",
  "client_encoding",
  "options",
  "application_name",
  "fallback_application_name",
  "keepalives",
  "keepalives_idle",
  "keepalives_interval",
  "keepalives_count",
  "tcp_user_timeout",
  "replication",
  "gssencmode",
  "sslcompression",
  "sslcertmode",
  "sslcrl",
  "sslcrldir",
  "sslsni",
  "requirepeer",
  "ssl_min_protocol_version",
  "ssl_max_protocol_version",
  "krbsrvname",
  "gsslib",
  "gssdelegation",
  "service",
  "load_balance_hosts",
  "require_auth",
  "channel_binding",
  "scram_client_key",
  "scram_server_key",
  "max_protocol_version",
  "min_protocol_version",
  "oauth_issuer",
  "oauth_client_id",
  "oauth_client_secret",
  "oauth_scope",
];

const SSL_MODES = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"];
const DEFAULT_PORT = 5432;

/**
 * Parses a `postgres://` or `postgresql://` URL as libpq does. Throws a `RangeError` naming the
 * part that is wrong (never a value: it may be a password).
 */
export function parseConnectionUrl(url: string): ConnectionUrl {
  const match = /^postgres(?:ql)?:\/\/([^/?#]*)(\/[^?#]*)?(\?[^#]*)?$/i.exec(url.trim());
  if (!match) {
    throw new RangeError("must be a URL such as postgres://user:password@host:5432/database");
  }
  const [, authority = "", path = "", query = ""] = match;
  const at = authority.lastIndexOf("@");
  const userInfo = at < 0 ? undefined : authority.slice(0, at);
  const colon = userInfo?.indexOf(":") ?? -1;
  let user = userInfo === undefined
    ? undefined
    : decode(userInfo.slice(0, colon < 0 ? undefined : colon), "the user");
  let password = userInfo === undefined || colon < 0
    ? undefined
    : decode(userInfo.slice(colon + 1), "the password");
  let database = path.length > 1 ? decode(path.slice(1), "the database name") : undefined;
  const params: Record<string, string> = {};
  for (const pair of query.slice(1).split("&").filter((part) => part !== "")) {
    const equals = pair.indexOf("=");
    const name = decode(equals < 0 ? pair : pair.slice(0, equals), "a parameter name");
    // A name is shown only when it looks like one: a mistyped URL puts other text here (a
    // password with an unencoded `?`), which must not be printed.
    if (equals < 0 || !/^[a-z_][a-z0-9_]{0,62}$/i.test(name)) {
      throw new RangeError(
        /^[a-z_][a-z0-9_]{0,62}$/i.test(name)
          ? `has the connection parameter "${name}" without a value (${name}=…)`
          : "has a query string that is not name=value pairs; percent-encode ?, # and / in " +
            "the password (%3F, %23, %2F)",
      );
    }
    checkParameter(name);
    params[name] = decode(pair.slice(equals + 1), `the value of ${name}`);
  }
  let hosts = parseHosts(authority.slice(at + 1));
  const { host, port, dbname, user: userParam, password: passwordParam, ...rest } = params;
  if (host !== undefined || port !== undefined) {
    const names = (host ?? hosts.map((entry) => entry.host).join(",")).split(",");
    const ports = (port ?? "").split(",");
    hosts = names.map((name, i) => ({
      host: name,
      port: parsePort(ports[ports.length === 1 ? 0 : i] || String(hosts[i]?.port ?? DEFAULT_PORT)),
    }));
  }
  user = userParam ?? user;
  password = passwordParam ?? password;
  database = dbname ?? database;
  if (rest.sslmode !== undefined && !SSL_MODES.includes(rest.sslmode)) {
    throw new RangeError(`has sslmode=${rest.sslmode}; it must be one of ${SSL_MODES.join(", ")}`);
  }
  return { hosts, user, password, database, params: rest };
}

function checkParameter(name: string): void {
  if (SUPPORTED.includes(name)) return;
  if (UNSUPPORTED.includes(name)) {
    throw new RangeError(
      `has the connection parameter "${name}", which randomuser-elt does not honour ` +
        `(it reads ${SUPPORTED.join(", ")}); remove it`,
    );
  }
  const near = [...SUPPORTED, ...UNSUPPORTED].find((known) => editDistance(known, name) <= 2);
  throw new RangeError(
    `has an unknown connection parameter "${name}"` + (near ? ` (did you mean "${near}"?)` : "") +
      `; libpq knows no such parameter: fix or remove it`,
  );
}

/** `host[:port]` items separated by commas; an IPv6 address in brackets. */
function parseHosts(text: string): ConnectionHost[] {
  if (text === "") return [{ host: "localhost", port: DEFAULT_PORT }];
  return text.split(",").map((item) => {
    const bracketed = /^\[([0-9a-fA-F:.%]+)\](?::(\d*))?$/.exec(item);
    if (bracketed) {
      return { host: bracketed[1]!, port: parsePort(bracketed[2] || String(DEFAULT_PORT)) };
    }
    if (item.startsWith("[")) {
      throw new RangeError("has a host in brackets that is not an IPv6 address");
    }
    const colon = item.lastIndexOf(":");
    const name = decode(colon < 0 ? item : item.slice(0, colon), "a host");
    return {
      host: name === "" ? "localhost" : name,
      port: parsePort(
        colon < 0 ? String(DEFAULT_PORT) : item.slice(colon + 1) || String(DEFAULT_PORT),
      ),
    };
  });
}

function parsePort(text: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= 1 && port <= 65_535)) {
    // Not the text itself: a password with an unencoded `/` leaves it here (`u:pw/1@h`).
    throw new RangeError(
      "has a port that is not a number from 1 to 65535 (percent-encode ?, # and / in the " +
        "password: %3F, %23, %2F)",
    );
  }
  return port;
}

function decode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new RangeError(`has ${what} with a bad %-escape; write % as %25`);
  }
}

/** Levenshtein distance, for "did you mean". */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}
