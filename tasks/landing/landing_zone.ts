/**
 * Where stages hand each other files: `<DATA_DIR>/raw/ds=YYYY-MM-DD/random_user.csv`, its
 * manifest and its `rejects.jsonl`, one directory per logical date — and what is there when a
 * path holds something of the wrong kind (a directory where the CSV should be, a file where the
 * ds directory should be).
 *
 * @module
 */
import { join } from "node:path";
import { TerminalError } from "../shared/errors.ts";

/** The files of one logical date in the landing zone. */
export interface LandingFiles {
  readonly ds: string;
  readonly dir: string;
  readonly csv: string;
  /** What the extract vouches for about `csv` (see `landing_manifest.ts`). */
  readonly manifest: string;
  readonly rejects: string;
}

/** The landing-zone paths of `ds` under `dataDir`. */
export function landingFiles(dataDir: string, ds: string): LandingFiles {
  const dir = join(dataDir, "raw", `ds=${ds}`);
  return {
    ds,
    dir,
    csv: join(dir, "random_user.csv"),
    manifest: join(dir, "random_user.manifest.json"),
    rejects: join(dir, "rejects.jsonl"),
  };
}

/**
 * Fails with a {@linkcode TerminalError} when a path of the landing zone holds something of the
 * wrong kind: the ds directory (and `DATA_DIR/raw`) must be directories, the CSV, its manifest and
 * `rejects.jsonl` files. Paths that do not exist yet are fine. Retrying cannot fix either case:
 * someone has to move the thing away.
 */
export async function checkLandingKinds(files: LandingFiles): Promise<void> {
  const expected: ReadonlyArray<readonly [string, "directory" | "file", string]> = [
    [join(files.dir, ".."), "directory", "the landing zone's raw/ directory"],
    [files.dir, "directory", `the landing directory of ds ${files.ds}`],
    [files.csv, "file", `the CSV of ds ${files.ds}`],
    [files.manifest, "file", `the manifest of ds ${files.ds}`],
    [files.rejects, "file", `the rejects of ds ${files.ds}`],
  ];
  for (const [path, kind, what] of expected) {
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(path);
    } catch (error) {
      // Missing, or under a parent that is not a directory (reported for that parent above).
      if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
        continue;
      }
      throw error;
    }
    const found = info.isDirectory ? "directory" : info.isFile ? "file" : "special file";
    if (found !== kind) {
      throw new TerminalError(
        `${path} is a ${found}, but it must be a ${kind}: ${what}. Move it out of the way ` +
          "and run the task again",
      );
    }
  }
}
