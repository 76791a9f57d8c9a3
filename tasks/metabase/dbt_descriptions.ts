/**
 * dbt's descriptions of the marts in Metabase: the tables and columns that dbt documents
 * (`description:` in the models' and seeds' YAML, as dbt writes them to `manifest.json` on every
 * build), written onto the tables and fields Metabase synced from the warehouse — what
 * dbt-metabase's `models` command does for descriptions, through the same API (`PUT
 * /api/table/:id`, `PUT /api/field/:id`), without a second Python tool in the pipeline.
 *
 * @example
 * ```ts
 * const tables = await readDbtDescriptions("data/dbt/target/manifest.json", { schema: "analytics" });
 * if (tables) await syncDescriptions(client, databaseId, tables, { timeoutMs: 60_000 });
 * ```
 *
 * @module
 */
import { z } from "zod";
import { errorMessage, ignoreNotFound, TransientError } from "../shared/errors.ts";
import type { Logger } from "../shared/logger.ts";
import { sleep } from "../shared/sleep.ts";
import type { MetabaseClient, MetabaseTable } from "./metabase_client.ts";

/** A table dbt documents, with its documented columns. */
export interface TableDescription {
  readonly schema: string;
  readonly name: string;
  /** The table's description; blank when dbt has none. */
  readonly description: string;
  /** Column name → description, for the columns dbt describes. */
  readonly columns: ReadonlyMap<string, string>;
}

const manifestSchema = z.object({
  nodes: z.record(
    z.string(),
    z.object({
      resource_type: z.string(),
      name: z.string(),
      alias: z.string().nullable().optional(),
      schema: z.string(),
      description: z.string().default(""),
      columns: z.record(
        z.string(),
        z.object({ name: z.string(), description: z.string().default("") }),
      ).default({}),
    }),
  ),
});

/**
 * The models and seeds that dbt builds in `options.schema`, with their descriptions, from the
 * manifest at `file`; `undefined` when there is no manifest yet (no build has run).
 */
export async function readDbtDescriptions(
  file: string,
  options: { schema: string },
): Promise<TableDescription[] | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    ignoreNotFound(error);
    return undefined;
  }
  let parsed;
  try {
    parsed = manifestSchema.safeParse(JSON.parse(text));
  } catch (error) {
    // dbt rewrites the manifest on every build: a read in the middle of a write heals on a retry.
    throw new TransientError(`${file} is not JSON (${errorMessage(error)}): is dbt writing it?`);
  }
  if (!parsed.success) {
    throw new TransientError(
      `${file} is not a dbt manifest this provisioning knows: ${z.prettifyError(parsed.error)}`,
    );
  }
  return Object.values(parsed.data.nodes)
    .filter((node) => ["model", "seed"].includes(node.resource_type))
    .filter((node) => node.schema === options.schema)
    .map((node) => ({
      schema: node.schema,
      name: node.alias ?? node.name,
      description: node.description.trim(),
      columns: new Map(
        Object.values(node.columns)
          .filter((column) => column.description.trim() !== "")
          .map((column) => [column.name, column.description.trim()]),
      ),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Options for {@linkcode syncDescriptions}. */
export interface SyncDescriptionsOptions {
  /** How long to wait for Metabase's sync to show every documented table and column. */
  timeoutMs: number;
  intervalMs?: number;
  logger?: Logger;
}

/** What {@linkcode syncDescriptions} wrote. */
export interface DescriptionsSummary {
  readonly tables: number;
  readonly fields: number;
  /** Descriptions that Metabase already had. */
  readonly unchanged: number;
}

/**
 * Asks Metabase to sync database `databaseId`, waits until its metadata holds every table and
 * documented column of `tables`, then writes each description Metabase does not have yet.
 * Throws a {@linkcode TransientError} naming what is missing when the sync has not shown it in
 * time.
 */
export async function syncDescriptions(
  client: MetabaseClient,
  databaseId: number,
  tables: readonly TableDescription[],
  options: SyncDescriptionsOptions,
): Promise<DescriptionsSummary> {
  await client.syncSchema(databaseId);
  const deadline = Date.now() + options.timeoutMs;
  let synced: MetabaseTable[];
  let missing: string[];
  for (;;) {
    synced = await client.tables(databaseId);
    missing = tables.flatMap((wanted) => {
      const table = findTable(synced, wanted);
      if (!table) return [`${wanted.schema}.${wanted.name}`];
      return [...wanted.columns.keys()]
        .filter((column) => !table.fields.some((field) => field.name === column))
        .map((column) => `${wanted.schema}.${wanted.name}.${column}`);
    });
    if (missing.length === 0) break;
    if (Date.now() >= deadline) {
      throw new TransientError(
        `Metabase's sync of the warehouse has not shown ${missing.slice(0, 5).join(", ")}` +
          `${missing.length > 5 ? ` and ${missing.length - 5} more` : ""} after ` +
          `${Math.round(options.timeoutMs / 1000)} s: is the transform's build complete?`,
      );
    }
    options.logger?.info("waiting for Metabase to sync the marts", { missing: missing.length });
    await sleep(options.intervalMs ?? 1_000);
  }
  let described = 0;
  let fields = 0;
  let unchanged = 0;
  for (const wanted of tables) {
    const table = findTable(synced, wanted);
    if (!table) continue;
    if (wanted.description !== "") {
      if ((table.description ?? "") === wanted.description) unchanged++;
      else {
        await client.describeTable(table.id, wanted.description);
        described++;
      }
    }
    for (const [column, description] of wanted.columns) {
      const field = table.fields.find((field) => field.name === column);
      if (!field) continue;
      if ((field.description ?? "") === description) unchanged++;
      else {
        await client.describeField(field.id, description);
        fields++;
      }
    }
  }
  return { tables: described, fields, unchanged };
}

function findTable(
  synced: readonly MetabaseTable[],
  wanted: TableDescription,
): MetabaseTable | undefined {
  return synced.find((table) => table.schema === wanted.schema && table.name === wanted.name);
}
