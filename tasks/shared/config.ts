/**
 * The pipeline's configuration: read once from the environment (and `.env`), validated with
 * zod, and passed down as a typed, frozen object.
 *
 * @example
 * ```ts
 * const config = await loadConfig();
 * console.log(config.extract.users); // 10000 unless USERS_PER_RUN says otherwise
 * ```
 *
 * @module
 */
import { resolve } from "node:path";
import { parse as parseDotenv } from "dotenv";
import { z } from "zod";
import { parseConnectionUrl } from "./connection_url.ts";
import { FIRST_LOGICAL_DATE, isCalendarDate } from "./dates.ts";
import { UsageError } from "./errors.ts";
import { redactUrl } from "./redact_url.ts";

/**
 * The most users one logical date may fetch, one cap for `USERS_PER_RUN` and the `--users` flags
 * (`extract`, `demo`, `bench`): a thousand times the default, so an extra zero or three in a
 * flag is refused before it fills the disk.
 */
export const MAX_USERS_PER_RUN = 10_000_000;

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const DURATION_UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;

/** Parses `500ms`, `10s`, `3m`, `1h` into milliseconds; `undefined` when the text is not one. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match) return undefined;
  const [, amount, unit] = match;
  return Math.round(Number(amount) * DURATION_UNIT_MS[unit as keyof typeof DURATION_UNIT_MS]);
}

const integer = (min: number, max: number, fallback: number) =>
  z.string().trim().regex(/^\d+$/, `must be a whole number between ${min} and ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`))
    .default(fallback);

/** A duration in ms; `min: 1` where zero makes no sense (a time limit, a wait). */
const duration = (fallback: string, { min = 0 }: { min?: 0 | 1 } = {}) =>
  z.string().default(fallback).transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined) {
      ctx.addIssue({ code: "custom", message: "must be a duration such as 500ms, 10s, 3m or 1h" });
      return z.NEVER;
    }
    if (ms < min) {
      ctx.addIssue({
        code: "custom",
        message: "must be more than 0, such as 500ms, 10s, 3m or 1h",
      });
      return z.NEVER;
    }
    return ms;
  });

/** A duration of whole minutes (dbt's freshness counts minutes at best), in minutes. */
const wholeMinutes = (fallback: string) =>
  duration(fallback, { min: 1 }).refine((ms) => ms % 60_000 === 0, {
    message: "must be a whole number of minutes, such as 90m or 26h",
  }).transform((ms) => ms / 60_000);

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "must be a date in the form YYYY-MM-DD")
  .refine((text) => isCalendarDate(text), "must be a real calendar date (YYYY-MM-DD)");

/** The first date of a schedule: no earlier than a command's `--ds` may be without a flag. */
const startDate = isoDate.refine(
  (text) => text >= FIRST_LOGICAL_DATE,
  `must be ${FIRST_LOGICAL_DATE} or later`,
);

const boolean = (fallback: boolean) =>
  z.enum(["true", "false", "1", "0", "yes", "no"], { error: "must be true or false" })
    .default(fallback ? "true" : "false")
    .transform((text) => text === "true" || text === "1" || text === "yes");

const httpUrl = (what: string) =>
  z.url({ protocol: /^https?$/, error: `must be an http(s) URL of ${what}` });

/** A connection URL as libpq reads it (`connection_url.ts`): the error names the part, never a value. */
const postgresUrl = z.string().superRefine((text, ctx) => {
  try {
    parseConnectionUrl(text);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    ctx.addIssue({ code: "custom", message: error.message });
  }
});

/** API_CONCURRENCY's bounds and default (the Airflow DAGs read it where they are parsed, too). */
export const API_CONCURRENCY_LIMITS = { min: 1, max: 64, fallback: 4 } as const;

/** Environment variables the pipeline reads, with their defaults (docs/configuration.md). */
const environmentSchema = z.object({
  DATABASE_URL: postgresUrl.optional(),
  RANDOMUSER_API_URL: httpUrl("the Random User API").default("https://randomuser.me/api/"),
  USERS_PER_RUN: integer(1, MAX_USERS_PER_RUN, 10_000),
  API_PAGE_SIZE: integer(1, 5_000, 5_000),
  API_CONCURRENCY: integer(
    API_CONCURRENCY_LIMITS.min,
    API_CONCURRENCY_LIMITS.max,
    API_CONCURRENCY_LIMITS.fallback,
  ),
  API_RETRIES: integer(0, 20, 5),
  // 0s would time every request out before it starts.
  API_TIMEOUT: duration("60s", { min: 1 }),
  // 0 retries at once, still no more than API_RETRIES times, and a Retry-After still wins.
  API_RETRY_DELAY: duration("500ms"),
  MAX_REJECT_RATE: z.string().trim().regex(/^(0(\.\d+)?|1(\.0+)?)$/, "must be a number from 0 to 1")
    .transform(Number).default(0.01),
  DATA_DIR: z.string().min(1, "must be a directory path").default("./data"),
  DBT_RUNNER: z.enum(["auto", "docker", "local"], { error: "must be auto, docker or local" })
    .default("auto"),
  DBT_BIN: z.string().min(1).optional(),
  PYTHON: z.string().min(1, "must be a Python 3 executable").default("python3"),
  DBT_IMAGE: z.string().min(1, "must be a Docker image reference").default(
    "randomuser-elt:latest",
  ),
  ANALYST_PASSWORD: z.string().min(8, "must be at least 8 characters").optional(),
  METABASE_URL: httpUrl("Metabase").default("http://localhost:3000"),
  METABASE_ADMIN_EMAIL: z.email({ error: "must be an email address" }).default("admin@example.com"),
  // Checked against Metabase's own rule by the provisioning, which says which part fails.
  METABASE_ADMIN_PASSWORD: z.string().optional(),
  METABASE_ADMIN_PASSWORD_FILE: z.string().min(1, "must be a file path").optional(),
  METABASE_WAREHOUSE_HOST: z.string().min(1).optional(),
  // 0s would leave Metabase no time to come up or to sync the marts.
  METABASE_WAIT: duration("5m", { min: 1 }),
  METABASE_SYNC: boolean(false),
  METABASE_DB_NAME: z.string().regex(
    /^[a-z_][a-z0-9_]{0,62}$/,
    "must be a lower-case PostgreSQL database name (letters, digits, _)",
  ).default("metabase"),
  TASK_RETRIES: integer(0, 100, 3),
  // 0 retries a task at once, at most TASK_RETRIES times: for a blip, and for tests that
  // shorten the 3 minutes; Airflow takes a zero retry_delay too.
  TASK_RETRY_DELAY: duration("3m"),
  PIPELINE_START_DATE: startDate.optional(),
  CATCHUP: boolean(false),
  CONSOLE_HOST: z.string().trim().regex(
    /^(\[[0-9A-Fa-f:.]+\]|[0-9A-Fa-f.]*:[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*|[A-Za-z0-9.-]+)$/,
    "must be a host name or an IP address to listen on, such as 127.0.0.1, 0.0.0.0 or ::1",
  ).transform((host) => host.replace(/^\[(.*)\]$/, "$1")).default("127.0.0.1"),
  // 0: any free port (the `console:` line says which); off: no console.
  CONSOLE_PORT: z.string().trim().toLowerCase().regex(
    /^(off|\d{1,5})$/,
    "must be a port number from 0 to 65535, or off",
  ).refine((text) => text === "off" || Number(text) <= 65_535, {
    message: "must be a port number from 0 to 65535, or off",
  }).transform((text) => text === "off" ? "off" as const : Number(text)).default(8080),
  CONSOLE_TOKEN: z.string().min(
    16,
    "must be at least 16 characters (openssl rand -hex 16 makes one)",
  )
    .optional(),
  // A secret (the URL is the key to the channel): never echoed back in an error.
  ALERT_WEBHOOK_URL: httpUrl("a Slack- or Mattermost-compatible incoming webhook").optional(),
  // 0 alerts as soon as the day's run is due; negative makes no sense.
  STALE_AFTER: duration("6h"),
  FRESHNESS_WARN_AFTER: wholeMinutes("26h"),
  FRESHNESS_ERROR_AFTER: wholeMinutes("50h"),
});

/** Variables whose values are secrets: an error about one never echoes its value. */
const SECRET_VARIABLES: ReadonlySet<string> = new Set(["ALERT_WEBHOOK_URL"]);

/**
 * The validated configuration every entry point receives. Its groups are shaped like the options
 * of the library functions they feed (`openWarehouse(config.warehouse)`, `config.api` for the
 * client, `config.dbt` for the dbt runner…), so library code never sees the whole `Config`.
 */
export interface Config {
  /** The landing zone, logs and (by default) the embedded warehouse live here. */
  readonly dataDir: string;
  /** `url` from `DATABASE_URL`; when it is `undefined`, the embedded PostgreSQL in `embeddedDir`. */
  readonly warehouse: { readonly url: string | undefined; readonly embeddedDir: string };
  /** The Random User API client. */
  readonly api: {
    readonly baseUrl: string;
    readonly retries: number;
    readonly timeoutMs: number;
    /** First backoff delay between retries (doubled per retry) when no Retry-After is sent. */
    readonly retryBaseDelayMs: number;
  };
  /** The extract of one logical date. */
  readonly extract: {
    readonly users: number;
    readonly pageSize: number;
    readonly concurrency: number;
    readonly maxRejectRate: number;
  };
  /** How dbt runs: `runner` auto/docker/local, a dbt executable instead of `.venv`, the image (the project's own, built on first use). */
  readonly dbt: {
    readonly runner: "auto" | "docker" | "local";
    readonly bin: string | undefined;
    readonly image: string;
    /** The Python that creates `.venv` (`PYTHON`). */
    readonly python: string;
  };
  /** When set, `migrate` lets the read-only `analyst` role log in with it (Metabase). */
  readonly analystPassword: string | undefined;
  /** Metabase for `metabase:provision`: its URL, admin login, and how it reaches the warehouse. */
  readonly metabase: {
    readonly url: string;
    readonly adminEmail: string;
    readonly adminPassword: string | undefined;
    /** A file with the admin password; first-run setup writes a generated one there. */
    readonly adminPasswordFile: string | undefined;
    /** Host name of the warehouse as Metabase sees it; default: DATABASE_URL's host. */
    readonly warehouseHost: string | undefined;
    readonly waitMs: number;
    /** Whether the transform pipeline ends with `metabase:provision --if-set-up`. */
    readonly afterTransform: boolean;
    /** Metabase's application database on the warehouse's server (`metabase:database`). */
    readonly databaseName: string;
  };
  /** Retries of a task after a transient failure, and the delay between tries. */
  readonly retryPolicy: { readonly retries: number; readonly retryDelayMs: number };
  /** The scheduler's window: catch up missed dates since `startDate`? */
  readonly schedule: { readonly catchup: boolean; readonly startDate: string | undefined };
  /**
   * The operations console: where it listens (`port` 0 = any free port, `"off"` = none), and the
   * token that enables its actions (read-only without one).
   */
  readonly console: {
    readonly host: string;
    readonly port: number | "off";
    readonly token: string | undefined;
  };
  /**
   * Webhook alerts: where to post them (none when `webhookUrl` is undefined), and how long past
   * a day's schedule its extract_load may be missing before the data counts as stale.
   */
  readonly alerts: { readonly webhookUrl: string | undefined; readonly staleAfterMs: number };
  /** dbt source freshness of raw.users: warn and error past these ages, in minutes. */
  readonly freshness: { readonly warnAfterMinutes: number; readonly errorAfterMinutes: number };
}

/** The names of the environment variables {@linkcode loadConfig} reads. */
export type ConfigVariable = keyof z.input<typeof environmentSchema>;

/** Every variable {@linkcode loadConfig} reads (docs/configuration.md and `.env.example` document each). */
export const CONFIG_VARIABLES = Object.freeze(
  Object.keys(environmentSchema.shape) as ConfigVariable[],
);

/** Whether a variable has a fixed default (else unset means "none", or a value worked out later). */
export function hasFixedDefault(name: ConfigVariable): boolean {
  return environmentSchema.shape[name].safeParse(undefined).data !== undefined;
}

/** Options for {@linkcode loadConfig}. */
export interface LoadConfigOptions {
  /** Variables to read; defaults to the process environment. */
  env?: Record<string, string>;
  /** A `.env` file whose values apply where `env` has none; default `.env` (may be absent). */
  envFile?: string | null;
  /** Values from command-line flags; they win over everything else. */
  overrides?: Partial<Record<ConfigVariable, string>>;
}

/**
 * Reads and validates the configuration. Fails with a {@linkcode UsageError} naming the first
 * wrong variable and the form it expects.
 */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<Config> {
  const env = options.env ?? Deno.env.toObject();
  const envFile = options.envFile === undefined ? ".env" : options.envFile;
  const fromFile = envFile === null ? {} : await readDotenv(envFile);
  const merged: Record<string, string> = { ...fromFile, ...env };
  for (const [name, value] of Object.entries(options.overrides ?? {})) {
    if (value !== undefined) merged[name] = value;
  }
  const known: Record<string, string> = {};
  for (const name of Object.keys(environmentSchema.shape)) {
    const value = merged[name];
    // An empty variable (`DATABASE_URL=`) means "not set", as in most twelve-factor tools.
    if (value !== undefined && value !== "") known[name] = value;
  }
  const parsed = environmentSchema.safeParse(known);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue?.path[0] ?? "configuration");
    const value = known[name];
    // A mistyped URL may hide its password from redactUrl (`pa#ss`, `postgres:/u:pw@h`):
    // echo a value back only when nothing that looks like credentials is left in it.
    const shown = value === undefined ? "" : redactUrl(value);
    const secret = /(PASSWORD|TOKEN)$/.test(name) || SECRET_VARIABLES.has(name) ||
      shown.replaceAll(":***@", "").includes("@");
    const got = value === undefined || secret ? "" : ` (got ${JSON.stringify(shown)})`;
    throw new UsageError(`invalid configuration: ${name} ${issue?.message ?? "is invalid"}${got}`);
  }
  const v = parsed.data;
  if (v.FRESHNESS_ERROR_AFTER <= v.FRESHNESS_WARN_AFTER) {
    throw new UsageError(
      "invalid configuration: FRESHNESS_ERROR_AFTER must be longer than FRESHNESS_WARN_AFTER " +
        `(got ${v.FRESHNESS_ERROR_AFTER}m and ${v.FRESHNESS_WARN_AFTER}m)`,
    );
  }
  checkDataDir(v.DATA_DIR);
  return deepFreeze({
    dataDir: v.DATA_DIR,
    warehouse: { url: v.DATABASE_URL, embeddedDir: resolve(v.DATA_DIR, "warehouse") },
    api: {
      baseUrl: v.RANDOMUSER_API_URL,
      retries: v.API_RETRIES,
      timeoutMs: v.API_TIMEOUT,
      retryBaseDelayMs: v.API_RETRY_DELAY,
    },
    extract: {
      users: v.USERS_PER_RUN,
      pageSize: v.API_PAGE_SIZE,
      concurrency: v.API_CONCURRENCY,
      maxRejectRate: v.MAX_REJECT_RATE,
    },
    dbt: { runner: v.DBT_RUNNER, bin: v.DBT_BIN, image: v.DBT_IMAGE, python: v.PYTHON },
    analystPassword: v.ANALYST_PASSWORD,
    metabase: {
      url: v.METABASE_URL,
      adminEmail: v.METABASE_ADMIN_EMAIL,
      adminPassword: v.METABASE_ADMIN_PASSWORD,
      adminPasswordFile: v.METABASE_ADMIN_PASSWORD_FILE,
      warehouseHost: v.METABASE_WAREHOUSE_HOST,
      waitMs: v.METABASE_WAIT,
      afterTransform: v.METABASE_SYNC,
      databaseName: v.METABASE_DB_NAME,
    },
    retryPolicy: { retries: v.TASK_RETRIES, retryDelayMs: v.TASK_RETRY_DELAY },
    schedule: { catchup: v.CATCHUP, startDate: v.PIPELINE_START_DATE },
    console: { host: v.CONSOLE_HOST, port: v.CONSOLE_PORT, token: v.CONSOLE_TOKEN },
    alerts: { webhookUrl: v.ALERT_WEBHOOK_URL, staleAfterMs: v.STALE_AFTER },
    freshness: {
      warnAfterMinutes: v.FRESHNESS_WARN_AFTER,
      errorAfterMinutes: v.FRESHNESS_ERROR_AFTER,
    },
  });
}

/**
 * The secrets in `config` — the warehouse URL's password, `ANALYST_PASSWORD`,
 * `METABASE_ADMIN_PASSWORD`, `CONSOLE_TOKEN`, `ALERT_WEBHOOK_URL` — for what must never show them
 * (the console, the output kept of each try, an alert's body).
 */
export function configSecrets(config: Config): string[] {
  const secrets = [
    config.analystPassword,
    config.metabase.adminPassword,
    config.console.token,
    config.alerts.webhookUrl,
  ];
  if (config.warehouse.url) secrets.push(...urlPasswords(config.warehouse.url));
  return [
    ...new Set(secrets.filter((secret) => secret !== undefined && secret !== "")),
  ] as string[];
}

/**
 * The passwords of a connection URL — in its user info and in its `password` and `sslpassword`
 * parameters — as written (`p%40ss`) and as the server gets them (`p@ss`).
 */
export function urlPasswords(url: string): string[] {
  const written = [/^[^:/?#]+:\/\/[^/?#@]*:([^/?#]*)@/.exec(url)?.[1]];
  for (const [, value] of url.matchAll(/[?&](?:password|sslpassword)=([^&#]*)/g)) {
    written.push(value);
  }
  const found = new Set<string>();
  for (const value of written) {
    if (value === undefined || value === "") continue;
    found.add(value);
    try {
      found.add(decodeURIComponent(value));
    } catch {
      // not valid percent-encoding: the server gets it as written
    }
  }
  return [...found];
}

/**
 * Throws a {@linkcode UsageError} naming `DATA_DIR` when it, or a folder the pipeline keeps in it,
 * exists and is not a directory (or sits below a file): every task writes there, and would fail
 * with a bare `Not a directory (os error 20)`. A folder not there yet is made when needed.
 */
function checkDataDir(dataDir: string): void {
  for (const [path, name] of DATA_DIR_FOLDERS.map((sub) => [resolve(dataDir, sub), sub] as const)) {
    let info: Deno.FileInfo;
    try {
      info = Deno.statSync(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue;
      if (!(error instanceof Deno.errors.NotADirectory)) throw error;
      throw new UsageError(
        `invalid configuration: DATA_DIR ${JSON.stringify(dataDir)} lies below a file, not a ` +
          "directory; set DATA_DIR to a directory (or a path where one can be made)",
      );
    }
    if (!info.isDirectory) {
      const what = name === "." ? "DATA_DIR" : `DATA_DIR/${name}`;
      throw new UsageError(
        `invalid configuration: ${what} (${path}) is a file, not a directory; set DATA_DIR to a ` +
          `directory, or move the file away`,
      );
    }
  }
}

/** DATA_DIR itself and the folders the pipeline writes in it. */
const DATA_DIR_FOLDERS = [".", "logs", "raw"];

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) {
    if (typeof child === "object" && child !== null) deepFreeze(child);
  }
  return Object.freeze(value);
}

async function readDotenv(path: string): Promise<Record<string, string>> {
  try {
    return parseDotenv(await Deno.readTextFile(path));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return {};
    throw error;
  }
}
