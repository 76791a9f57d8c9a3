/**
 * The figures of the chaos suite: each scenario appends one JSON line (its category, the faults
 * it injected, the runs that recovered, the rows it expected and found, the secrets it saw leak)
 * to the file named by `CHAOS_REPORT`, and {@linkcode printChaosSummary} prints one line per
 * category from that file.
 *
 * @example
 * ```ts
 * await recordChaos("crashes", {
 *   scenario: "kill -9 of the load mid-COPY",
 *   faultsInjected: 1,
 *   runsRecovered: 1,
 *   rowsExpected: 200_000,
 *   rowsFound: 200_000,
 * });
 * await printChaosSummary("/tmp/chaos.jsonl");
 * ```
 *
 * @module
 */

/** The categories of the suite, in the order the summary prints them. */
export const CHAOS_CATEGORIES = [
  "crashes",
  "warehouse",
  "api",
  "files",
  "hostile",
  "access",
  "load",
] as const;

/** A category of the suite. */
export type ChaosCategory = typeof CHAOS_CATEGORIES[number];

/** What one scenario reports; absent counts are 0. */
export interface ChaosFigures {
  /** What was done, in a few words (kept in the JSON line for whoever reads the file). */
  scenario: string;
  faultsInjected?: number;
  /** Runs (or tries) that failed because of a fault and then succeeded. */
  runsRecovered?: number;
  rowsExpected?: number;
  rowsFound?: number;
  /** Places where a secret was found; must be 0. */
  secretsLeaked?: number;
  /** Wall time of the scenario. */
  seconds?: number;
}

/** One category's totals. */
export interface ChaosTotals {
  readonly category: ChaosCategory;
  readonly scenarios: number;
  readonly faultsInjected: number;
  readonly runsRecovered: number;
  readonly rowsExpected: number;
  readonly rowsFound: number;
  /** Expected rows that were not found, summed per scenario; must be 0. */
  readonly rowsLost: number;
  readonly secretsLeaked: number;
  readonly seconds: number;
}

interface ChaosLine {
  category: ChaosCategory;
  scenario: string;
  faultsInjected: number;
  runsRecovered: number;
  rowsExpected: number;
  rowsFound: number;
  rowsLost: number;
  secretsLeaked: number;
  seconds: number;
}

/**
 * Appends the figures of one scenario to the file named by `CHAOS_REPORT`; does nothing when
 * the variable is unset.
 */
export async function recordChaos(category: ChaosCategory, figures: ChaosFigures): Promise<void> {
  const path = Deno.env.get("CHAOS_REPORT");
  if (!path) return;
  const rowsExpected = figures.rowsExpected ?? 0;
  const rowsFound = figures.rowsFound ?? 0;
  const line: ChaosLine = {
    category,
    scenario: figures.scenario,
    faultsInjected: figures.faultsInjected ?? 0,
    runsRecovered: figures.runsRecovered ?? 0,
    rowsExpected,
    rowsFound,
    rowsLost: Math.max(0, rowsExpected - rowsFound),
    secretsLeaked: figures.secretsLeaked ?? 0,
    seconds: Math.round((figures.seconds ?? 0) * 10) / 10,
  };
  await Deno.writeTextFile(path, JSON.stringify(line) + "\n", { append: true, create: true });
}

/** Reads a report file and sums it per category (every category, in order, even when empty). */
export async function readChaosReport(path: string): Promise<ChaosTotals[]> {
  let text = "";
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const lines = text.split("\n").filter((line) => line.trim() !== "").map((line, index) => {
    try {
      return JSON.parse(line) as ChaosLine;
    } catch (error) {
      throw new SyntaxError(
        `${path}:${index + 1} is not a chaos report line (${String(error)}); ` +
          "delete the file and run the suite again",
      );
    }
  });
  return CHAOS_CATEGORIES.map((category) => {
    const mine = lines.filter((line) => line.category === category);
    const sum = (field: keyof Omit<ChaosLine, "category" | "scenario">) =>
      mine.reduce((total, line) => total + (Number(line[field]) || 0), 0);
    return {
      category,
      scenarios: mine.length,
      faultsInjected: sum("faultsInjected"),
      runsRecovered: sum("runsRecovered"),
      rowsExpected: sum("rowsExpected"),
      rowsFound: sum("rowsFound"),
      rowsLost: sum("rowsLost"),
      secretsLeaked: sum("secretsLeaked"),
      seconds: Math.round(sum("seconds") * 10) / 10,
    };
  });
}

/**
 * Prints one line per category with its figures, and returns the totals (a caller can fail
 * when `rowsLost` or `secretsLeaked` is not 0).
 */
export async function printChaosSummary(path: string): Promise<ChaosTotals[]> {
  const totals = await readChaosReport(path);
  const width = Math.max(...CHAOS_CATEGORIES.map((category) => category.length));
  for (const total of totals) {
    const name = total.category.padEnd(width);
    if (total.scenarios === 0) {
      console.log(`chaos ${name}  not run`);
      continue;
    }
    console.log(
      `chaos ${name}  scenarios=${total.scenarios} faults_injected=${total.faultsInjected} ` +
        `runs_recovered=${total.runsRecovered} rows_expected=${total.rowsExpected} ` +
        `rows_found=${total.rowsFound} rows_lost=${total.rowsLost} ` +
        `secrets_leaked=${total.secretsLeaked} seconds=${total.seconds}`,
    );
  }
  return totals;
}

if (import.meta.main) {
  const path = Deno.args[0] ?? Deno.env.get("CHAOS_REPORT");
  if (!path) {
    console.error("error: give the report file: deno run -A tests/chaos/chaos_report.ts FILE");
    Deno.exit(2);
  }
  const totals = await printChaosSummary(path);
  Deno.exit(totals.some((total) => total.rowsLost > 0 || total.secretsLeaked > 0) ? 1 : 0);
}
