/**
 * Command line for `deno task fake-api`: serves the project's stand-in for randomuser.me on
 * 127.0.0.1 (or `--hostname`) until SIGINT or SIGTERM, with faults controllable over HTTP under
 * `/_fake/`.
 */

import { Command, CommanderError, InvalidArgumentError } from "@commander-js/extra-typings";
import { type FakeRandomUser, startFakeRandomUser } from "./server.ts";

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) {
    throw new InvalidArgumentError("Expected an integer from 0 to 65535 (0 picks a free port).");
  }
  return port;
}

function parseNow(value: string): Date {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) {
    throw new InvalidArgumentError("Expected an ISO date such as 2024-06-01T00:00:00Z.");
  }
  return date;
}

const program = new Command()
  .name("fake-api")
  .description(
    "Serve a stand-in for https://randomuser.me/api/ (v1.4 JSON), on 127.0.0.1 by default.\n" +
      "Faults: POST /_fake/faults, DELETE /_fake/faults; request log: GET /_fake/requests.",
  )
  .option("--hostname <address>", "address to listen on (0.0.0.0 in a container)", "127.0.0.1")
  .option("--port <port>", "TCP port; 0 picks a free one", parsePort, 8787)
  .option(
    "--now <iso-date>",
    "pin the clock that dob/registered ages are computed against",
    parseNow,
  )
  .showSuggestionAfterError(false)
  .exitOverride();

try {
  program.parse(Deno.args, { from: "user" });
} catch (error) {
  // Commander has already printed help or a one-line error naming the flag.
  if (error instanceof CommanderError) Deno.exit(error.exitCode === 0 ? 0 : 2);
  throw error;
}

const flags = program.opts();

async function serve(): Promise<FakeRandomUser> {
  try {
    return await startFakeRandomUser({
      hostname: flags.hostname,
      port: flags.port,
      ...(flags.now === undefined ? {} : { now: flags.now }),
    });
  } catch (error) {
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    Deno.exit(1);
  }
}

const server = await serve();
const stop = async () => {
  Deno.removeSignalListener("SIGINT", stop);
  Deno.removeSignalListener("SIGTERM", stop);
  await server.close();
  console.log("fake randomuser.me stopped");
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", stop);
Deno.addSignalListener("SIGTERM", stop);
console.log(`fake randomuser.me (stand-in) listening on ${server.url}`);
