import assert from "node:assert/strict";
import { pathToFileURL } from "node:url";
import { projectPath } from "../tasks/shared/paths.ts";

// A process that winds down for `windDownMs` after the first stop signal, then exits 0.
function spawnStoppable(windDownMs: number) {
  const module = pathToFileURL(projectPath("tasks/shared/stop_signal.ts")).href;
  const script = `
    import { listenForStop } from ${JSON.stringify(module)};
    using stop = listenForStop({ onStop: (signal) => console.log("stopping on " + signal) });
    console.log("ready");
    await stop.stopped;
    await new Promise((resolve) => setTimeout(resolve, ${windDownMs}));
    console.log("stopped gracefully");
  `;
  return new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", script],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

async function readUntil(reader: ReadableStreamDefaultReader<string>, text: string) {
  let seen = "";
  while (!seen.includes(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the process ended before printing ${text}: ${seen}`);
    seen += value;
  }
  return seen;
}

Deno.test("the first stop signal lets an entry point finish gracefully with exit 0", async () => {
  const child = spawnStoppable(200);
  const stdout = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  await readUntil(stdout, "ready");
  child.kill("SIGTERM");
  const rest = await readUntil(stdout, "stopped gracefully");
  assert.match(rest, /stopping on SIGTERM/);
  stdout.releaseLock();
  const status = await child.status;
  assert.equal(status.code, 0);
  await child.stderr.cancel();
});

Deno.test("a second stop signal ends the process at once with exit 1", async () => {
  const child = spawnStoppable(60_000);
  const stdout = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  await readUntil(stdout, "ready");
  child.kill("SIGINT");
  await readUntil(stdout, "stopping on SIGINT");
  child.kill("SIGTERM");
  const [status, stderr] = await Promise.all([
    child.status,
    new Response(child.stderr).text(),
    (async () => {
      while (!(await stdout.read()).done) { /* drain */ }
    })(),
  ]);
  assert.equal(status.code, 1);
  assert.match(stderr, /error: a second SIGTERM: stopping at once/);
});
