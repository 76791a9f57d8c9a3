/**
 * A small client for the parts of Metabase's HTTP API that provisioning uses (documented at
 * https://www.metabase.com/docs/latest/api, followed up to v0.61's source): health, session
 * properties, first-run setup, login, databases and their synced metadata (tables, fields),
 * collections and their items, cards and dashboards. Answers are validated with zod, so a
 * Metabase that speaks differently fails with a message instead of a half-made dashboard.
 * Nothing here uses an endpoint Metabase marks deprecated (`GET /api/dashboard` is: a dashboard
 * is found among its collection's items).
 *
 * @example
 * ```ts
 * const metabase = new MetabaseClient("http://localhost:3000");
 * await metabase.waitUntilHealthy({ timeoutMs: 300_000 });
 * ```
 *
 * @module
 */
import { z } from "zod";
import { errorMessage, TerminalError, TransientError } from "../shared/errors.ts";
import { sleep } from "../shared/sleep.ts";
import {
  type Card,
  card,
  collection,
  dashboard,
  type DashcardLayout,
  database,
  items,
  type MetabaseTable,
  type Named,
  type SessionProperties,
  sessionProperties,
  table,
  withId,
} from "./metabase_answers.ts";

export type { Card, DashcardLayout, MetabaseTable, Named, SessionProperties };

/** An HTTP client bound to one Metabase, holding the session after login. */
export class MetabaseClient {
  readonly #base: URL;
  #session: string | undefined;

  constructor(url: string) {
    this.#base = new URL(url.endsWith("/") ? url : `${url}/`);
  }

  /** Polls `GET /api/health` until it answers `{"status":"ok"}`. */
  async waitUntilHealthy(options: { timeoutMs: number; intervalMs?: number }): Promise<void> {
    const deadline = Date.now() + options.timeoutMs;
    let last = "no answer yet";
    for (;;) {
      try {
        const response = await fetch(new URL("api/health", this.#base), {
          signal: AbortSignal.timeout(10_000),
        });
        const body = await response.text();
        if (response.ok && /"status"\s*:\s*"ok"/.test(body)) return;
        last = `${response.status} ${body.slice(0, 200)}`;
      } catch (error) {
        last = errorMessage(error);
      }
      if (Date.now() >= deadline) {
        throw new TransientError(
          `Metabase at ${this.#base.origin} was not healthy after ${
            Math.round(options.timeoutMs / 1000)
          } s ` +
            `(last answer: ${last}); is it running, and is METABASE_URL right?`,
        );
      }
      await sleep(options.intervalMs ?? 2_000);
    }
  }

  /** `GET /api/session/properties`: setup token, whether an admin exists, version. */
  async properties(): Promise<SessionProperties> {
    return await this.#request("GET", "api/session/properties", {
      schema: sessionProperties,
      auth: false,
    });
  }

  /** First-run setup with the setup token; logs in as the new admin. */
  async setup(
    options: { token: string; email: string; password: string; siteName: string },
  ): Promise<void> {
    const session = await this.#request("POST", "api/setup", {
      schema: z.object({ id: z.string() }),
      auth: false,
      body: {
        token: options.token,
        user: {
          email: options.email,
          password: options.password,
          first_name: "Pipeline",
          last_name: "Admin",
          site_name: options.siteName,
        },
        prefs: { site_name: options.siteName, site_locale: "en", allow_tracking: false },
      },
    });
    this.#session = session.id;
  }

  /** `POST /api/session`; a refused login is a {@linkcode TerminalError}. */
  async login(options: { email: string; password: string }): Promise<void> {
    const session = await this.#request("POST", "api/session", {
      schema: z.object({ id: z.string() }),
      auth: false,
      body: { username: options.email, password: options.password },
      refused:
        `Metabase refused the admin login for ${options.email}: check METABASE_ADMIN_EMAIL and METABASE_ADMIN_PASSWORD`,
    });
    this.#session = session.id;
  }

  async databases(): Promise<Named[]> {
    // Recent versions answer {data: [...]}, older ones a bare array.
    const answer = await this.#request("GET", "api/database", {
      schema: z.union([z.array(database), z.object({ data: z.array(database) })]),
    });
    return Array.isArray(answer) ? answer : answer.data;
  }

  async createDatabase(body: Record<string, unknown>): Promise<number> {
    return (await this.#request("POST", "api/database", { schema: withId, body })).id;
  }

  async updateDatabase(id: number, body: Record<string, unknown>): Promise<void> {
    await this.#request("PUT", `api/database/${id}`, { schema: withId, body });
  }

  async collections(): Promise<Named[]> {
    const answer = await this.#request("GET", "api/collection", { schema: z.array(collection) });
    return answer.filter((c): c is typeof c & { id: number } =>
      typeof c.id === "number" && !c.archived
    );
  }

  async createCollection(body: { name: string; description: string }): Promise<number> {
    return (await this.#request("POST", "api/collection", {
      schema: withId,
      body: { ...body, color: "#509EE3" },
    })).id;
  }

  /**
   * The cards or the dashboards directly in a collection (`GET /api/collection/:id/items`, the
   * stable way to list a collection's dashboards since `GET /api/dashboard` is deprecated).
   */
  async itemsIn(
    collectionId: number,
    model: "card" | "dashboard",
  ): Promise<Array<Named & { description?: string | null | undefined }>> {
    const answer = await this.#request(
      "GET",
      `api/collection/${collectionId}/items?models=${model}`,
      { schema: items },
    );
    return (Array.isArray(answer) ? answer : answer.data).filter((item) => item.model === model);
  }

  /** `GET /api/card/:id`, its query read from MBQL 5 or legacy MBQL. */
  async card(id: number): Promise<Card> {
    const answer = await this.#request("GET", `api/card/${id}`, { schema: card });
    const query = answer.dataset_query;
    let sql: string | undefined;
    if ("stages" in query) {
      const [stage] = query.stages;
      if (stage?.["lib/type"] === "mbql.stage/native" && typeof stage.native === "string") {
        sql = stage.native;
      }
    } else if ("native" in query) {
      sql = query.native.query;
    }
    return {
      id: answer.id,
      name: answer.name,
      description: answer.description ?? null,
      display: answer.display,
      collectionId: answer.collection_id ?? null,
      visualizationSettings: answer.visualization_settings,
      databaseId: query.database ?? null,
      sql,
    };
  }

  async createCard(body: Record<string, unknown>): Promise<number> {
    return (await this.#request("POST", "api/card", { schema: withId, body })).id;
  }

  async updateCard(id: number, body: Record<string, unknown>): Promise<void> {
    await this.#request("PUT", `api/card/${id}`, { schema: withId, body });
  }

  async createDashboard(
    body: { name: string; description: string; collection_id: number },
  ): Promise<number> {
    return (await this.#request("POST", "api/dashboard", { schema: withId, body })).id;
  }

  /** The dashboard's cards as `{id, card_id}`. */
  async dashcards(dashboardId: number): Promise<Array<{ id: number; card_id: number | null }>> {
    const answer = await this.#request("GET", `api/dashboard/${dashboardId}`, {
      schema: dashboard,
    });
    return answer.dashcards ?? [];
  }

  /** Replaces the dashboard's cards with `dashcards` (Metabase 0.47+). */
  async setDashcards(dashboardId: number, dashcards: DashcardLayout[]): Promise<void> {
    await this.#request("PUT", `api/dashboard/${dashboardId}`, {
      schema: withId,
      body: {
        dashcards: dashcards.map((d) => ({
          ...d,
          parameter_mappings: [],
          visualization_settings: {},
        })),
      },
    });
  }

  /** `POST /api/database/:id/sync_schema`: asks Metabase to sync the tables now (it answers at once). */
  async syncSchema(databaseId: number): Promise<void> {
    await this.#request("POST", `api/database/${databaseId}/sync_schema`, {
      schema: z.unknown(),
      body: {},
    });
  }

  /** `GET /api/database/:id/metadata`: the tables Metabase has synced, with their fields. */
  async tables(databaseId: number): Promise<MetabaseTable[]> {
    const answer = await this.#request("GET", `api/database/${databaseId}/metadata`, {
      schema: z.object({ tables: z.array(table).default([]) }),
    });
    return answer.tables;
  }

  /** `PUT /api/table/:id` with a description. */
  async describeTable(id: number, description: string): Promise<void> {
    await this.#request("PUT", `api/table/${id}`, { schema: withId, body: { description } });
  }

  /** `PUT /api/field/:id` with a description. */
  async describeField(id: number, description: string): Promise<void> {
    await this.#request("PUT", `api/field/${id}`, { schema: withId, body: { description } });
  }

  async #request<T>(
    method: string,
    path: string,
    options: { schema: z.ZodType<T>; body?: unknown; auth?: boolean; refused?: string },
  ): Promise<T> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (options.body !== undefined) headers["content-type"] = "application/json";
    if (options.auth !== false) {
      if (!this.#session) throw new Error(`log in before ${method} /${path}`);
      headers["x-metabase-session"] = this.#session;
    }
    let response: Response;
    try {
      response = await fetch(new URL(path, this.#base), {
        method,
        headers,
        signal: AbortSignal.timeout(60_000),
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      });
    } catch (error) {
      throw new TransientError(
        `${method} ${this.#base.origin}/${path} failed: ${errorMessage(error)}`,
      );
    }
    const text = await response.text();
    if (response.status === 401 && options.refused) throw new TerminalError(options.refused);
    if (!response.ok) {
      throw new (response.status >= 500 ? TransientError : TerminalError)(
        `Metabase answered ${response.status} to ${method} /${path}: ${refusal(text)}`,
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new TerminalError(
        `Metabase answered ${method} /${path} with something that is not JSON: ${
          text.slice(0, 200)
        }`,
      );
    }
    const parsed = options.schema.safeParse(json);
    if (!parsed.success) {
      throw new TerminalError(
        `Metabase's answer to ${method} /${path} is not what this client knows ` +
          `(${parsed.error.issues[0]?.path.join(".")}: ${parsed.error.issues[0]?.message}); ` +
          "is this a Metabase version the provisioning supports?",
      );
    }
    return parsed.data;
  }
}

/**
 * What Metabase said when it refused a request: its `errors` map (`{"errors": {"password":
 * "password is too common."}}`, one entry per refused parameter) as `password: password is too
 * common.`, else its `message`, else the start of the body.
 */
function refusal(text: string): string {
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body === "object" && body !== null) {
      const { errors, message } = body as { errors?: unknown; message?: unknown };
      if (typeof errors === "object" && errors !== null) {
        return Object.entries(errors).map(([key, value]) =>
          `${key}: ${typeof value === "string" ? value : JSON.stringify(value)}`
        ).join("; ");
      }
      if (typeof message === "string") return message;
    }
  } catch {
    // not JSON: Metabase answers some refusals as plain text
  }
  return text.slice(0, 300);
}
