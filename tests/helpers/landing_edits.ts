/**
 * Ways a landing CSV goes bad after the extract wrote it — the replays of the issue that found
 * them: each used to load with exit 0 and delete or change users. The load must refuse every one
 * with the reason its manifest gives.
 *
 * @module
 */

/** One edit: what it does, how (on the CSV at `file`), and the reason the load must give. */
export interface LandingEdit {
  readonly name: string;
  readonly apply: (file: string) => Promise<void>;
  readonly reason: RegExp;
}

/** Runs `script` with `sh -c`, the CSV's path in `$F`, as the issue typed it. */
async function sh(script: string, file: string): Promise<void> {
  const output = await new Deno.Command("sh", {
    args: ["-c", script],
    env: { F: file, PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
    stderr: "piped",
  }).output();
  if (output.code !== 0) {
    throw new Error(`sh -c '${script}' failed: ${new TextDecoder().decode(output.stderr)}`);
  }
}

const SIZE = /it is \d+ bytes, its manifest says \d+/;

/** The edits, in the order the issue lists them, and one only the checksum can tell. */
export const LANDING_EDITS: readonly LandingEdit[] = [
  {
    name: "header only (head -n 1)",
    apply: (file) => sh(`h=$(mktemp); head -n 1 "$F" > "$h" && cp "$h" "$F"; rm -f "$h"`, file),
    reason: SIZE,
  },
  {
    name: "the last 10 rows gone (head -n -10)",
    apply: (file) => sh(`h=$(mktemp); head -n -10 "$F" > "$h" && cp "$h" "$F"; rm -f "$h"`, file),
    reason: SIZE,
  },
  {
    name: "cut inside the last field (truncate -s -3)",
    apply: (file) => sh(`truncate -s -3 "$F"`, file),
    reason: SIZE,
  },
  {
    // Same size, same rows: only the checksum, taken while copying, tells.
    name: "one value changed in place",
    apply: async (file) => {
      const text = await Deno.readTextFile(file);
      const at = text.indexOf("\r\n", text.indexOf("\r\n") + 2) - 2; // the first user's nat
      await Deno.writeTextFile(
        file,
        text.slice(0, at) + text[at + 1] + text[at] + text.slice(at + 2),
      );
    },
    reason: /its SHA-256 is [0-9a-f]{64}, its manifest says [0-9a-f]{64}/,
  },
];
