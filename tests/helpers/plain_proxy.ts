/**
 * A TCP proxy in front of the test warehouse, on any address (`::1` for the IPv6 tests), that
 * declines TLS itself: it answers an SSLRequest with `N`, as a PostgreSQL without `ssl` does,
 * and passes every other byte through — so a test gets a TLS-less server whatever the test
 * warehouse's own `ssl` setting.
 *
 * @example
 * ```ts
 * await using proxy = startPlainProxy({ hostname: "::1", target: { hostname: "127.0.0.1", port } });
 * const url = `postgres://app@[::1]:${proxy.port}/warehouse`;
 * ```
 *
 * @module
 */

/** Options for {@linkcode startPlainProxy}. */
export interface PlainProxyOptions {
  /** Where the proxy listens (its port is any free one). */
  hostname: string;
  /** The server behind it. */
  target: { hostname: string; port: number };
}

/** A proxy that is listening; disposing it closes it and every connection through it. */
export interface PlainProxy extends AsyncDisposable {
  readonly port: number;
  /** Connections it accepted. */
  readonly connections: number;
}

/** Int32 length 8, then the SSLRequest code 80877103. */
const SSL_REQUEST = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

export function startPlainProxy(options: PlainProxyOptions): PlainProxy {
  const listener = Deno.listen({ hostname: options.hostname, port: 0 });
  const open = new Set<Deno.Conn>();
  let connections = 0;
  const accepting = (async () => {
    for await (const client of listener) {
      connections++;
      open.add(client);
      relay(client, options.target, open).catch(() => {}).finally(() => {
        open.delete(client);
        try {
          client.close();
        } catch {
          // closed already
        }
      });
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    get connections() {
      return connections;
    },
    async [Symbol.asyncDispose]() {
      listener.close();
      await accepting.catch(() => {});
      for (const conn of open) {
        try {
          conn.close();
        } catch {
          // closed already
        }
      }
    },
  };
}

async function relay(
  client: Deno.Conn,
  target: { hostname: string; port: number },
  open: Set<Deno.Conn>,
): Promise<void> {
  const first = new Uint8Array(8);
  let read = 0;
  while (read < 8) {
    const n = await client.read(first.subarray(read));
    if (n === null) return;
    read += n;
  }
  const declined = SSL_REQUEST.every((byte, i) => first[i] === byte);
  if (declined) await client.write(new Uint8Array([0x4e])); // 'N'
  const server = await Deno.connect(target);
  open.add(server);
  try {
    if (!declined) await server.write(first);
    await Promise.race([
      client.readable.pipeTo(server.writable),
      server.readable.pipeTo(client.writable),
    ]);
  } finally {
    open.delete(server);
    try {
      server.close();
    } catch {
      // closed already
    }
  }
}
