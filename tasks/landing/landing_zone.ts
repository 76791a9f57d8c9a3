/**
 * Where stages hand each other files: `<DATA_DIR>/raw/ds=YYYY-MM-DD/random_user.csv` and its
 * `rejects.jsonl`, one directory per logical date.
 *
 * @module
 */
import { join } from "node:path";

/** The files of one logical date in the landing zone. */
export interface LandingFiles {
  readonly dir: string;
  readonly csv: string;
  readonly rejects: string;
}

/** The landing-zone paths of `ds` under `dataDir`. */
export function landingFiles(dataDir: string, ds: string): LandingFiles {
  const dir = join(dataDir, "raw", `ds=${ds}`);
  return { dir, csv: join(dir, "random_user.csv"), rejects: join(dir, "rejects.jsonl") };
}
