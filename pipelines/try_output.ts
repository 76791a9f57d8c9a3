/**
 * The output of a task's try as the ledger keeps it, for the console's run page: what the process
 * printed on stdout and stderr, line by line as it came, each line through the secret mask, and
 * bounded — the first lines up to `headChars` and the last up to `tailChars`, with a marker for
 * what was left out between them (the try's log file has all of it).
 *
 * @example
 * ```ts
 * const output = new TryOutput({ mask: new SecretMask(secrets) });
 * output.write("stderr", chunk);
 * await ledger.finishTry(attempt, { ...outcome, output: output.text() });
 * ```
 *
 * @module
 */
import { SecretMask } from "../tasks/shared/secret_mask.ts";

/** Options for {@linkcode TryOutput}. */
export interface TryOutputOptions {
  mask: SecretMask;
  /** Characters kept from the start; default 16 384. */
  headChars?: number;
  /** Characters kept from the end; default 49 152. */
  tailChars?: number;
  /** A longer line is cut to this many characters; default 4 096. */
  lineChars?: number;
}

type Stream = "stdout" | "stderr";

/** A bounded, redacted copy of a process's output; see the module documentation. */
export class TryOutput {
  readonly #mask: SecretMask;
  readonly #headChars: number;
  readonly #tailChars: number;
  readonly #lineChars: number;
  readonly #decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
  /** The unfinished last line of each stream, and whether it is being cut. */
  readonly #pending = { stdout: "", stderr: "" };
  readonly #cutting = { stdout: false, stderr: false };
  readonly #head: string[] = [];
  #headSize = 0;
  readonly #tail: string[] = [];
  #tailSize = 0;
  #omittedLines = 0;
  #omittedChars = 0;

  constructor(options: TryOutputOptions) {
    this.#mask = options.mask;
    this.#headChars = options.headChars ?? 16_384;
    this.#tailChars = options.tailChars ?? 49_152;
    this.#lineChars = options.lineChars ?? 4_096;
  }

  /** Adds a chunk that `stream` printed. */
  write(stream: Stream, chunk: Uint8Array): void {
    const text = this.#pending[stream] + this.#decoders[stream].decode(chunk, { stream: true });
    const lines = text.split("\n");
    this.#pending[stream] = lines.pop() ?? "";
    for (const line of lines) {
      if (this.#cutting[stream]) {
        this.#cutting[stream] = false; // the rest of a cut line: dropped
      } else {
        this.#keep(this.#mask.redact(line.replace(/\r$/, "")));
      }
    }
    const pending = this.#pending[stream];
    if (pending.length > this.#lineChars) {
      if (!this.#cutting[stream]) {
        this.#keep(
          `${this.#mask.redactCut(pending.slice(0, this.#lineChars))} … (line cut at ` +
            `${this.#lineChars} characters)`,
        );
        this.#cutting[stream] = true;
      }
      this.#pending[stream] = "";
    }
  }

  /** The kept output (unfinished last lines included). */
  text(): string {
    for (const stream of ["stdout", "stderr"] as const) {
      const rest = this.#pending[stream] + this.#decoders[stream].decode();
      this.#pending[stream] = "";
      if (rest !== "" && !this.#cutting[stream]) this.#keep(this.#mask.redact(rest));
    }
    const gap = this.#omittedLines === 0 ? [] : [
      `… ${this.#omittedLines} ${this.#omittedLines === 1 ? "line" : "lines"} ` +
      `(${this.#omittedChars} characters) left out here; the try's log file has them …`,
    ];
    return [...this.#head, ...gap, ...this.#tail].join("\n");
  }

  #keep(line: string): void {
    const size = line.length + 1;
    if (this.#tail.length === 0 && this.#headSize + size <= this.#headChars) {
      this.#head.push(line);
      this.#headSize += size;
      return;
    }
    this.#tail.push(line);
    this.#tailSize += size;
    while (this.#tailSize > this.#tailChars && this.#tail.length > 0) {
      const dropped = this.#tail.shift()!;
      this.#tailSize -= dropped.length + 1;
      this.#omittedLines++;
      this.#omittedChars += dropped.length + 1;
    }
  }
}
