/**
 * The server probe: before a client pool is let loose on a URL, one SSLRequest — the 8 bytes a
 * PostgreSQL client may open any connection with — says whether the server there speaks
 * PostgreSQL at all.
 *
 * The pool cannot tell by itself: when a server closes the connection during the startup
 * handshake, or answers bytes that are not a message, postgres.js 3.4.9 keeps its first query
 * parked and reconnects with no delay, a loop its `connect_timeout` never ends
 * (porsager/postgres#1193, open). Against a port that answers HTTP, `deno task migrate` opened
 * 10 000 connections in 28 s and never returned.
 *
 * PostgreSQL answers an SSLRequest with a single byte, `S` (it will speak TLS) or `N` (it will
 * not), or — when it cannot start a backend — with an ErrorResponse, `E` and a length. The probe
 * reads that answer and leaves the way a client that changed its mind does, which PostgreSQL does
 * not log: at once after `N`, after a TLS handshake after `S`.
 *
 * @example
 * ```ts
 * const result = await probeServer([{ hostname: "127.0.0.1", port: 5432 }], {
 *   signal: AbortSignal.timeout(10_000),
 * });
 * if (result.kind !== "postgres") console.error(result);
 * ```
 *
 * @module
 */
import net from "node:net";
import tls from "node:tls";
import { sleep } from "../shared/sleep.ts";

/** Where a server listens: a TCP host and port, or a Unix socket. */
export type ServerAddress =
  | { readonly hostname: string; readonly port: number }
  | { readonly path: string };

/** What the servers at a URL did with the SSLRequest. */
export type ProbeResult =
  /**
   * Answered as PostgreSQL does: `S` (`tls` true), `N` (`tls` false: it does not accept TLS), or
   * an ErrorResponse (no `tls`).
   */
  | { readonly kind: "postgres"; readonly tls?: boolean }
  /** The connection could not be opened: refused, unknown host, no route, or not in time. */
  | { readonly kind: "unreachable"; readonly error: unknown }
  /** Answered what PostgreSQL never sends; `answer` is its first line, printable. */
  | { readonly kind: "foreign"; readonly answer: string }
  /** Closed the connection without answering, on each of `attempts` tries. */
  | { readonly kind: "closed"; readonly attempts: number }
  /** Accepted the connection and said nothing until the signal aborted. */
  | { readonly kind: "silent" };

/** Options for {@linkcode probeServer}. */
export interface ProbeOptions {
  /** The deadline: when it aborts, a server that has not answered is `silent`. */
  readonly signal: AbortSignal;
  /** Tries when a server closes the connection without answering; default 3. */
  readonly attempts?: number;
}

/** Int32 length 8, then the SSLRequest code 80877103 (1234 << 16 | 5679), both big-endian. */
const SSL_REQUEST = new Uint8Array([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
const [S, N, E] = [0x53, 0x4e, 0x45];
/** Pause before the second try after a close (doubled before the third): a restart may end. */
const CLOSED_PAUSE_MS = 250;
/** How much of a foreign answer a message quotes. */
const QUOTED_BYTES = 80;

/**
 * Asks every address (a URL may name several hosts) at once. One that answers as PostgreSQL is
 * enough, unless another answered what PostgreSQL never sends: a URL naming a foreign server
 * is wrong whatever its other hosts do. Without a PostgreSQL answer, the most telling result
 * wins: `closed`, then `silent`, then `unreachable`.
 */
export async function probeServer(
  addresses: readonly ServerAddress[],
  options: ProbeOptions,
): Promise<ProbeResult> {
  const answered = new AbortController();
  const signal = AbortSignal.any([options.signal, answered.signal]);
  const results = await Promise.all(addresses.map(async (address) => {
    const result = await probeAddress(address, signal, options.attempts ?? 3);
    if (result.kind === "postgres") answered.abort();
    return result;
  }));
  for (const kind of ["foreign", "postgres", "closed", "silent"] as const) {
    const found = results.find((result) => result.kind === kind);
    if (found) return found;
  }
  return results[0] ?? { kind: "unreachable", error: new RangeError("the URL names no server") };
}

/** Asks one address, again after a close (a handful of tries, never a loop). */
async function probeAddress(
  address: ServerAddress,
  signal: AbortSignal,
  attempts: number,
): Promise<ProbeResult> {
  let closed = 0;
  while (closed < attempts) {
    if (closed > 0) {
      try {
        await sleep(CLOSED_PAUSE_MS * 2 ** (closed - 1), signal);
      } catch {
        break; // The deadline passed between tries: what the server did so far is the answer.
      }
    }
    const answer = await askOnce(address, signal);
    if (answer !== "closed") {
      // A server that closed at once and then kept silent until the deadline is still a server
      // that closes connections; any other answer stands on its own.
      return closed > 0 && answer.kind === "silent" ? { kind: "closed", attempts: closed } : answer;
    }
    closed++;
  }
  return { kind: "closed", attempts: closed };
}

/** What one connection learned; `closed` means it was closed without an answer. */
type Answer = Exclude<ProbeResult, { kind: "closed" }> | "closed";

/**
 * One connection, one SSLRequest, one answer. Over `node:net`, as postgres.js connects, because
 * after an `S` only `node:tls` can finish a handshake without judging the certificate.
 */
function askOnce(address: ServerAddress, signal: AbortSignal): Promise<Answer> {
  return new Promise((resolve) => {
    const socket = "path" in address
      ? net.connect({ path: address.path })
      : net.connect({ host: address.hostname, port: address.port });
    let connected = false;
    const settle = (answer: Answer) => {
      signal.removeEventListener("abort", giveUp);
      socket.destroy();
      resolve(answer);
    };
    const giveUp = () =>
      settle(
        connected
          ? { kind: "silent" }
          : { kind: "unreachable", error: new Deno.errors.TimedOut("connecting timed out") },
      );
    signal.addEventListener("abort", giveUp, { once: true });
    if (signal.aborted) return giveUp();
    socket.once("connect", () => {
      connected = true;
      socket.write(SSL_REQUEST);
    });
    socket.once("data", (bytes: Uint8Array) => {
      const answer = classify(bytes);
      if (answer.kind !== "postgres" || bytes[0] !== S) return settle(answer);
      socket.removeAllListeners();
      leaveQuietly(socket, address, signal).then(() => settle(answer));
    });
    socket.once("error", (error: Error & { code?: string }) => {
      const hungUp = ["ECONNRESET", "ECONNABORTED", "EPIPE"].includes(error.code ?? "");
      settle(connected && hungUp ? "closed" : { kind: "unreachable", error });
    });
    socket.once("close", () => settle("closed"));
  });
}

/**
 * After an `S`, finishes the TLS handshake (nothing is sent over it, so the certificate does not
 * matter) and closes it cleanly: PostgreSQL then drops the client without a word, where a client
 * that hangs up on the handshake costs a "could not accept SSL connection: EOF detected" line in
 * its log, one per task.
 */
function leaveQuietly(
  socket: net.Socket,
  address: ServerAddress,
  signal: AbortSignal,
): Promise<void> {
  return new Promise<void>((resolve) => {
    const servername = "hostname" in address && !net.isIP(address.hostname)
      ? address.hostname
      : undefined;
    const secure = tls.connect({ socket, rejectUnauthorized: false, servername });
    const done = () => {
      signal.removeEventListener("abort", done);
      secure.destroy();
      resolve();
    };
    signal.addEventListener("abort", done, { once: true });
    secure.once("secureConnect", () => secure.end());
    secure.once("error", done);
    secure.once("close", done);
  });
}

/**
 * What PostgreSQL sends first: `S` or `N` alone, or an ErrorResponse (`E`, then a length that
 * counts itself and at least a terminator). Anything else — `HTTP/1.1 400`, an SSH banner that
 * happens to start with `S`, memcached's `ERROR` — is another protocol. (A postmaster that
 * cannot fork writes its error in the old text format, `Ecould not fork…`: quoted as foreign,
 * the message still says what happened.)
 */
function classify(bytes: Uint8Array): Exclude<ProbeResult, { kind: "closed" }> {
  const first = bytes[0];
  if (bytes.length === 1 && (first === S || first === N)) {
    return { kind: "postgres", tls: first === S };
  }
  if (first === E && bytes.length >= 5) {
    const length = new DataView(bytes.buffer, bytes.byteOffset + 1, 4).getUint32(0);
    if (length >= 5 && length < 65_536) return { kind: "postgres" };
  }
  return { kind: "foreign", answer: firstLine(bytes) };
}

/** The answer up to its first line break (all of it if it starts with one), `\xNN` unprintable. */
function firstLine(bytes: Uint8Array): string {
  const end = bytes.findIndex((byte) => byte === 0x0d || byte === 0x0a);
  let text = "";
  for (const byte of (end > 0 ? bytes.subarray(0, end) : bytes).subarray(0, QUOTED_BYTES)) {
    text += byte >= 0x20 && byte < 0x7f && byte !== 0x5c
      ? String.fromCharCode(byte)
      : `\\x${byte.toString(16).padStart(2, "0")}`;
  }
  return text;
}
