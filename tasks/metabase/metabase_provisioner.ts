/**
 * Idempotent Metabase provisioning: first-run setup (or login), the warehouse connection as the
 * read-only analyst role, a collection with one native-SQL question per analysis — drawn as the
 * report draws it, from the same chart roles — a dashboard laying them out on Metabase's 24-column
 * grid, and dbt's descriptions on the marts' tables and columns. A second run finds each object
 * by name, changes only what differs, and can run after every transform.
 *
 * @example
 * ```ts
 * const summary = await provisionMetabase(new MetabaseClient(url), {
 *   admin, warehouse, questions, descriptions, syncTimeoutMs: 60_000,
 * });
 * ```
 *
 * @module
 */
import type { AnalysisColumns } from "../analytics/analysis_columns.ts";
import { chartRoles } from "../analytics/chart_roles.ts";
import { TerminalError } from "../shared/errors.ts";
import type { Logger } from "../shared/logger.ts";
import { type AdminPasswordOptions, loginPassword, setupPassword } from "./admin_password.ts";
import { cardVisualization } from "./card_visualization.ts";
import {
  type DescriptionsSummary,
  syncDescriptions,
  type TableDescription,
} from "./dbt_descriptions.ts";
import type { Card, DashcardLayout, MetabaseClient } from "./metabase_client.ts";

/** Names that make provisioning find its own objects again. */
export const METABASE_NAMES = {
  site: "randomuser-elt",
  database: "randomuser-elt warehouse",
  collection: "randomuser-elt",
  dashboard: "randomuser-elt: users",
} as const;

/** The oldest Metabase whose API this provisioning follows (dashcards via PUT /api/dashboard). */
export const OLDEST_SUPPORTED = { major: 47 } as const;

/** From this version on Metabase stores and returns card queries as MBQL 5 (API changelog). */
const MBQL5_SINCE = 57;

/** Metabase's dashboard grid is 24 columns wide; the cards go two to a row. */
const CARD_SIZE = { x: 12, y: 8 } as const;

/** Options for {@linkcode provisionMetabase}. */
export interface ProvisionOptions {
  admin: { email: string } & AdminPasswordOptions;
  /**
   * `perform` (default): complete Metabase's first-run setup when it has not had it; `skip`:
   * leave such a Metabase alone (the run after a transform, which must not race the stack's
   * one-shot setup).
   */
  firstRunSetup?: "perform" | "skip";
  /** How Metabase reaches the warehouse, and the analyst role's login. */
  warehouse: { host: string; port: number; dbname: string; user: string; password: string };
  /** The analyses with their result columns; `undefined` when the marts are not built yet. */
  questions: readonly AnalysisColumns[] | undefined;
  /** dbt's descriptions of the marts; `undefined` when no build has written a manifest yet. */
  descriptions: readonly TableDescription[] | undefined;
  /** How long to wait for Metabase's sync of the warehouse before describing its tables. */
  syncTimeoutMs: number;
  logger?: Logger;
}

/** What the cards step did. */
export interface CardsSummary {
  readonly created: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly dashboardId: number;
  readonly dashcards: number;
}

/** What provisioning did. */
export interface ProvisionSummary {
  readonly version: string;
  /** `skipped`: Metabase has not had its first-run setup and `firstRunSetup` was `skip`. */
  readonly setup: "completed" | "already done" | "skipped";
  /** Whether setup generated the admin password (and wrote it to the password file). */
  readonly passwordGenerated: boolean;
  readonly databaseId: number | undefined;
  readonly collectionId: number | undefined;
  /** `undefined` when the marts are not built yet. */
  readonly cards: CardsSummary | undefined;
  /** `undefined` when there is no dbt manifest yet. */
  readonly descriptions: DescriptionsSummary | undefined;
}

/** Provisions Metabase; see the module documentation. */
export async function provisionMetabase(
  client: MetabaseClient,
  options: ProvisionOptions,
): Promise<ProvisionSummary> {
  const { logger } = options;
  const properties = await client.properties();
  const version = checkVersion(properties.version?.tag);
  const token = properties["setup-token"];
  const needsSetup = properties["has-user-setup"] === false;
  let passwordGenerated = false;
  if (needsSetup && options.firstRunSetup === "skip") {
    logger?.info("Metabase has not had its first-run setup yet; leaving it to metabase:provision");
    return {
      version,
      setup: "skipped",
      passwordGenerated,
      databaseId: undefined,
      collectionId: undefined,
      cards: undefined,
      descriptions: undefined,
    };
  }
  if (needsSetup) {
    if (typeof token !== "string") {
      throw new TerminalError(
        "Metabase has no admin yet but offers no setup token: finish its setup in the browser, " +
          "then set METABASE_ADMIN_PASSWORD",
      );
    }
    const { password, generated } = await setupPassword(options.admin);
    passwordGenerated = generated;
    logger?.info("completing Metabase's first-run setup", {
      admin: options.admin.email,
      password: generated ? `generated into ${options.admin.file}` : "given",
    });
    await client.setup({
      token,
      email: options.admin.email,
      password,
      siteName: METABASE_NAMES.site,
    });
  } else {
    await client.login({
      email: options.admin.email,
      password: await loginPassword(options.admin),
    });
  }

  const databaseId = await upsertDatabase(client, options.warehouse);
  const existingCollection = (await client.collections()).find((c) =>
    c.name === METABASE_NAMES.collection
  );
  const collectionId = existingCollection?.id ??
    await client.createCollection({
      name: METABASE_NAMES.collection,
      description:
        "Questions from dbt_project/analyses, provisioned by deno task metabase:provision.",
    });

  let cards: CardsSummary | undefined;
  if (options.questions === undefined) {
    logger?.warn(
      "the marts are not built yet: no questions until the first transform (run " +
        "`deno task transform`, then provision again)",
    );
  } else {
    const mbql5 = minorVersion(version) >= MBQL5_SINCE;
    cards = await provisionCards(client, options.questions, { databaseId, collectionId, mbql5 });
  }

  let descriptions: DescriptionsSummary | undefined;
  if (options.descriptions === undefined) {
    logger?.warn("no dbt manifest yet: the marts' descriptions reach Metabase after a transform");
  } else {
    descriptions = await syncDescriptions(client, databaseId, options.descriptions, {
      timeoutMs: options.syncTimeoutMs,
      ...(logger ? { logger } : {}),
    });
  }
  return {
    version,
    setup: needsSetup ? "completed" : "already done",
    passwordGenerated,
    databaseId,
    collectionId,
    cards,
    descriptions,
  };
}

/** The summary line's fields for a provisioning (what `metabase:provision` prints). */
export function summaryFields(
  summary: ProvisionSummary,
  metabase: { url: string; adminPasswordFile: string | undefined },
): Record<string, string | number> {
  const { cards, descriptions } = summary;
  return {
    version: summary.version,
    setup: summary.setup,
    ...(summary.passwordGenerated
      ? { admin_password: `generated into ${metabase.adminPasswordFile}` }
      : {}),
    ...(summary.databaseId === undefined ? {} : { database: summary.databaseId }),
    ...(summary.collectionId === undefined ? {} : { collection: summary.collectionId }),
    ...(cards
      ? {
        cards_created: cards.created,
        cards_updated: cards.updated,
        cards_unchanged: cards.unchanged,
        dashboard: cards.dashboardId,
        dashcards: cards.dashcards,
        url: `${metabase.url.replace(/\/$/, "")}/dashboard/${cards.dashboardId}`,
      }
      : summary.setup === "skipped"
      ? {}
      : { cards: "none yet: the marts are not built" }),
    ...(descriptions
      ? {
        tables_described: descriptions.tables,
        fields_described: descriptions.fields,
        descriptions_unchanged: descriptions.unchanged,
      }
      : summary.setup === "skipped"
      ? {}
      : { descriptions: "none yet: no dbt manifest" }),
  };
}

async function upsertDatabase(
  client: MetabaseClient,
  warehouse: ProvisionOptions["warehouse"],
): Promise<number> {
  const details = {
    ...warehouse,
    ssl: false,
    "schema-filters-type": "inclusion",
    "schema-filters-patterns": "analytics",
  };
  const body = { engine: "postgres", name: METABASE_NAMES.database, details };
  const existing = (await client.databases()).find((d) => d.name === METABASE_NAMES.database);
  if (!existing) return await client.createDatabase(body);
  await client.updateDatabase(existing.id, body);
  return existing.id;
}

async function provisionCards(
  client: MetabaseClient,
  questions: readonly AnalysisColumns[],
  target: { databaseId: number; collectionId: number; mbql5: boolean },
): Promise<CardsSummary> {
  const { databaseId, collectionId } = target;
  const existingCards = await client.itemsIn(collectionId, "card");
  const cardIds: number[] = [];
  let created = 0;
  let updated = 0;
  let unchanged = 0;
  for (const { analysis, columns } of questions) {
    const source = `dbt_project/analyses/${analysis.name}.sql`;
    const description = analysis.description ? `${analysis.description} (${source})` : source;
    const { display, visualization_settings } = cardVisualization(
      analysis.chart,
      chartRoles(analysis, columns),
    );
    const body = {
      name: analysis.question,
      description,
      display,
      visualization_settings,
      collection_id: collectionId,
      dataset_query: target.mbql5
        ? {
          "lib/type": "mbql/query",
          database: databaseId,
          stages: [{ "lib/type": "mbql.stage/native", native: analysis.sql }],
        }
        : {
          type: "native",
          database: databaseId,
          native: { query: analysis.sql, "template-tags": {} },
        },
    };
    const existing = existingCards.find((card) =>
      card.description === source || card.description?.endsWith(`(${source})`)
    ) ?? existingCards.find((card) =>
      card.name === analysis.question
    );
    if (!existing) {
      cardIds.push(await client.createCard(body));
      created++;
      continue;
    }
    cardIds.push(existing.id);
    const wanted = { ...body, sql: analysis.sql, databaseId };
    if (sameCard(await client.card(existing.id), wanted)) {
      unchanged++;
    } else {
      await client.updateCard(existing.id, body);
      updated++;
    }
  }

  const existingDashboard = (await client.itemsIn(collectionId, "dashboard"))
    .find((d) => d.name === METABASE_NAMES.dashboard);
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
    row: Math.floor(i / 2) * CARD_SIZE.y,
    col: (i % 2) * CARD_SIZE.x,
    size_x: CARD_SIZE.x,
    size_y: CARD_SIZE.y,
  }));
  await client.setDashcards(dashboardId, layout);
  return { created, updated, unchanged, dashboardId, dashcards: layout.length };
}

/** Whether a stored card already says what provisioning would write. */
function sameCard(
  card: Card,
  wanted: {
    name: string;
    description: string;
    display: string;
    collection_id: number;
    visualization_settings: Readonly<Record<string, unknown>>;
    sql: string;
    databaseId: number;
  },
): boolean {
  return card.name === wanted.name && card.description === wanted.description &&
    card.display === wanted.display && card.collectionId === wanted.collection_id &&
    card.sql === wanted.sql && card.databaseId === wanted.databaseId &&
    canonicalJson(card.visualizationSettings) === canonicalJson(wanted.visualization_settings);
}

/** JSON with the keys of every object sorted, so equal settings compare equal. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v: unknown) =>
      typeof v === "object" && v !== null && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)))
        : v,
  );
}

function minorVersion(tag: string): number {
  return Number(/^v[01]\.(\d+)/.exec(tag)?.[1] ?? 0);
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
