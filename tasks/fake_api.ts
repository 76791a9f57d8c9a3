/**
 * `deno task fake-api [--hostname 127.0.0.1] [--port 8787] [--now ISO]`: serves the project's
 * stand-in for randomuser.me (`tasks/stand_in/`, a real HTTP server speaking API v1.4 — not
 * randomuser.me) on 127.0.0.1 by default until SIGINT or SIGTERM, with faults controllable over
 * HTTP under `/_fake/`.
 *
 * @module
 */
import { InvalidArgumentError, Option } from "@commander-js/extra-typings";
import { listenForStop } from "./shared/stop_signal.ts";
import { runTask, taskCommand } from "./shared/task_command.ts";
import { startFakeRandomUser } from "./stand_in/randomuser_server.ts";

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) {
    throw new InvalidArgumentError("expected an integer from 0 to 65535 (0 picks a free one).");
  }
  return port;
}

function parseNow(value: string): Date {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) {
    throw new InvalidArgumentError("expected an ISO date such as 2024-06-01T00:00:00Z.");
  }
  return date;
}

const program = taskCommand(
  "fake-api",
  "Serve a stand-in for https://randomuser.me/api/ (v1.4 JSON), on 127.0.0.1 by default. " +
    "Faults: POST /_fake/faults, DELETE /_fake/faults; request log: GET /_fake/requests.",
)
  .addOption(
    new Option("--hostname <address>", "address to listen on (0.0.0.0 in a container)")
      .default("127.0.0.1"),
  )
  .addOption(
    new Option("--port <port>", "TCP port; 0 picks a free one").argParser(parsePort).default(8787),
  )
  .addOption(
    new Option("--now <iso-date>", "pin the clock that dob/registered ages are computed against")
      .argParser(parseNow),
  );

if (import.meta.main) {
  await runTask(program, async (options) => {
    await using server = await startFakeRandomUser({
      hostname: options.hostname,
      port: options.port,
      ...(options.now === undefined ? {} : { now: options.now }),
    });
    console.log(`fake randomuser.me (stand-in) listening on ${server.url}`);
    using stop = listenForStop();
    await stop.stopped;
    console.log("fake randomuser.me stopped");
  }, { resultLine: false }); // a server, not a task
}
