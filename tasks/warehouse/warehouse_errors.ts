/**
 * The warehouse stage's PostgreSQL errors, classified once: the SQLSTATEs that opening,
 * starting and provisioning a warehouse tell apart are named here (the classes every stage
 * shares — transient, terminal, a lost connection — are in `shared/errors.ts`).
 *
 * @example
 * ```ts
 * if (isRefusedLogin(error)) throw new TerminalError("check the password in DATABASE_URL");
 * ```
 *
 * @module
 */
/** SQLSTATEs the warehouse stage tells apart. */
const SQLSTATE = {
  invalidAuthorization: "28000",
  invalidPassword: "28P01",
  invalidCatalogName: "3D000",
  duplicateDatabase: "42P04",
  insufficientPrivilege: "42501",
  uniqueViolation: "23505",
  cannotConnectNow: "57P03",
} as const;

/** The SQLSTATE of a PostgreSQL error (postgres.js `PostgresError`, told by its name). */
function sqlstateOf(error: unknown): string | undefined {
  if (!(error instanceof Error) || error.name !== "PostgresError") return undefined;
  const code = (error as Error & { code?: unknown }).code;
  return typeof code === "string" ? code : undefined;
}

/** The server refused the login: a wrong user or password (it will not heal on a retry). */
export function isRefusedLogin(error: unknown): boolean {
  const code = sqlstateOf(error);
  return code === SQLSTATE.invalidPassword || code === SQLSTATE.invalidAuthorization;
}

/** The database named in the URL does not exist. */
export function isMissingDatabase(error: unknown): boolean {
  return sqlstateOf(error) === SQLSTATE.invalidCatalogName;
}

/**
 * A `create database` lost to a concurrent one: duplicate_database, or a unique violation when
 * both inserts into pg_database race.
 */
export function isDuplicateDatabase(error: unknown): boolean {
  const code = sqlstateOf(error);
  return code === SQLSTATE.duplicateDatabase || code === SQLSTATE.uniqueViolation;
}

/** The role may not do it (here: create a database without CREATEDB). */
export function isInsufficientPrivilege(error: unknown): boolean {
  return sqlstateOf(error) === SQLSTATE.insufficientPrivilege;
}

/** The server is starting up and accepts no connection yet. */
export function isStartingUp(error: unknown): boolean {
  return sqlstateOf(error) === SQLSTATE.cannotConnectNow;
}
