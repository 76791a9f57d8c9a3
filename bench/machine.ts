/**
 * The machine a benchmark ran on (CPU model, cores, memory, Deno and PostgreSQL versions) and
 * the process's own peak memory, read from Linux's `/proc`.
 *
 * @module
 */

/** What the figures of a benchmark depend on. */
export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGb: number;
  readonly os: string;
  readonly deno: string;
  readonly v8: string;
  /** `server_version` of the database the benchmark used. */
  readonly postgres: string;
  /** `psql --version`, or `undefined` when psql is not installed. */
  readonly psql: string | undefined;
}

/** Describes this machine; `postgres` is the server version the caller read. */
export async function describeMachine(postgres: string): Promise<Machine> {
  const cpuinfo = await readProc("/proc/cpuinfo");
  const meminfo = await readProc("/proc/meminfo");
  const memoryKb = Number(/^MemTotal:\s+(\d+) kB/m.exec(meminfo)?.[1] ?? 0);
  return {
    cpu: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown",
    cores: cpuinfo.match(/^processor\s*:/gm)?.length ?? navigator.hardwareConcurrency,
    memoryGb: Math.round(memoryKb / 1024 / 1024),
    os: `${Deno.build.os} ${Deno.osRelease()}`,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    postgres,
    psql: await psqlVersion(),
  };
}

/** The CPUs this process may run on (Linux `Cpus_allowed_list`), e.g. `[0, 1]`; `[]` elsewhere. */
export async function allowedCpus(): Promise<number[]> {
  const list = /^Cpus_allowed_list:\s*(\S+)/m.exec(await readProc("/proc/self/status"))?.[1];
  const cpus: number[] = [];
  for (const range of list?.split(",") ?? []) {
    const [first = NaN, last = first] = range.split("-").map(Number);
    for (let cpu = first; cpu <= last; cpu++) cpus.push(cpu);
  }
  return cpus.filter((cpu) => Number.isInteger(cpu));
}

async function readProc(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "";
    throw error;
  }
}

async function psqlVersion(): Promise<string | undefined> {
  try {
    const output = await new Deno.Command("psql", { args: ["--version"], stdout: "piped" })
      .output();
    return new TextDecoder().decode(output.stdout).trim();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}
