/**
 * A console served by a real process — `pipelines/cli.ts console` or `start` — on a port the
 * system picks (`CONSOLE_PORT=0`), found from the `console: http://…/` line it prints.
 *
 * @example
 * ```ts
 * await using served = await startConsoleProcess(fixture, "console", { CONSOLE_TOKEN: token });
 * const response = await fetch(new URL("/healthz", served.url));
 * ```
 *
 * @module
 */
import type { PipelineFixture } from "./pipeline_fixture.ts";

/** A running console process; disposing it stops it (SIGTERM) and waits for it. */
export interface ConsoleProcess extends AsyncDisposable {
  /** `http://127.0.0.1:PORT/`. */
  readonly url: string;
  /** Everything it printed on stderr so far. */
  readonly stderr: () => string;
  /** Sends SIGTERM and waits for the exit. */
  stop(): Promise<Deno.CommandStatus>;
}

/** Starts `pipelines/cli.ts <command>` with the fixture's environment and `env`. */
export async function startConsoleProcess(
  fixture: PipelineFixture,
  command: "console" | "start",
  env: Record<string, string> = {},
): Promise<ConsoleProcess> {
  const child = fixture.spawn("pipelines/cli.ts", [command], { CONSOLE_PORT: "0", ...env });
  const decoder = new TextDecoder();
  let stderr = "";
  const readingStderr = (async () => {
    for await (const chunk of child.stderr) stderr += decoder.decode(chunk, { stream: true });
  })();
  let stdout = "";
  const reader = child.stdout.getReader();
  const deadline = Date.now() + 60_000;
  let url: string | undefined;
  while (url === undefined) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), Math.max(0, deadline - Date.now()));
    });
    const chunk = await Promise.race([reader.read(), timeout]).finally(() => clearTimeout(timer));
    if (chunk === undefined || chunk.done) {
      try {
        child.kill("SIGKILL");
      } catch {
        // It has exited already.
      }
      await Promise.all([child.status, readingStderr, reader.cancel()]);
      throw new Error(`no console line from ${command}:\n${stdout}\n--- stderr\n${stderr}`);
    }
    stdout += decoder.decode(chunk.value, { stream: true });
    url = /^console: (http:\/\/\S+\/)$/m.exec(stdout)?.[1];
  }
  // The rest of stdout is not needed; keep it flowing so the process never blocks on it.
  const draining = (async () => {
    while (!(await reader.read()).done) { /* discard */ }
  })();
  // The console listens at once and answers 503 until the warehouse is open: wait for that.
  while (true) {
    const health = await (await fetch(new URL("/healthz", url))).json() as { reason?: string };
    if (!health.reason?.startsWith("starting: the warehouse")) break;
    if (Date.now() > deadline) {
      throw new Error(`the console did not open the warehouse:\n${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  let status: Promise<Deno.CommandStatus> | undefined;
  const stop = () => {
    if (!status) {
      try {
        child.kill("SIGTERM");
      } catch {
        // It has exited already.
      }
      status = Promise.all([child.status, readingStderr, draining]).then(([s]) => s);
    }
    return status;
  };
  return {
    url,
    stderr: () => stderr,
    stop,
    async [Symbol.asyncDispose]() {
      await stop();
    },
  };
}
