/**
 * Structured log lines (logfmt on stderr) and a one-line progress display for terminals.
 * Every line passes through {@linkcode redactUrl}, so a connection password never reaches a log.
 *
 * @module
 */
import { redactUrl } from "./redact_url.ts";

/** A value a log field may hold. */
export type LogValue = string | number | boolean | null | undefined;
/** Named values attached to a log line. */
export type LogFields = Record<string, LogValue>;

type Level = "debug" | "info" | "warn" | "error";

/** Writes logfmt lines: `time=… level=info task=extract msg="fetched page" page=3`. */
export class Logger {
  readonly #task: string;
  readonly #write: (line: string) => void;

  constructor(task: string, write: (line: string) => void = writeStderr) {
    this.#task = task;
    this.#write = write;
  }

  info(message: string, fields?: LogFields): void {
    this.#log("info", message, fields);
  }

  warn(message: string, fields?: LogFields): void {
    this.#log("warn", message, fields);
  }

  error(message: string, fields?: LogFields): void {
    this.#log("error", message, fields);
  }

  #log(level: Level, message: string, fields: LogFields = {}): void {
    const parts = [
      `time=${new Date().toISOString()}`,
      `level=${level}`,
      `task=${this.#task}`,
      `msg=${logfmtValue(message)}`,
    ];
    for (const [key, value] of Object.entries(fields)) {
      if (value !== undefined && value !== null) parts.push(`${key}=${logfmtValue(value)}`);
    }
    this.#write(redactUrl(parts.join(" ")) + "\n");
  }
}

/** Formats `fields` as one logfmt line without time or level, e.g. for a final summary. */
export function logfmt(fields: LogFields): string {
  return redactUrl(
    Object.entries(fields)
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => `${key}=${logfmtValue(value)}`)
      .join(" "),
  );
}

function logfmtValue(value: LogValue): string {
  if (value === null || value === undefined) return "";
  const text = String(value);
  return /^[^\s"=\\]+$/.test(text) ? text : JSON.stringify(text);
}

const encoder = new TextEncoder();

function writeStderr(line: string): void {
  Deno.stderr.writeSync(encoder.encode(line));
}

/** Options for {@linkcode Progress}. */
export interface ProgressOptions {
  /** Redraw at most this often; default 100 ms. */
  intervalMs?: number;
  /** Force the display on or off; default: on when stderr is a terminal. */
  enabled?: boolean;
}

/** A single self-rewriting status line on a terminal; silent when stderr is not one. */
export class Progress {
  readonly #enabled: boolean;
  readonly #intervalMs: number;
  #last = 0;
  #shown = false;

  constructor(options: ProgressOptions = {}) {
    this.#enabled = options.enabled ?? Deno.stderr.isTerminal();
    this.#intervalMs = options.intervalMs ?? 100;
  }

  /** True when updates are drawn (callers log per-step lines instead when it is false). */
  get enabled(): boolean {
    return this.#enabled;
  }

  update(text: string): void {
    if (!this.#enabled) return;
    const now = performance.now();
    if (now - this.#last < this.#intervalMs) return;
    this.#last = now;
    this.#shown = true;
    writeStderr(`\r\x1b[2K${text}`);
  }

  /** Clears the line so that the next output starts clean. */
  done(): void {
    if (this.#enabled && this.#shown) writeStderr("\r\x1b[2K");
    this.#shown = false;
  }
}
