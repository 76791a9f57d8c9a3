/**
 * Idempotent Metabase provisioning: first-run setup (or login), the warehouse connection as the
 * read-only analyst role, a collection with one native-SQL question per analysis, and a
 * dashboard laying them out. A second run finds each object by name and updates it.
 *
 * @example
 * ```ts
 * const summary = await provisionMetabase(new MetabaseClient(url), { admin, warehouse, analyses });
 * ```
 *
 * @module
 */
import type { Analysis, ChartKind } from "../analytics/analyses.ts";
import { TerminalError } from "../shared/errors.ts";
import type { Logger } from "../shared/logger.ts";
import type { DashcardLayout, MetabaseClient } from "./metabase_client.ts";

/** Names that make provisioning find its own objects again. */
export const METABASE_NAMES = {
  site: "randomuser-elt",
  database: "randomuser-elt warehouse",
  collection: "randomuser-elt",
  dashboard: "randomuser-elt: users",
} as const;

/** The oldest Metabase whose API this provisioning follows (dashcards via PUT /api/dashboard). */
export const OLDEST_SUPPORTED = { major: 47 } as const;

/** Options for {@linkcode provisionMetabase}. */
export interface ProvisionOptions {
  admin: { email: string; password: string };
  /** How Metabase reaches the warehouse, and the analyst role's login. */
  warehouse: { host: string; port: number; dbname: string; user: string; password: string };
  analyses: readonly Analysis[];
  logger?: Logger;
}

/** What provisioning did. */
export interface ProvisionSummary {
  readonly version: string;
  readonly setUp: boolean;
  readonly databaseId: number;
  readonly collectionId: number;
  readonly cardsCreated: number;
  readonly cardsUpdated: number;
  readonly dashboardId: number;
  readonly dashcards: number;
}

const DISPLAY: Record<ChartKind, { display: string; settings: Record<string, unknown> }> = {
  bar: { display: "bar", settings: {} },
  grouped_bar: { display: "bar", settings: {} },
  stacked_bar: { display: "bar", settings: { "stackable.stack_type": "stacked" } },
  line: { display: "line", settings: {} },
  pie: { display: "pie", settings: {} },
};

/** Provisions Metabase; see the module documentation. */
export async function provisionMetabase(
  client: MetabaseClient,
  options: ProvisionOptions,
): Promise<ProvisionSummary> {
  const { logger } = options;
  const properties = await client.properties();
  const version = checkVersion(properties.version?.tag);
  const token = properties["setup-token"];
  const setUp = properties["has-user-setup"] === false && typeof token === "string";
  if (setUp) {
    logger?.info("completing Metabase's first-run setup", { admin: options.admin.email });
    await client.setup({ token, ...options.admin, siteName: METABASE_NAMES.site });
  } else {
    await client.login(options.admin);
  }

  const details = {
    host: options.warehouse.host,
    port: options.warehouse.port,
    dbname: options.warehouse.dbname,
    user: options.warehouse.user,
    password: options.warehouse.password,
    ssl: false,
    "schema-filters-type": "inclusion",
    "schema-filters-patterns": "analytics",
  };
  const databaseBody = { engine: "postgres", name: METABASE_NAMES.database, details };
  const existingDatabase = (await client.databases()).find((d) =>
    d.name === METABASE_NAMES.database
  );
  const databaseId = existingDatabase?.id ?? await client.createDatabase(databaseBody);
  if (existingDatabase) await client.updateDatabase(existingDatabase.id, databaseBody);

  const existingCollection = (await client.collections()).find((c) =>
    c.name === METABASE_NAMES.collection
  );
  const collectionId = existingCollection?.id ??
    await client.createCollection({
      name: METABASE_NAMES.collection,
      description:
        "Questions from dbt_project/analyses, provisioned by deno task metabase:provision.",
    });

  const existingCards = await client.cardsIn(collectionId);
  const cardIds: number[] = [];
  let cardsCreated = 0;
  let cardsUpdated = 0;
  for (const analysis of options.analyses) {
    const source = `dbt_project/analyses/${analysis.name}.sql`;
    const { display, settings } = DISPLAY[analysis.chart];
    const body = {
      name: analysis.question,
      description: source,
      display,
      visualization_settings: settings,
      collection_id: collectionId,
      dataset_query: {
        type: "native",
        database: databaseId,
        native: { query: analysis.sql, "template-tags": {} },
      },
    };
    const existing = existingCards.find((card) => card.description === source) ??
      existingCards.find((card) => card.name === analysis.question);
    if (existing) {
      await client.updateCard(existing.id, body);
      cardIds.push(existing.id);
      cardsUpdated++;
    } else {
      cardIds.push(await client.createCard(body));
      cardsCreated++;
    }
  }

  const existingDashboard = (await client.dashboards()).find((d) =>
    d.name === METABASE_NAMES.dashboard && d.collection_id === collectionId
  );
  const dashboardId = existingDashboard?.id ??
    await client.createDashboard({
      name: METABASE_NAMES.dashboard,
      description: "Random User analytics: one card per question in dbt_project/analyses.",
      collection_id: collectionId,
    });
  const current = await client.dashcards(dashboardId);
  const layout: DashcardLayout[] = cardIds.map((cardId, i) => ({
    // Keep the ids of cards already on the dashboard; negative ids ask Metabase for new ones.
    id: current.find((d) => d.card_id === cardId)?.id ?? -(i + 1),
    card_id: cardId,
    row: Math.floor(i / 2) * 8,
    col: (i % 2) * 12,
    size_x: 12,
    size_y: 8,
  }));
  await client.setDashcards(dashboardId, layout);
  return {
    version,
    setUp,
    databaseId,
    collectionId,
    cardsCreated,
    cardsUpdated,
    dashboardId,
    dashcards: layout.length,
  };
}

/** Accepts v0.47+ (open source) and v1.47+ (enterprise); returns the tag. */
function checkVersion(tag: string | undefined): string {
  const match = /^v([01])\.(\d+)/.exec(tag ?? "");
  if (!match || Number(match[2]) < OLDEST_SUPPORTED.major) {
    throw new TerminalError(
      `Metabase ${tag ?? "(no version in /api/session/properties)"} is not a version this ` +
        `provisioning knows: it follows the API of v0.${OLDEST_SUPPORTED.major} and newer`,
    );
  }
  return tag ?? "";
}
