/**
 * The manifest of a landing file: what the extract vouches for about the CSV it wrote — rows,
 * bytes, SHA-256, columns, the extract's version and the API pages the rows came from. The
 * extract writes it beside the CSV after the CSV is durable; the load refuses a CSV its manifest
 * does not vouch for, and only a vouched file may delete rows of its ds.
 *
 * @example
 * ```ts
 * const manifest = await readManifest(files.manifest); // undefined when there is none
 * const problem = manifest && describeMismatch(manifest, { ds, columns: header, bytes });
 * if (problem) throw new TerminalError(problem);
 * ```
 *
 * @module
 */
import { z } from "zod";
import { errorMessage, TerminalError } from "../shared/errors.ts";

/** The manifest format this version writes and reads. */
export const MANIFEST_FORMAT = "randomuser-elt/landing-manifest/1";

const count = z.number().int().nonnegative();

const manifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  ds: z.string(),
  /** The CSV's file name, in the same directory. */
  file: z.string(),
  rows: count,
  bytes: count,
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  columns: z.array(z.string()).min(1),
  extract: z.object({
    /** The extract's version (its CSV contract and validation rules). */
    version: z.string(),
    rejects: count,
    /** Records dropped because their uuid came earlier in the run. */
    duplicates: count,
  }),
  api: z.object({
    /** The API base, without credentials or query. */
    url: z.string(),
    seed: z.string(),
    pageSize: count,
    pages: z.array(z.object({ page: count, users: count, bytes: count })),
  }),
  writtenAt: z.string(),
});

/** A landing file's manifest. */
export type LandingManifest = z.infer<typeof manifestSchema>;

/** What the load observed of a CSV, compared with its manifest. */
export interface ObservedFile {
  readonly ds?: string;
  readonly columns?: readonly string[];
  readonly bytes?: number;
  readonly rows?: number;
  readonly sha256?: string;
}

/** The manifest as written to disk: indented JSON, a newline at the end. */
export function encodeManifest(manifest: LandingManifest): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(manifest, null, 2) + "\n");
}

/**
 * Reads the manifest at `path`: `undefined` when there is none, a {@linkcode TerminalError} when
 * it is not a manifest this version can read.
 */
export async function readManifest(path: string): Promise<LandingManifest | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new TerminalError(
      `the manifest ${path} is not valid JSON (${errorMessage(error)}); re-run ` +
        "`deno task extract` for this ds",
    );
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TerminalError(
      `the manifest ${path} is not one this version reads (${issue?.path.join(".") || "(root)"}: ` +
        `${issue?.message ?? "invalid"}); re-run \`deno task extract\` for this ds`,
    );
  }
  return parsed.data;
}

/**
 * The first way `observed` differs from what `manifest` vouches for, as a phrase
 * (`"it has 0 rows, its manifest says 1000"`), or `undefined` when every observed fact matches.
 */
export function describeMismatch(
  manifest: LandingManifest,
  observed: ObservedFile,
): string | undefined {
  if (observed.ds !== undefined && observed.ds !== manifest.ds) {
    return `its manifest is for ds ${manifest.ds}, not ${observed.ds}`;
  }
  if (observed.columns !== undefined) {
    const header = observed.columns.join(",");
    if (header !== manifest.columns.join(",")) {
      return `its header (${header}) differs from the columns in its manifest ` +
        `(${manifest.columns.join(",")})`;
    }
  }
  if (observed.bytes !== undefined && observed.bytes !== manifest.bytes) {
    return `it is ${observed.bytes} bytes, its manifest says ${manifest.bytes}`;
  }
  if (observed.rows !== undefined && observed.rows !== manifest.rows) {
    return `it has ${observed.rows} rows, its manifest says ${manifest.rows}`;
  }
  if (observed.sha256 !== undefined && observed.sha256 !== manifest.sha256) {
    return `its SHA-256 is ${observed.sha256}, its manifest says ${manifest.sha256}`;
  }
  return undefined;
}
