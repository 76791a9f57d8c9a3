/**
 * The shapes of Metabase's answers that {@linkcode MetabaseClient} reads — session properties,
 * databases, collections and their items, dashboards, cards (MBQL 5 and legacy bodies), tables
 * and fields — as zod schemas, so a Metabase that answers differently fails with a message at
 * the edge instead of half-way through provisioning.
 *
 * @module
 */
import { z } from "zod";

export const sessionProperties = z.object({
  "setup-token": z.string().nullable().optional(),
  "has-user-setup": z.boolean().optional(),
  version: z.object({ tag: z.string() }).optional(),
});
/** The parts of `GET /api/session/properties` we read. */
export type SessionProperties = z.infer<typeof sessionProperties>;

export const withId = z.object({ id: z.number().int() });
export const database = z.object({
  id: z.number().int(),
  name: z.string(),
  engine: z.string().optional(),
});
export const collection = z.object({
  id: z.union([z.number().int(), z.string()]),
  name: z.string(),
  archived: z.boolean().optional(),
});
export const collectionItem = z.object({
  id: z.number().int(),
  name: z.string(),
  model: z.string(),
  description: z.string().nullable().optional(),
});
export const items = z.union([
  z.array(collectionItem),
  z.object({ data: z.array(collectionItem) }),
]);
export const dashcard = z.object({ id: z.number().int(), card_id: z.number().int().nullable() });
export const dashboard = z.object({
  id: z.number().int(),
  dashcards: z.array(dashcard).optional(),
});

/**
 * A card's `dataset_query` in either shape Metabase has used for a native question: MBQL 5
 * (`lib/type` `mbql/query` with stages, what v0.57+ stores and returns) or legacy MBQL 4
 * (`type: native`, what older versions return).
 */
export const datasetQuery = z.union([
  z.object({
    "lib/type": z.literal("mbql/query"),
    database: z.number().int(),
    stages: z.array(z.object({ "lib/type": z.string(), native: z.unknown().optional() })).min(1),
  }),
  z.object({
    type: z.literal("native"),
    database: z.number().int(),
    native: z.object({ query: z.string() }),
  }),
  z.object({ type: z.string(), database: z.number().int().nullable().optional() }),
]);
export const card = z.object({
  id: z.number().int(),
  name: z.string(),
  description: z.string().nullable().optional(),
  display: z.string(),
  collection_id: z.number().int().nullable().optional(),
  visualization_settings: z.record(z.string(), z.unknown()),
  dataset_query: datasetQuery,
  archived: z.boolean().optional(),
});
/** The parts of `GET /api/card/:id` provisioning compares, the query read from either shape. */
export interface Card {
  readonly id: number;
  readonly name: string;
  readonly description: string | null;
  readonly display: string;
  readonly collectionId: number | null;
  readonly visualizationSettings: Readonly<Record<string, unknown>>;
  readonly databaseId: number | null;
  /** The SQL of a native question; `undefined` for a question of another kind. */
  readonly sql: string | undefined;
}

export const field = z.object({
  id: z.number().int(),
  name: z.string(),
  description: z.string().nullable().optional(),
});
export const table = z.object({
  id: z.number().int(),
  name: z.string(),
  schema: z.string().nullable().optional(),
  description: z.string().nullable().optional(),
  fields: z.array(field).default([]),
});
/** A table of a database as Metabase synced it, with its fields. */
export type MetabaseTable = z.infer<typeof table>;

/** A Metabase object with an id and a name. */
export interface Named {
  readonly id: number;
  readonly name: string;
}

/** A card on a dashboard: a negative `id` asks Metabase to create it. */
export interface DashcardLayout {
  id: number;
  card_id: number;
  row: number;
  col: number;
  size_x: number;
  size_y: number;
}
