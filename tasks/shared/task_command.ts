/**
 * The command-line shell shared by every task entry point: a commander program with the common
 * options (`--ds`, `--allow-any-date`, `--users`), argument parsers that name the bad argument,
 * the bounds of logical dates checked once every option is known, and the process edge where a
 * failure becomes one `error:` line and its exit code (the table is in `errors.ts`), and where
 * every task ends with its result line (`task_result.ts`).
 *
 * @example
 * ```ts
 * const program = taskCommand("load", "Load a ds's CSV into raw.users")
 *   .addOption(dsOption())
 *   .addOption(allowAnyDateOption());
 * await runTask(program, async ({ ds }) => { … });
 * ```
 *
 * @module
 */
import {
  Command,
  type CommandUnknownOpts,
  InvalidArgumentError,
  Option,
} from "@commander-js/extra-typings";
import { CommanderError } from "commander";
import { MAX_USERS_PER_RUN } from "./config.ts";
import {
  FIRST_LOGICAL_DATE,
  isCalendarDate,
  isWithin,
  logicalDateBounds,
  todayUtc,
  WAREHOUSE_DATE_BOUNDS,
} from "./dates.ts";
import { redactUrl } from "./redact_url.ts";
import { errorMessage, ExitCode, exitCodeFor, failureClassOf } from "./errors.ts";
import { type LogFields, logfmt } from "./logger.ts";
import { formatTaskResult, type TaskResult } from "./task_result.ts";

const ALLOW_ANY_DATE = "--allow-any-date";

/** The shape of a date argument; its bounds are checked after parsing (`checkDateBounds`). */
function parseDate(value: string): string {
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

/**
 * A date option such as `--from <date>`: its value is a real `YYYY-MM-DD` day, and — checked
 * once the command's options are all known — within {@linkcode logicalDateBounds} unless the
 * command, which must then also take {@linkcode allowAnyDateOption}, was given `--allow-any-date`.
 */
export function dateOption<Flags extends string>(flags: Flags, description: string) {
  return new Option(flags, description).argParser(parseDate);
}

/** The `--ds <date>` option: the logical date, default today (UTC). */
export function dsOption() {
  return dateOption("--ds <date>", "logical date, YYYY-MM-DD (UTC)").default(
    todayUtc(),
    "today, UTC",
  );
}

/** `--allow-any-date`: lets the command's date options go outside the usual bounds. */
export function allowAnyDateOption() {
  return new Option(
    ALLOW_ANY_DATE,
    `accept a date before ${FIRST_LOGICAL_DATE} or after tomorrow (UTC); never one PostgreSQL ` +
      "cannot hold (year 0000)",
  );
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
    .configureOutput({ outputError: (text, write) => write(text.trimEnd().split("\n")[0] + "\n") })
    // Before the action of the program or of any of its subcommands, every option parsed.
    .hook("preAction", (_program, action) => checkDateBounds(action));
}

/**
 * Refuses a date option of `command` outside {@linkcode logicalDateBounds} unless the command
 * was given `--allow-any-date`, and outside what PostgreSQL's `date` holds even then: a usage
 * error (exit 2) in commander's words, naming the option, the value and the bound. It runs
 * after parsing because an argument parser sees its own option only, and `--allow-any-date`
 * may come after `--ds`.
 */
function checkDateBounds(command: CommandUnknownOpts): void {
  const dateOptions = command.options.filter((option) => option.parseArg === parseDate);
  if (dateOptions.length === 0) return;
  if (!command.options.some((option) => option.long === ALLOW_ANY_DATE)) {
    throw new TypeError(
      `command ${command.name()} takes a date but not ${ALLOW_ANY_DATE}: add allowAnyDateOption()`,
    );
  }
  const anyDate = command.getOptionValue("allowAnyDate") === true;
  const usual = logicalDateBounds();
  const usualRange = `from ${usual.first} to ${usual.last} (tomorrow, UTC)`;
  for (const option of dateOptions) {
    const value = command.getOptionValue(option.attributeName());
    if (typeof value !== "string") continue;
    let expected: string | undefined;
    if (!isWithin(value, WAREHOUSE_DATE_BOUNDS)) {
      expected = anyDate
        ? `expected a date from ${WAREHOUSE_DATE_BOUNDS.first} to ${WAREHOUSE_DATE_BOUNDS.last} ` +
          `even with ${ALLOW_ANY_DATE}: PostgreSQL has no year 0000`
        : `expected a date ${usualRange}; PostgreSQL has no year 0000, not even with ` +
          ALLOW_ANY_DATE;
    } else if (!anyDate && !isWithin(value, usual)) {
      expected = `expected a date ${usualRange}; pass ${ALLOW_ANY_DATE} to go outside`;
    }
    if (expected !== undefined) {
      command.error(`error: option '${option.flags}' argument '${value}' is invalid. ${expected}`, {
        exitCode: ExitCode.usage,
        code: "commander.invalidArgument",
      });
    }
  }
}

/** What the summaries and warnings of this process said, for its result line. */
const said: Pick<TaskResult, "task" | "rows" | "counts" | "warning"> = {
  task: "",
  rows: null,
  counts: {},
  warning: null,
};

/**
 * Parses the arguments, runs `main` with the options, and exits with the contract's code: a
 * failure prints `error: …` and exits 2 (usage), 3 (terminal) or 1 (transient). Either way the
 * last line on stdout is the task's result (`task_result.ts`), unless it only printed its help
 * or `options.resultLine` is false (a command whose stdout is data, such as a URL for psql).
 */
export async function runTask<Options>(
  program: {
    name(): string;
    action(main: () => Promise<void>): unknown;
    parseAsync(argv?: readonly string[], options?: { from: "user" }): Promise<unknown>;
    opts(): Options;
  },
  main: (options: Options) => Promise<void>,
  options: { resultLine?: boolean } = {},
): Promise<never> {
  // As an action, `main` runs after the checks of `taskCommand`'s hook, as a subcommand's does.
  program.action(() => main(program.opts()));
  said.task = program.name();
  const end = (outcome: Pick<TaskResult, "outcome" | "error" | "failure">) => {
    if (options.resultLine === false) return;
    const ds = (program.opts() as { ds?: unknown }).ds;
    console.log(formatTaskResult({
      ...said,
      ds: typeof ds === "string" ? ds : null,
      ...outcome,
    }));
  };
  try {
    await program.parseAsync(Deno.args, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) Deno.exit(ExitCode.ok);
      end({ outcome: "failed", error: firstLine(error.message), failure: "usage" });
      Deno.exit(ExitCode.usage);
    }
    printError(error);
    end({ outcome: "failed", error: errorLine(error), failure: failureClassOf(error) });
    Deno.exit(exitCodeFor(error));
  }
  end({ outcome: "succeeded", error: null, failure: null });
  Deno.exit(ExitCode.ok);
}

function firstLine(text: string): string {
  return text.trim().split("\n")[0]!.replace(/^error: /, "");
}

function errorLine(error: unknown): string {
  return redactUrl(errorMessage(error)).replace(/\s*\n\s*/g, " ");
}

/** Prints a failure as one `error: …` line on stderr (with the password of any URL hidden). */
export function printError(error: unknown): void {
  console.error(`error: ${errorLine(error)}`);
}

/**
 * Prints what a task that succeeds warns of as one `warning: …` line on stderr; the last one is
 * the result line's `warning`, which the runner records with the try and `deno task status` shows.
 */
export function printWarning(text: string): void {
  said.warning = redactUrl(text).replace(/\s*\n\s*/g, " ");
  console.error(`warning: ${said.warning}`);
}

/**
 * Prints the summary of a task as one logfmt line on stdout, for people; its numbers become the
 * result line's `counts` (another summary's prefixed with its name), and `options.rows` its rows.
 */
export function printSummary(task: string, fields: LogFields, options: { rows?: number } = {}) {
  console.log(`${task} ${logfmt(fields)}`);
  for (const [field, value] of Object.entries(fields)) {
    const count = countOf(value);
    if (count !== undefined) said.counts[task === said.task ? field : `${task}.${field}`] = count;
  }
  if (options.rows !== undefined) said.rows = options.rows;
}

/** A summary field as a count: a number, or a decimal such as `seconds=1.25` written as text. */
function countOf(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (typeof value === "string" && /^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  return undefined;
}
