/**
 * The command-line shell shared by every task entry point: a commander program with the common
 * options (`--ds`, `--users`), argument parsers that name the bad argument, and the process edge where a
 * failure becomes one `error:` line and its exit code (the table is in `errors.ts`).
 *
 * @example
 * ```ts
 * const program = taskCommand("load", "Load a ds's CSV into raw.users").addOption(dsOption());
 * await runTask(program, async ({ ds }) => { … });
 * ```
 *
 * @module
 */
import { Command, InvalidArgumentError, Option } from "@commander-js/extra-typings";
import { CommanderError } from "commander";
import { MAX_USERS_PER_RUN } from "./config.ts";
import { isCalendarDate, todayUtc } from "./dates.ts";
import { redactUrl } from "./redact_url.ts";
import { errorMessage, ExitCode, exitCodeFor } from "./errors.ts";
import { type LogFields, logfmt } from "./logger.ts";

/** Parses a `--ds`-style argument. */
export function parseDate(value: string): string {
  if (!isCalendarDate(value)) throw new InvalidArgumentError("expected a date YYYY-MM-DD.");
  return value;
}

function parseWholeNumber(value: string, bounds: { min: number; max: number; of?: string }) {
  const number = Number(value);
  if (!/^\d+$/.test(value) || number < bounds.min || number > bounds.max) {
    const range = bounds.max === Number.MAX_SAFE_INTEGER
      ? `of at least ${bounds.min}`
      : `from ${bounds.min} to ${bounds.max}${bounds.of ? ` (${bounds.of})` : ""}`;
    throw new InvalidArgumentError(`expected a whole number ${range}.`);
  }
  return number;
}

/** Parses a whole number ≥ 1. */
export function parseCount(value: string): number {
  return parseWholeNumber(value, { min: 1, max: Number.MAX_SAFE_INTEGER });
}

/** Parses a number of users: 1 to {@linkcode MAX_USERS_PER_RUN}, the cap of `USERS_PER_RUN`. */
export function parseUserCount(value: string): number {
  return parseWholeNumber(value, {
    min: 1,
    max: MAX_USERS_PER_RUN,
    of: "the cap of USERS_PER_RUN",
  });
}

/** The `--ds <date>` option: the logical date, default today (UTC). */
export function dsOption() {
  return new Option("--ds <date>", "logical date, YYYY-MM-DD (UTC)")
    .argParser(parseDate)
    .default(todayUtc(), "today, UTC");
}

/** The `--users <n>` option: users per logical date, at most the cap of `USERS_PER_RUN`. */
export function usersOption(description: string) {
  return new Option("--users <n>", description).argParser(parseUserCount);
}

/** A commander program for a task: one-line errors, exit 2 on usage errors, `--help`. */
export function taskCommand(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .helpOption("-h, --help", "show this help")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text.trimEnd().split("\n")[0] + "\n") });
}

/**
 * Parses the arguments, runs `main` with the options, and exits with the contract's code: a
 * failure prints `error: …` and exits 2 (usage), 3 (terminal) or 1 (transient).
 */
export async function runTask<Options>(
  program: {
    parse(argv?: readonly string[], options?: { from: "user" }): unknown;
    opts(): Options;
  },
  main: (options: Options) => Promise<void>,
): Promise<never> {
  try {
    program.parse(Deno.args, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) {
      Deno.exit(error.exitCode === 0 ? ExitCode.ok : ExitCode.usage);
    }
    throw error;
  }
  try {
    await main(program.opts());
    Deno.exit(ExitCode.ok);
  } catch (error) {
    printError(error);
    Deno.exit(exitCodeFor(error));
  }
}

/** Prints a failure as one `error: …` line on stderr (with the password of any URL hidden). */
export function printError(error: unknown): void {
  console.error(`error: ${redactUrl(errorMessage(error)).replace(/\s*\n\s*/g, " ")}`);
}

/** Prints the final summary of a task as one logfmt line on stdout. */
export function printSummary(task: string, fields: LogFields): void {
  console.log(`${task} ${logfmt(fields)}`);
}
