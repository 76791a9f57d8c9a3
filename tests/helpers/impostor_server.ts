/**
 * Servers on 127.0.0.1 that are not PostgreSQL — one answers like an HTTP server, one closes
 * every connection, one never says a word, one passes the SSL probe and then hangs up — for the
 * tests of what a `DATABASE_URL` pointing at the wrong port does. Each counts the connections it
 * accepts.
 *
 * @module
 */

/** The password in every impostor's URL: it must never be printed. */
export const IMPOSTOR_PASSWORD = "s3cret-pw";

/** What a server that is not PostgreSQL does with each connection it accepts. */
export type Manner =
  /** Answers the first bytes as an HTTP server answers a request it cannot parse. */
  | "http"
  /** Closes the connection at once. */
  | "close"
  /** Reads and never writes a byte. */
  | "silent"
  /** Answers the SSLRequest with `N`, as PostgreSQL does, and hangs up at the startup message. */
  | "hang-up-after-ssl";

/** A server on 127.0.0.1 that is not PostgreSQL, counting the connections it accepts. */
export interface Impostor extends AsyncDisposable {
  /** A `DATABASE_URL` for it, with a password that must never be printed. */
  readonly url: string;
  /** The URL as messages print it, as a regular expression. */
  readonly shown: string;
  readonly connections: number;
}

export function startImpostor(manner: Manner): Impostor {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  const open = new Set<Deno.Conn>();
  let connections = 0;
  const accepting = (async () => {
    for await (const conn of listener) {
      connections++;
      open.add(conn);
      serve(conn, manner).finally(() => open.delete(conn) && conn.close());
    }
  })();
  return {
    url: `postgres://pipeline:${IMPOSTOR_PASSWORD}@127.0.0.1:${port}/warehouse`,
    shown: `postgres://pipeline:\\*\\*\\*@127\\.0\\.0\\.1:${port}/warehouse`,
    get connections() {
      return connections;
    },
    async [Symbol.asyncDispose]() {
      listener.close();
      await accepting;
      for (const conn of open) conn.close();
      open.clear();
    },
  };
}

async function serve(conn: Deno.Conn, manner: Manner): Promise<void> {
  const buffer = new Uint8Array(1024);
  try {
    if (manner === "http") {
      await conn.read(buffer);
      await conn.write(
        new TextEncoder().encode("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n"),
      );
    } else if (manner === "silent") {
      while (await conn.read(buffer) !== null) { /* say nothing */ }
    } else if (manner === "hang-up-after-ssl") {
      // The probe's SSLRequest gets its `N`; postgres.js's startup message gets a hang-up.
      if (await conn.read(buffer) === 8) {
        await conn.write(new TextEncoder().encode("N"));
        await conn.read(buffer);
      }
    }
  } catch (error) {
    // The client hung up first, or the test ended and closed the connection.
    const expected = [
      Deno.errors.BadResource,
      Deno.errors.Interrupted,
      Deno.errors.ConnectionReset,
      Deno.errors.BrokenPipe,
    ];
    if (!expected.some((kind) => error instanceof kind)) throw error;
  }
}
