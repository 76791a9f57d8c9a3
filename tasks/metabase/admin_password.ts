/**
 * The Metabase admin's password: the one given (`METABASE_ADMIN_PASSWORD`), else the one in a
 * file (`METABASE_ADMIN_PASSWORD_FILE`), which the first-run setup fills with a generated
 * password when none was given — so no fixed default password ever exists. A given password is
 * checked against Metabase's own rule before setup, with a message that says which part failed.
 *
 * @example
 * ```ts
 * const { password, generated } = await setupPassword({ password: undefined, file: "/metabase-setup/admin_password" });
 * ```
 *
 * @module
 */
import { dirname } from "node:path";
import { ignoreNotFound, TerminalError, UsageError } from "../shared/errors.ts";

/** Where the admin password comes from. */
export interface AdminPasswordOptions {
  /** The password itself (`METABASE_ADMIN_PASSWORD`). */
  readonly password: string | undefined;
  /** A file holding it, written at first-run setup when empty (`METABASE_ADMIN_PASSWORD_FILE`). */
  readonly file: string | undefined;
}

/**
 * Why Metabase would refuse `password` at setup, or `undefined`: its default rule
 * (`metabase.util.password`, complexity "normal") asks for at least 6 characters and a digit,
 * and refuses the ~12 000 common passwords it ships (which only Metabase itself can check).
 */
export function passwordProblem(password: string): string | undefined {
  if ([...password].length < 6) return "it has fewer than 6 characters";
  if (!/\d/.test(password)) return "it has no digit";
  return undefined;
}

/** The password to log in with: the given one, else the file's. */
export async function loginPassword(options: AdminPasswordOptions): Promise<string> {
  if (options.password !== undefined) return options.password;
  const stored = await readPasswordFile(options.file);
  if (stored !== undefined) return stored;
  throw new TerminalError(
    options.file === undefined
      ? "METABASE_ADMIN_PASSWORD is required: Metabase is already set up, so provisioning logs in as its admin"
      : `Metabase is already set up, but ${options.file} (METABASE_ADMIN_PASSWORD_FILE) holds no ` +
        "password: set METABASE_ADMIN_PASSWORD to the admin's password",
  );
}

/**
 * The password for first-run setup: the given one (checked against Metabase's rule), else the
 * file's, else a new random one written to the file first (created exclusively, mode 0600, so
 * two provisioning runs never set up with different passwords).
 */
export async function setupPassword(
  options: AdminPasswordOptions,
): Promise<{ password: string; generated: boolean }> {
  if (options.password !== undefined) {
    const problem = passwordProblem(options.password);
    if (problem) {
      throw new UsageError(
        `METABASE_ADMIN_PASSWORD would be refused by Metabase's setup: ${problem} (Metabase asks ` +
          "for at least 6 characters with a digit, not a common password)",
      );
    }
    return { password: options.password, generated: false };
  }
  const stored = await readPasswordFile(options.file);
  if (stored !== undefined) return { password: stored, generated: false };
  if (options.file === undefined) {
    throw new UsageError(
      "METABASE_ADMIN_PASSWORD or METABASE_ADMIN_PASSWORD_FILE is required to set Metabase up",
    );
  }
  const password = generatePassword();
  await Deno.mkdir(dirname(options.file), { recursive: true });
  try {
    const file = await Deno.open(options.file, { write: true, createNew: true, mode: 0o600 });
    try {
      await file.write(new TextEncoder().encode(`${password}\n`));
      await file.sync();
    } finally {
      file.close();
    }
  } catch (error) {
    // Another run generated one first: use that one.
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    const winner = await readPasswordFile(options.file);
    if (winner === undefined) throw error;
    return { password: winner, generated: false };
  }
  return { password, generated: true };
}

async function readPasswordFile(file: string | undefined): Promise<string | undefined> {
  if (file === undefined) return undefined;
  const text = await Deno.readTextFile(file).catch((error) => {
    ignoreNotFound(error);
    return "";
  });
  const password = text.trim();
  return password === "" ? undefined : password;
}

const ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
/** Bytes below this map evenly onto ALPHABET; the rest are dropped (no modulo bias). */
const UNBIASED = 256 - (256 % ALPHABET.length);

/**
 * 24 random characters (≈ 140 bits) that also pass Metabase's "strong" rule (2 lower, 2 upper,
 * a digit, a special character), in case the instance sets MB_PASSWORD_COMPLEXITY=strong.
 */
function generatePassword(): string {
  for (;;) {
    const bytes = crypto.getRandomValues(new Uint8Array(32));
    const chars = [...bytes].filter((b) => b < UNBIASED).map((b) => ALPHABET[b % ALPHABET.length]);
    if (chars.length < 22) continue;
    const password = `${chars.slice(0, 11).join("")}-${chars.slice(11).join("")}.`;
    if (/[a-z].*[a-z]/.test(password) && /[A-Z].*[A-Z]/.test(password) && /\d/.test(password)) {
      return password;
    }
  }
}
