/**
 * A stand-in for the Metabase server — NOT Metabase — for exactly the calls
 * `deno task metabase:provision` makes, as strict as Metabase is for each of them. No Metabase
 * server can run on the machines this project is built on; this is how the client is tested.
 *
 * What it follows, and where from (Metabase's own source, read up to v0.61 — the newest at hand;
 * the stack runs v0.64, whose API changelog lists no break for these calls):
 * - `POST /api/setup` (`metabase.setup.api`): the token, a valid email, a valid password
 *   (`metabase.util.password`: the default "normal" complexity is at least 6 characters with a
 *   digit, and not on the common-password list), a non-blank `prefs.site_name`; 403 once a user
 *   exists. The setup token is cleared once used (`metabase.setup.settings/setup-token`: "once
 *   used, it is cleared out, never to be used again"), so `GET /api/session/properties` then
 *   answers `"setup-token": null`.
 * - `POST /api/session`: 401 `did not match stored password`.
 * - `POST /api/database` and `PUT /api/database/:id`: the connection is tested for real (the
 *   stand-in logs in to the warehouse with the details), then the schema is synced, as Metabase
 *   does after saving a database, asynchronously; `POST /api/database/:id/sync_schema` syncs again
 *   and `GET /api/database/:id/metadata` serves the synced tables and fields.
 * - `PUT /api/table/:id` (`metabase.warehouse-schema.api.table`: `description` may be any string
 *   or null) and `PUT /api/field/:id` (`…api.field`: `description` must be non-blank or null).
 * - `POST /api/card` / `PUT /api/card/:id` (`metabase.queries.api.card`, `CardCreateSchema` and
 *   `CardUpdateSchema`): a non-blank name and display, a map of visualization settings, and on
 *   create a description that is non-blank or absent. The query is stored and returned as MBQL 5
 *   (`lib/type` `mbql/query`, a native stage), which v0.57+ does (its API changelog); a legacy
 *   native query is accepted and converted (`metabase.lib.schema`: a native stage holds `native`,
 *   an empty `template-tags` is dropped, and keys such as `query`, `type` or `database` are
 *   refused in a stage). Before v0.57 the legacy shape is stored as sent and MBQL 5 is refused.
 * - `GET /api/collection/:id/items?models=…` (a `models` value must be one Metabase knows).
 * - `PUT /api/dashboard/:id` with `dashcards` (`UpdatedDashboardCard`: an integer id, negative
 *   for a new card; positive `size_x`/`size_y`; `row`/`col` ≥ 0). Stricter than Metabase's API,
 *   and labelled so: a card must fit the 24-column grid (`metabase.dashboards.constants/
 *   GRID_WIDTH`) and be at least the minimum size for its display (`card-size-defaults`), which
 *   Metabase's frontend enforces when a card is placed by hand.
 *
 * `GET /_fake/state` (no login; only the stand-in has it) answers everything it holds as JSON —
 * cards with their visualization settings and queries, dashboards with their cards, the synced
 * tables and fields with their descriptions — for tests that reach the stand-in only over HTTP.
 *
 * @module
 */
import { connect } from "../../tasks/warehouse/sql_client.ts";

/** A stored object of the stand-in. */
export type Stored = Record<string, unknown> & { id: number };

/** A column of the warehouse as a sync reads it. */
export interface WarehouseColumn {
  readonly schema: string;
  readonly table: string;
  readonly column: string;
  /** PostgreSQL's `udt_name` (`int4`, `text`, `timestamptz`, …). */
  readonly type: string;
}

/** How the stand-in reaches a database it is given, as Metabase's postgres driver would. */
export interface StandInWarehouse {
  /** Logs in with `details`; throws to refuse the connection. */
  check(details: Record<string, unknown>): Promise<void>;
  /** The columns of the tables in `schemas` (every schema but the system ones when undefined). */
  columns(
    details: Record<string, unknown>,
    schemas: ((schema: string) => boolean) | undefined,
  ): Promise<WarehouseColumn[]>;
}

/** Options for {@linkcode startFakeMetabase}. */
export interface FakeMetabaseOptions {
  /** `version.tag` in the session properties; default `v0.64.2.2` (what the stack runs). */
  version?: string;
  /** `/api/health` answers 503 "initializing" this many times first; default 0. */
  unhealthyChecks?: number;
  /** Start as already set up with this admin (no setup token then). */
  admin?: { email: string; password: string };
  /** How databases are reached; default: PostgreSQL over the network with the details given. */
  warehouse?: StandInWarehouse;
  /** How long a schema sync takes after it is asked for; default 50 ms (Metabase's is async). */
  syncDelayMs?: number;
  /** Where to listen; default 127.0.0.1 and a free port. */
  hostname?: string;
  port?: number;
}

/** A running stand-in. */
export interface FakeMetabase extends AsyncDisposable {
  readonly url: string;
  readonly databases: Map<number, Stored>;
  readonly collections: Map<number, Stored>;
  readonly cards: Map<number, Stored>;
  readonly dashboards: Map<number, Stored & { dashcards: Stored[] }>;
  readonly tables: Map<number, Stored & { fields: Stored[] }>;
  /** `METHOD /path` of every request, in order. */
  readonly requests: string[];
  /** What `GET /_fake/state` answers. */
  state(): Record<string, unknown>;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(readonly status: number, readonly body: unknown) {
    super(typeof body === "string" ? body : JSON.stringify(body));
  }
}

// Metabase's API error messages for its malli schemas (metabase.util.malli.schema).
const NON_BLANK = "value must be a non-blank string.";
const MAYBE_NON_BLANK = "nullable value must be a non-blank string.";
const MAP = "Value must be a map.";
const POSITIVE_INT = "value must be an integer greater than zero.";
const MAYBE_POSITIVE_INT = "nullable value must be an integer greater than zero.";
const NON_NEGATIVE_INT = "value must be an integer greater or equal to than zero.";
const EMAIL = "value must be a valid email address.";
const PASSWORD = "password is too common.";
const TOKEN = "Token does not match the setup token.";

/** metabase.util/email? (matched against the lower-cased address). */
const EMAIL_PATTERN =
  /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

/**
 * A few entries of the common-password list Metabase ships (~12k from zxcvbn, all of which meet
 * the default complexity); the stand-in cannot ship that list, so it refuses these only.
 */
const COMMON_PASSWORDS = new Set([
  "password1",
  "abc123",
  "123456",
  "qwerty123",
  "passw0rd",
  "letmein1",
  "welcome1",
  "admin123",
]);

/** metabase.util.password/is-valid? with the default complexity (:normal). */
function validPassword(password: string): boolean {
  return [...password].length >= 6 && /\d/.test(password) &&
    !COMMON_PASSWORDS.has(password.toLowerCase());
}

/** The models `GET /api/collection/:id/items` knows (metabase.collections.api). */
const ITEM_MODELS = new Set([
  "card",
  "dataset",
  "metric",
  "collection",
  "dashboard",
  "pulse",
  "snippet",
  "no_models",
  "timeline",
  "table",
]);

/** metabase.dashboards.constants: the grid's width and each display's minimum card size. */
const GRID_WIDTH = 24;
const MIN_CARD_SIZE: Record<string, { width: number; height: number }> = {
  bar: { width: 4, height: 3 },
  line: { width: 4, height: 3 },
  pie: { width: 4, height: 3 },
  table: { width: 4, height: 3 },
};

/** Keys a native MBQL 5 stage may not hold (metabase.lib.schema, `::stage.native`). */
const NOT_IN_NATIVE_STAGE = [
  "query",
  "type",
  "database",
  "args",
  "source-table",
  "source-card",
  "fields",
  "filters",
  "breakout",
  "aggregation",
  "limit",
  "order-by",
];

/** Starts the stand-in (default 127.0.0.1 on a free port). */
export function startFakeMetabase(options: FakeMetabaseOptions = {}): FakeMetabase {
  const version = options.version ?? "v0.64.2.2";
  const storesMbql5 = minorVersion(version) >= 57;
  const warehouse = options.warehouse ?? postgresWarehouse;
  let unhealthy = options.unhealthyChecks ?? 0;
  let setupToken: string | null = options.admin ? null : crypto.randomUUID();
  let admin = options.admin;
  const sessions = new Set<string>();
  const databases = new Map<number, Stored>();
  const collections = new Map<number, Stored>();
  const cards = new Map<number, Stored>();
  const dashboards = new Map<number, Stored & { dashcards: Stored[] }>();
  const tables = new Map<number, Stored & { fields: Stored[] }>();
  const fields = new Map<number, Stored>();
  const syncs = new Set<Promise<void>>();
  const requests: string[] = [];
  let nextId = 1;
  const newId = () => nextId++;

  const newSession = () => {
    const id = crypto.randomUUID();
    sessions.add(id);
    return { id };
  };

  /** Reads the warehouse's tables into the database's metadata, as Metabase's sync does. */
  const sync = (database: Stored) => {
    const running = (async () => {
      await new Promise((resolve) => setTimeout(resolve, options.syncDelayMs ?? 50));
      const details = database.details as Record<string, unknown>;
      let columns: WarehouseColumn[];
      try {
        columns = await warehouse.columns(details, schemaFilter(details));
      } catch {
        return; // Metabase logs a failed sync and keeps the metadata it had
      }
      const seen = new Set<number>();
      for (const column of columns) {
        let table = [...tables.values()].find((t) =>
          t.db_id === database.id && t.schema === column.schema && t.name === column.table
        );
        if (!table) {
          table = {
            id: newId(),
            db_id: database.id,
            schema: column.schema,
            name: column.table,
            display_name: humanize(column.table),
            description: null,
            entity_type: "entity/GenericTable",
            visibility_type: null,
            active: true,
            fields: [],
          };
          tables.set(table.id, table);
        }
        table.active = true;
        seen.add(table.id);
        let field = table.fields.find((f) => f.name === column.column);
        if (!field) {
          field = {
            id: newId(),
            table_id: table.id,
            name: column.column,
            display_name: humanize(column.column),
            description: null,
            database_type: column.type,
            base_type: baseType(column.type),
            semantic_type: null,
            active: true,
          };
          table.fields.push(field);
          fields.set(field.id, field);
        }
        field.active = true;
      }
      for (const table of tables.values()) {
        if (table.db_id === database.id && !seen.has(table.id)) table.active = false;
      }
    })();
    syncs.add(running);
    running.finally(() => syncs.delete(running));
  };

  const validDatabase = async (body: Record<string, unknown>) => {
    const errors: Record<string, string> = {};
    if (body.engine !== "postgres") errors.engine = "value must be a valid database engine.";
    if (!nonBlank(body.name)) errors.name = NON_BLANK;
    if (!isMap(body.details)) errors.details = MAP;
    refuse(errors);
    const details = body.details as Record<string, unknown>;
    try {
      await warehouse.check(details);
    } catch (error) {
      throw new HttpError(400, {
        message: `Couldn't connect to the database: ${
          error instanceof Error ? error.message : String(error)
        }`,
      });
    }
    return { engine: body.engine, name: body.name, details };
  };

  /** The stored form of a card's query: MBQL 5 from v0.57 on, as sent before. */
  const storedQuery = (value: unknown): Record<string, unknown> => {
    if (!isMap(value)) refuse({ dataset_query: MAP });
    const query = value as Record<string, unknown>;
    const legacy = query["lib/type"] === undefined;
    if (!legacy && !storesMbql5) {
      refuse({ dataset_query: `this stand-in plays Metabase ${version}, which predates MBQL 5` });
    }
    let database: unknown;
    let stage: Record<string, unknown>;
    if (legacy) {
      if (query.type !== "native") {
        refuse({ dataset_query: "the stand-in models native questions only (type native)" });
      }
      const native = isMap(query.native) ? query.native as Record<string, unknown> : undefined;
      if (!native || typeof native.query !== "string") {
        refuse({ dataset_query: "a native query needs native.query, a string" });
      }
      database = query.database;
      stage = { "lib/type": "mbql.stage/native", native: native?.query };
      const tags = native?.["template-tags"];
      if (tags !== undefined && !isMap(tags)) {
        refuse({ dataset_query: "native.template-tags must be a map" });
      }
      if (isMap(tags) && Object.keys(tags as object).length > 0) {
        refuse({ dataset_query: "the stand-in does not model template tags" });
      }
    } else {
      const allowed = ["lib/type", "database", "stages", "parameters", "settings", "constraints"];
      const extra = Object.keys(query).filter((key) => !allowed.includes(key));
      if (query["lib/type"] !== "mbql/query") {
        refuse({ dataset_query: "lib/type must be mbql/query" });
      }
      if (extra.length > 0) {
        refuse({ dataset_query: `disallowed keys in an MBQL 5 query: ${extra.join(", ")}` });
      }
      const stages = query.stages;
      if (!Array.isArray(stages) || stages.length !== 1 || !isMap(stages[0])) {
        refuse({ dataset_query: "stages must hold the one native stage of a native question" });
      }
      const first = (stages as Record<string, unknown>[])[0] ?? {};
      if (first["lib/type"] !== "mbql.stage/native") {
        refuse({ dataset_query: "the stand-in models native stages only (mbql.stage/native)" });
      }
      const disallowed = NOT_IN_NATIVE_STAGE.filter((key) => key in first);
      if (disallowed.length > 0) {
        refuse({ dataset_query: `not allowed in a native query stage: ${disallowed.join(", ")}` });
      }
      if (typeof first.native !== "string") {
        refuse({ dataset_query: "a native stage's native must be the query text" });
      }
      const tags = first["template-tags"];
      const empty = tags === undefined ||
        (Array.isArray(tags) && tags.length === 0) ||
        (isMap(tags) && Object.keys(tags as object).length === 0);
      if (!empty) refuse({ dataset_query: "the stand-in does not model template tags" });
      database = query.database;
      stage = { "lib/type": "mbql.stage/native", native: first.native };
    }
    if (typeof database !== "number" || !Number.isInteger(database) || database < 1) {
      refuse({ dataset_query: "database must be an integer greater than zero" });
    }
    if (!databases.has(database as number)) {
      throw new HttpError(400, `database ${database} does not exist`);
    }
    if (!storesMbql5) return query;
    return { "lib/type": "mbql/query", database, stages: [stage] };
  };

  const checkCollection = (value: unknown, key = "collection_id") => {
    if (value === undefined || value === null) return null;
    if (!positiveInteger(value)) refuse({ [key]: MAYBE_POSITIVE_INT });
    find(collections, String(value));
    return value as number;
  };

  type Handler = (
    match: RegExpExecArray,
    body: Record<string, unknown>,
    url: URL,
  ) => Promise<unknown> | unknown;
  const routes: Array<[string, RegExp, Handler, boolean]> = [
    ["GET", /^\/api\/health$/, () => {
      if (unhealthy > 0) {
        unhealthy--;
        throw new HttpError(503, { status: "initializing", progress: 0.5 });
      }
      return { status: "ok" };
    }, false],
    ["GET", /^\/api\/session\/properties$/, () => ({
      "setup-token": setupToken,
      "has-user-setup": admin !== undefined,
      version: { tag: version },
    }), false],
    ["POST", /^\/api\/setup$/, (_, body) => {
      // The endpoint's parameters are validated first (400), then whether a user exists (403).
      const user = isMap(body.user) ? body.user as Record<string, unknown> : {};
      const prefs = isMap(body.prefs) ? body.prefs as Record<string, unknown> : {};
      const errors: Record<string, string> = {};
      if (!nonBlank(body.token) || body.token !== setupToken) errors.token = TOKEN;
      if (typeof user.email !== "string" || !EMAIL_PATTERN.test(user.email.toLowerCase())) {
        errors.email = EMAIL;
      }
      if (typeof user.password !== "string" || !validPassword(user.password)) {
        errors.password = PASSWORD;
      }
      maybeNonBlank(user, ["first_name", "last_name"], errors);
      if (!nonBlank(prefs.site_name)) errors.site_name = NON_BLANK;
      refuse(errors);
      if (admin) {
        throw new HttpError(
          403,
          "The /api/setup route can only be used to create the first user, however a user currently exists.",
        );
      }
      admin = { email: String(user.email), password: String(user.password) };
      setupToken = null;
      return newSession();
    }, false],
    ["POST", /^\/api\/session$/, (_, body) => {
      const errors: Record<string, string> = {};
      if (!nonBlank(body.username)) errors.username = NON_BLANK;
      if (!nonBlank(body.password)) errors.password = NON_BLANK;
      refuse(errors);
      if (!admin || body.username !== admin.email || body.password !== admin.password) {
        throw new HttpError(401, { errors: { password: "did not match stored password" } });
      }
      return newSession();
    }, false],
    [
      "GET",
      /^\/api\/database$/,
      () => ({ data: [...databases.values()], total: databases.size }),
      true,
    ],
    ["POST", /^\/api\/database$/, async (_, body) => {
      const stored = { id: newId(), ...(await validDatabase(body)) };
      databases.set(stored.id, stored);
      sync(stored);
      return stored;
    }, true],
    ["PUT", /^\/api\/database\/(\d+)$/, async (match, body) => {
      const existing = find(databases, match[1]);
      const updated = {
        ...existing,
        ...(await validDatabase({ ...existing, ...body })),
        id: existing.id,
      };
      databases.set(existing.id, updated);
      sync(updated);
      return updated;
    }, true],
    ["POST", /^\/api\/database\/(\d+)\/sync_schema$/, (match) => {
      sync(find(databases, match[1]));
      return { status: "ok" };
    }, true],
    ["GET", /^\/api\/database\/(\d+)\/metadata$/, (match) => {
      const database = find(databases, match[1]);
      return {
        ...database,
        tables: [...tables.values()]
          .filter((t) => t.db_id === database.id && t.active)
          .map((t) => ({ ...t, fields: t.fields.filter((f) => f.active) })),
      };
    }, true],
    ["PUT", /^\/api\/table\/(\d+)$/, (match, body) => {
      const table = find(tables, match[1]);
      const errors: Record<string, string> = {};
      if (body.description !== undefined && body.description !== null) {
        if (typeof body.description !== "string") errors.description = "nullable string";
      }
      maybeNonBlank(body, ["display_name"], errors);
      refuse(errors);
      if ("description" in body) table.description = body.description;
      if (nonBlank(body.display_name)) table.display_name = body.display_name;
      return table;
    }, true],
    ["PUT", /^\/api\/field\/(\d+)$/, (match, body) => {
      const field = find(fields, match[1]);
      const errors: Record<string, string> = {};
      maybeNonBlank(body, ["description", "display_name", "caveats", "points_of_interest"], errors);
      refuse(errors);
      if ("description" in body) field.description = body.description;
      if (nonBlank(body.display_name)) field.display_name = body.display_name;
      return field;
    }, true],
    ["GET", /^\/api\/collection$/, () => [
      { id: "root", name: "Our analytics", can_write: true },
      ...collections.values(),
    ], true],
    ["POST", /^\/api\/collection$/, (_, body) => {
      const errors: Record<string, string> = {};
      if (!nonBlank(body.name)) errors.name = NON_BLANK;
      maybeNonBlank(body, ["description"], errors);
      refuse(errors);
      const stored = {
        id: newId(),
        name: body.name,
        description: body.description ?? null,
        archived: false,
      };
      collections.set(stored.id, stored);
      return stored;
    }, true],
    ["GET", /^\/api\/collection\/(\d+)\/items$/, (match, _, url) => {
      const collection = find(collections, match[1]);
      const models = url.searchParams.getAll("models");
      const unknown = models.filter((model) => !ITEM_MODELS.has(model));
      if (unknown.length > 0) refuse({ models: `unknown models: ${unknown.join(", ")}` });
      const itemsOf = (model: string, stored: Iterable<Stored>) =>
        [...stored]
          .filter((item) => item.collection_id === collection.id && !item.archived)
          .map(({ id, name, description }) => ({ id, name, description, model }));
      const items = [
        ...itemsOf("card", cards.values()),
        ...itemsOf("dashboard", dashboards.values()),
      ]
        .filter((item) => models.length === 0 || models.includes(item.model));
      return { data: items, total: items.length, models: [...new Set(items.map((i) => i.model))] };
    }, true],
    ["GET", /^\/api\/card\/(\d+)$/, (match) => find(cards, match[1]), true],
    ["POST", /^\/api\/card$/, (_, body) => {
      const errors: Record<string, string> = {};
      if (!nonBlank(body.name)) errors.name = NON_BLANK;
      if (!isMap(body.dataset_query)) errors.dataset_query = MAP;
      maybeNonBlank(body, ["description"], errors);
      if (!nonBlank(body.display)) errors.display = NON_BLANK;
      if (!isMap(body.visualization_settings)) errors.visualization_settings = MAP;
      refuse(errors);
      const stored = {
        id: newId(),
        name: body.name,
        description: body.description ?? null,
        display: body.display,
        visualization_settings: body.visualization_settings,
        collection_id: checkCollection(body.collection_id),
        dataset_query: storedQuery(body.dataset_query),
        archived: false,
      };
      cards.set(stored.id, stored);
      return stored;
    }, true],
    ["PUT", /^\/api\/card\/(\d+)$/, (match, body) => {
      const existing = find(cards, match[1]);
      const errors: Record<string, string> = {};
      const present = (key: string) => body[key] !== undefined && body[key] !== null;
      if (present("name") && !nonBlank(body.name)) errors.name = MAYBE_NON_BLANK;
      if (present("display") && !nonBlank(body.display)) errors.display = MAYBE_NON_BLANK;
      // On update Metabase takes any string as a description, a blank one included.
      if (present("description") && typeof body.description !== "string") {
        errors.description = "nullable string";
      }
      for (const key of ["visualization_settings", "dataset_query"]) {
        if (present(key) && !isMap(body[key])) errors[key] = `nullable ${MAP}`;
      }
      refuse(errors);
      const updated: Stored = { ...existing };
      for (const key of ["name", "display", "visualization_settings"]) {
        if (present(key)) updated[key] = body[key];
      }
      if ("description" in body) updated.description = body.description;
      if ("collection_id" in body) updated.collection_id = checkCollection(body.collection_id);
      if (present("dataset_query")) updated.dataset_query = storedQuery(body.dataset_query);
      cards.set(existing.id, updated);
      return updated;
    }, true],
    ["POST", /^\/api\/dashboard$/, (_, body) => {
      const errors: Record<string, string> = {};
      if (!nonBlank(body.name)) errors.name = NON_BLANK;
      if (body.description !== undefined && body.description !== null) {
        if (typeof body.description !== "string") errors.description = "nullable string";
      }
      refuse(errors);
      const stored = {
        id: newId(),
        name: body.name,
        description: body.description ?? null,
        collection_id: checkCollection(body.collection_id),
        archived: false,
        dashcards: [] as Stored[],
      };
      dashboards.set(stored.id, stored);
      return stored;
    }, true],
    ["GET", /^\/api\/dashboard\/(\d+)$/, (match) => find(dashboards, match[1]), true],
    ["PUT", /^\/api\/dashboard\/(\d+)$/, (match, body) => {
      const dashboard = find(dashboards, match[1]);
      if (body.dashcards !== undefined && body.dashcards !== null) {
        if (!Array.isArray(body.dashcards)) refuse({ dashcards: "value must be a sequence" });
        dashboard.dashcards = validDashcards(body.dashcards as unknown[], dashboard);
      }
      return dashboard;
    }, true],
  ];

  const validDashcards = (values: unknown[], dashboard: { id: number; dashcards: Stored[] }) => {
    const errors: Record<string, string> = {};
    const seen = new Set<number>();
    const valid = values.map((value, i) => {
      const at = `dashcards[${i}]`;
      if (!isMap(value)) {
        errors[at] = MAP;
        return undefined;
      }
      const dashcard = value as Record<string, unknown>;
      const id = dashcard.id;
      if (typeof id !== "number" || !Number.isInteger(id)) errors[`${at}.id`] = "integer";
      for (const key of ["size_x", "size_y"]) {
        if (!positiveInteger(dashcard[key])) errors[`${at}.${key}`] = POSITIVE_INT;
      }
      for (const key of ["row", "col"]) {
        const n = dashcard[key];
        if (typeof n !== "number" || !Number.isInteger(n) || n < 0) {
          errors[`${at}.${key}`] = NON_NEGATIVE_INT;
        }
      }
      const cardId = dashcard.card_id;
      const card = typeof cardId === "number" ? cards.get(cardId) : undefined;
      if (!card) errors[`${at}.card_id`] = `card ${cardId} does not exist`;
      if (Object.keys(errors).some((key) => key.startsWith(at))) return undefined;
      // Stricter than Metabase's API (see the module documentation): on the grid, big enough.
      const col = dashcard.col as number;
      const sizeX = dashcard.size_x as number;
      const sizeY = dashcard.size_y as number;
      if (col + sizeX > GRID_WIDTH) {
        errors[at] = `col ${col} + size_x ${sizeX} runs past the ${GRID_WIDTH}-column grid`;
      }
      const min = MIN_CARD_SIZE[String(card?.display)];
      if (min && (sizeX < min.width || sizeY < min.height)) {
        errors[at] = `a ${card?.display} card is at least ${min.width}×${min.height}`;
      }
      if (seen.has(id as number)) errors[`${at}.id`] = `duplicate dashcard id ${id}`;
      seen.add(id as number);
      if ((id as number) > 0 && !dashboard.dashcards.some((d) => d.id === id)) {
        throw new HttpError(404, `dashcard ${id} is not on dashboard ${dashboard.id}`);
      }
      return dashcard;
    });
    refuse(errors);
    return valid.map((dashcard) => {
      const d = dashcard as Record<string, unknown> & { id: number };
      return { ...d, id: d.id < 0 ? newId() : d.id };
    });
  };

  const state = () => ({
    standIn: "randomuser-elt's Metabase stand-in (tests/fake_metabase), not Metabase",
    version,
    hasUserSetup: admin !== undefined,
    databases: [...databases.values()].map((database) => ({
      ...database,
      details: { ...(database.details as object), password: "***" },
    })),
    collections: [...collections.values()],
    cards: [...cards.values()],
    dashboards: [...dashboards.values()],
    tables: [...tables.values()].filter((table) => table.active),
  });

  const server = Deno.serve({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 0,
    onListen() {},
  }, async (request) => {
    const url = new URL(request.url);
    requests.push(`${request.method} ${url.pathname}`);
    if (request.method === "GET" && url.pathname === "/_fake/state") return Response.json(state());
    for (const [method, path, handle, auth] of routes) {
      const match = path.exec(url.pathname);
      if (!match || method !== request.method) continue;
      try {
        if (auth && !sessions.has(request.headers.get("x-metabase-session") ?? "")) {
          throw new HttpError(401, "Unauthenticated");
        }
        let body: Record<string, unknown> = {};
        if (request.method !== "GET") {
          const parsed: unknown = await request.json().catch(() => null);
          if (!isMap(parsed)) refuse({ body: MAP });
          body = parsed as Record<string, unknown>;
        }
        return Response.json(await handle(match, body, url));
      } catch (error) {
        if (error instanceof HttpError) {
          return typeof error.body === "string"
            ? new Response(error.body, { status: error.status })
            : Response.json(error.body, { status: error.status });
        }
        throw error;
      }
    }
    return new Response("API endpoint does not exist.", { status: 404 });
  });

  const close = async () => {
    await Promise.allSettled([...syncs]);
    await server.shutdown();
  };
  return {
    url: `http://${server.addr.hostname}:${server.addr.port}`,
    databases,
    collections,
    cards,
    dashboards,
    tables,
    requests,
    state,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** The warehouse over the network, with the details Metabase would use (host, port, login). */
export const postgresWarehouse: StandInWarehouse = {
  async check(details) {
    await withConnection(details, async (sql) => {
      await sql`select 1`;
    });
  },
  async columns(details, schemas) {
    return await withConnection(details, async (sql) => {
      const rows = await sql<WarehouseColumn[]>`
        select c.table_schema as schema, c.table_name as table, c.column_name as column,
               c.udt_name as type
        from information_schema.columns c
        join information_schema.tables t using (table_schema, table_name)
        where c.table_schema not in ('pg_catalog', 'information_schema')
        order by c.table_schema, c.table_name, c.ordinal_position`;
      return rows.filter((row) => schemas?.(row.schema) ?? true);
    });
  },
};

async function withConnection<T>(
  details: Record<string, unknown>,
  work: (sql: ReturnType<typeof connect>) => Promise<T>,
): Promise<T> {
  const url = new URL("postgres://localhost");
  url.hostname = String(details.host);
  url.port = String(details.port);
  url.pathname = `/${encodeURIComponent(String(details.dbname))}`;
  url.username = encodeURIComponent(String(details.user));
  url.password = encodeURIComponent(String(details.password ?? ""));
  const sql = connect(url.href, { max: 1 });
  try {
    return await work(sql);
  } finally {
    await sql.end();
  }
}

/** The schemas a database's details let a sync see (`schema-filters-type` inclusion/exclusion). */
function schemaFilter(details: Record<string, unknown>): ((schema: string) => boolean) | undefined {
  const type = details["schema-filters-type"];
  if (type !== "inclusion" && type !== "exclusion") return undefined;
  const patterns = String(details["schema-filters-patterns"] ?? "").split(",")
    .map((p) => p.trim()).filter((p) => p !== "")
    .map((p) => new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*")}$`));
  const matches = (schema: string) => patterns.some((pattern) => pattern.test(schema));
  return type === "inclusion" ? matches : (schema) => !matches(schema);
}

/** metabase.driver.postgres' base types for the column types the marts use. */
function baseType(udt: string): string {
  const types: Record<string, string> = {
    int2: "type/Integer",
    int4: "type/Integer",
    int8: "type/BigInteger",
    numeric: "type/Decimal",
    float4: "type/Float",
    float8: "type/Float",
    text: "type/Text",
    varchar: "type/Text",
    bool: "type/Boolean",
    date: "type/Date",
    timestamp: "type/DateTime",
    timestamptz: "type/DateTimeWithLocalTZ",
    uuid: "type/UUID",
  };
  return types[udt] ?? "type/*";
}

/** Metabase's default ("simple") humanization of a name: `dim_location` → `Dim Location`. */
function humanize(name: string): string {
  return name.split(/[_\s]+/).filter((w) => w !== "")
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join(" ");
}

function minorVersion(tag: string): number {
  return Number(/^v[01]\.(\d+)/.exec(tag)?.[1] ?? 0);
}

/** Answers 400 with Metabase's `{"errors": {param: message}}` when any parameter was refused. */
function refuse(errors: Record<string, string>): void {
  if (Object.keys(errors).length > 0) throw new HttpError(400, { errors });
}

function isMap(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Metabase's `[:maybe ms/NonBlankString]`: absent, null, or a non-blank string. */
function maybeNonBlank(
  body: Record<string, unknown>,
  keys: readonly string[],
  errors: Record<string, string>,
): void {
  for (const key of keys) {
    if (body[key] !== undefined && body[key] !== null && !nonBlank(body[key])) {
      errors[key] = MAYBE_NON_BLANK;
    }
  }
}

function nonBlank(value: unknown): boolean {
  return typeof value === "string" && value.trim() !== "";
}

function positiveInteger(value: unknown): boolean {
  return typeof value === "number" && Number.isInteger(value) && value > 0;
}

function find<T extends Stored>(map: Map<number, T>, id: string | undefined): T {
  const found = map.get(Number(id));
  if (!found) throw new HttpError(404, "Not found.");
  return found;
}
