/**
 * A small filesystem of the test's own — a tmpfs mounted over a directory — for the tests of what
 * happens when the disk is full. Mounting needs root (CI and these machines run as root); where
 * it is refused, the test fails with the reason rather than being skipped.
 *
 * @example
 * ```ts
 * await using _disk = await mountTmpfs(fixture.workspace.dataDir, "3m");
 * ```
 *
 * @module
 */

async function run(command: string, args: readonly string[]): Promise<string> {
  const output = await new Deno.Command(command, { args: [...args], stderr: "piped" }).output();
  const decoder = new TextDecoder();
  if (output.code !== 0) {
    throw new Error(`${command} ${args.join(" ")} failed: ${decoder.decode(output.stderr)}`);
  }
  return decoder.decode(output.stdout);
}

/** Mounts a tmpfs of `size` (`3m`, `512k`) at `dir`, creating it; disposing unmounts it. */
export async function mountTmpfs(dir: string, size: string): Promise<AsyncDisposable> {
  await Deno.mkdir(dir, { recursive: true });
  await run("mount", ["-t", "tmpfs", "-o", `size=${size},mode=0755`, "tmpfs", dir]);
  return { [Symbol.asyncDispose]: () => run("umount", [dir]).then(() => {}) };
}

/** Free bytes for an unprivileged writer, and the block size, of the filesystem at `dir`. */
export async function freeSpace(dir: string): Promise<{ bytes: number; block: number }> {
  const [available, block] = (await run("stat", ["-f", "-c", "%a %S", dir])).trim().split(" ")
    .map(Number);
  return { bytes: available! * block!, block: block! };
}
