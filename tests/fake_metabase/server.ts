/**
 * A stand-in for the Metabase server — NOT Metabase — that follows Metabase's documented HTTP API
 * for exactly the calls `deno task metabase:provision` makes (health, session properties, setup,
 * session, database, collection, card, dashboard with dashcards), keeps what it is given in
 * memory, and validates requests the way Metabase does for those calls. No Metabase server can
 * run on the machines this project is built on; this is how the client is tested.
 *
 * @module
 */

/** A stored object of the stand-in. */
export type Stored = Record<string, unknown> & { id: number };

/** Options for {@linkcode startFakeMetabase}. */
export interface FakeMetabaseOptions {
  /** Address and port to listen on; default 127.0.0.1 and a free port. */
  hostname?: string;
  port?: number;
  /** `version.tag` in the session properties; default `v0.64.2.2`. */
  version?: string;
  /** `/api/health` answers 503 "initializing" this many times first; default 0. */
  unhealthyChecks?: number;
  /** Start as already set up with this admin (no setup token accepted). */
  admin?: { email: string; password: string };
  /**
   * Called with a database's `details` on create and update, as Metabase tests a connection
   * before saving it; throw to refuse.
   */
  checkConnection?: (details: Record<string, unknown>) => Promise<void>;
}

/** A running stand-in. */
export interface FakeMetabase extends AsyncDisposable {
  readonly url: string;
  readonly databases: Map<number, Stored>;
  readonly collections: Map<number, Stored>;
  readonly cards: Map<number, Stored>;
  readonly dashboards: Map<number, Stored & { dashcards: Stored[] }>;
  /** `METHOD /path` of every request, in order. */
  readonly requests: string[];
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(readonly status: number, readonly body: unknown) {
    super(typeof body === "string" ? body : JSON.stringify(body));
  }
}

/** Starts the stand-in (by default on 127.0.0.1, a free port). */
export function startFakeMetabase(options: FakeMetabaseOptions = {}): FakeMetabase {
  let unhealthy = options.unhealthyChecks ?? 0;
  const setupToken = crypto.randomUUID();
  let admin = options.admin;
  const sessions = new Set<string>();
  const databases = new Map<number, Stored>();
  const collections = new Map<number, Stored>();
  const cards = new Map<number, Stored>();
  const dashboards = new Map<number, Stored & { dashcards: Stored[] }>();
  const requests: string[] = [];
  let nextId = 1;
  const newId = () => nextId++;

  const newSession = () => {
    const id = crypto.randomUUID();
    sessions.add(id);
    return { id };
  };

  const routes: Array<
    [
      string,
      RegExp,
      (
        match: RegExpExecArray,
        body: Record<string, unknown>,
        url: URL,
      ) => Promise<unknown> | unknown,
      boolean,
    ]
  > = [
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
      version: { tag: options.version ?? "v0.64.2.2" },
    }), false],
    ["POST", /^\/api\/setup$/, (_, body) => {
      if (admin) {
        throw new HttpError(
          403,
          "The /api/setup route can only be used to create the first user, however a user currently exists.",
        );
      }
      if (body.token !== setupToken) {
        throw new HttpError(403, "Token does not match the setup token.");
      }
      const user = object(body.user, "user");
      const password = string(user.password, "user.password");
      if (password.length < 8) {
        throw new HttpError(400, { errors: { password: "password is too common." } });
      }
      admin = { email: string(user.email, "user.email"), password };
      return newSession();
    }, false],
    ["POST", /^\/api\/session$/, (_, body) => {
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
      return updated;
    }, true],
    ["GET", /^\/api\/collection$/, () => [
      { id: "root", name: "Our analytics", can_write: true },
      ...collections.values(),
    ], true],
    ["POST", /^\/api\/collection$/, (_, body) => {
      const stored = {
        id: newId(),
        name: string(body.name, "name"),
        description: body.description ?? null,
        archived: false,
      };
      collections.set(stored.id, stored);
      return stored;
    }, true],
    ["GET", /^\/api\/collection\/(\d+)\/items$/, (match, _, url) => {
      const collection = find(collections, match[1]);
      const models = url.searchParams.getAll("models");
      const items = [...cards.values()]
        .filter((card) => card.collection_id === collection.id && !card.archived)
        .map((card) => ({
          id: card.id,
          name: card.name,
          description: card.description,
          model: "card",
        }))
        .filter((item) => models.length === 0 || models.includes(item.model));
      return { data: items, total: items.length, models: ["card"] };
    }, true],
    ["POST", /^\/api\/card$/, (_, body) => {
      const stored = { id: newId(), ...validCard(body), archived: false };
      cards.set(stored.id, stored);
      return stored;
    }, true],
    ["PUT", /^\/api\/card\/(\d+)$/, (match, body) => {
      const existing = find(cards, match[1]);
      const updated = { ...existing, ...validCard({ ...existing, ...body }), id: existing.id };
      cards.set(existing.id, updated);
      return updated;
    }, true],
    [
      "GET",
      /^\/api\/dashboard$/,
      () => [...dashboards.values()].map(({ dashcards: _, ...rest }) => rest),
      true,
    ],
    ["POST", /^\/api\/dashboard$/, (_, body) => {
      const collectionId = body.collection_id;
      if (typeof collectionId === "number") find(collections, String(collectionId));
      const stored = {
        id: newId(),
        name: string(body.name, "name"),
        description: body.description ?? null,
        collection_id: collectionId ?? null,
        archived: false,
        dashcards: [] as Stored[],
      };
      dashboards.set(stored.id, stored);
      return stored;
    }, true],
    ["GET", /^\/api\/dashboard\/(\d+)$/, (match) => find(dashboards, match[1]), true],
    ["PUT", /^\/api\/dashboard\/(\d+)$/, (match, body) => {
      const dashboard = find(dashboards, match[1]);
      if (body.dashcards !== undefined) {
        if (!Array.isArray(body.dashcards)) {
          throw new HttpError(400, { errors: { dashcards: "value must be an array" } });
        }
        const seen = new Set<number>();
        dashboard.dashcards = body.dashcards.map((value, i) => {
          const dashcard = object(value, `dashcards[${i}]`);
          const id = integer(dashcard.id, `dashcards[${i}].id`);
          if (seen.has(id)) throw new HttpError(400, `duplicate dashcard id ${id}`);
          seen.add(id);
          const cardId = integer(dashcard.card_id, `dashcards[${i}].card_id`);
          if (!cards.has(cardId)) throw new HttpError(400, `card ${cardId} does not exist`);
          if (id > 0 && !dashboard.dashcards.some((d) => d.id === id)) {
            throw new HttpError(404, `dashcard ${id} is not on dashboard ${dashboard.id}`);
          }
          for (const key of ["row", "col", "size_x", "size_y"]) {
            integer(dashcard[key], `dashcards[${i}].${key}`);
          }
          return { ...dashcard, id: id < 0 ? newId() : id, card_id: cardId };
        });
      }
      return dashboard;
    }, true],
  ];

  const validDatabase = async (body: Record<string, unknown>) => {
    const engine = string(body.engine, "engine");
    if (engine !== "postgres") {
      throw new HttpError(400, { errors: { engine: `unknown engine ${engine}` } });
    }
    const details = object(body.details, "details");
    for (const key of ["host", "dbname", "user"]) string(details[key], `details.${key}`);
    integer(details.port, "details.port");
    try {
      await options.checkConnection?.(details);
    } catch (error) {
      throw new HttpError(400, { message: `Couldn't connect to the database: ${String(error)}` });
    }
    return { engine, name: string(body.name, "name"), details };
  };

  const validCard = (body: Record<string, unknown>) => {
    const query = object(body.dataset_query, "dataset_query");
    if (query.type !== "native") {
      throw new HttpError(400, { errors: { dataset_query: "only native queries here" } });
    }
    const native = object(query.native, "dataset_query.native");
    string(native.query, "dataset_query.native.query");
    const database = integer(query.database, "dataset_query.database");
    if (!databases.has(database)) throw new HttpError(400, `database ${database} does not exist`);
    const collectionId = body.collection_id;
    if (typeof collectionId === "number") find(collections, String(collectionId));
    return {
      name: string(body.name, "name"),
      description: body.description ?? null,
      display: string(body.display, "display"),
      visualization_settings: object(body.visualization_settings, "visualization_settings"),
      collection_id: collectionId ?? null,
      dataset_query: query,
    };
  };

  const server = Deno.serve({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 0,
    onListen() {},
  }, async (request) => {
    const url = new URL(request.url);
    requests.push(`${request.method} ${url.pathname}`);
    for (const [method, path, handle, auth] of routes) {
      const match = path.exec(url.pathname);
      if (!match || method !== request.method) continue;
      try {
        if (auth && !sessions.has(request.headers.get("x-metabase-session") ?? "")) {
          throw new HttpError(401, "Unauthenticated");
        }
        const body = request.method === "GET"
          ? {}
          : object(await request.json().catch(() => null), "body");
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
    await server.shutdown();
  };
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    databases,
    collections,
    cards,
    dashboards,
    requests,
    close,
    [Symbol.asyncDispose]: close,
  };
}

function object(value: unknown, name: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new HttpError(400, { errors: { [name]: "value must be a map" } });
  }
  return value as Record<string, unknown>;
}

function string(value: unknown, name: string): string {
  if (typeof value !== "string" || value === "") {
    throw new HttpError(400, { errors: { [name]: "value must be a non-blank string" } });
  }
  return value;
}

function integer(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new HttpError(400, { errors: { [name]: "value must be an integer" } });
  }
  return value;
}

function find<T extends Stored>(map: Map<number, T>, id: string | undefined): T {
  const found = map.get(Number(id));
  if (!found) throw new HttpError(404, "Not found.");
  return found;
}
