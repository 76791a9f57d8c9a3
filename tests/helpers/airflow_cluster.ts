/**
 * A real, distributed Apache Airflow for tests: the pinned Airflow and Celery provider of
 * `pipelines/airflow/requirements.txt`, on the CeleryExecutor, as a team would run it — a Redis
 * broker (Debian's `redis-server`, started here on a free loopback port, never the machine's
 * own), Airflow's metadata in a scratch PostgreSQL database, the API server, the scheduler, the
 * DAG processor and `airflow celery worker`s, each worker with an Airflow home, a hostname,
 * queues and an environment of its own. The test drives it through Airflow's REST API.
 *
 * Every process it starts carries a marker in its environment (so do their children, down to the
 * task processes): stopping the cluster stops them all, and fails naming any that survived.
 * Each is started with a parent-death signal, so a test that dies does not leave them running.
 *
 * @example
 * ```ts
 * await using cluster = await startAirflowCluster({ dagsFolder, metadataUrl, env, workers });
 * await cluster.api.post("/api/v2/dags/extract_load_pipeline/dagRuns", { logical_date });
 * ```
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import { ensureAirflow } from "./airflow.ts";
import { childEnv } from "./task_process.ts";

/** One `airflow celery worker`. */
export interface CeleryWorkerOptions {
  /** Its Celery hostname, and the hostname its task instances report to Airflow. */
  readonly name: string;
  /** Queues it consumes besides Airflow's default one. */
  readonly queues: readonly string[];
  /** Environment of the worker and its tasks (DATA_DIR, …), on top of the cluster's. */
  readonly env: Record<string, string>;
  /** Task slots (Celery's concurrency). */
  readonly concurrency: number;
}

/** Options for {@linkcode startAirflowCluster}. */
export interface AirflowClusterOptions {
  /** The DAGs folder every component reads (the workers parse the DAGs they run, too). */
  readonly dagsFolder: string;
  /** `postgres://` URL of an empty database for Airflow's metadata. */
  readonly metadataUrl: string;
  /** Environment of every component, and so of the tasks. */
  readonly env: Record<string, string>;
  readonly workers: readonly CeleryWorkerOptions[];
  /** Airflow pools to create (name → slots) before the DAGs are first parsed. */
  readonly pools?: Record<string, number>;
  /** Airflow Variables to set (key → value) before the DAGs are first parsed. */
  readonly variables?: Record<string, string>;
}

/** Airflow's REST API (`/api/v2/…`) as the cluster's admin user. */
export interface AirflowApi {
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body: unknown): Promise<T>;
  patch<T>(path: string, body: unknown): Promise<T>;
}

/** A running cluster; `stop()` (or disposal) stops every process it started. */
export interface AirflowCluster extends AsyncDisposable {
  readonly api: AirflowApi;
  /** The last lines of a component's log (`api-server`, `scheduler`, a worker's name, …). */
  logTail(component: string, lines?: number): Promise<string>;
  /** Stops every process; throws, naming them, when any survived. */
  stop(): Promise<void>;
}

const STARTUP_TIMEOUT_MS = 240_000;
const STOP_GRACE_MS = 45_000;
const ADMIN = "relt";

/** Starts the broker and every Airflow component; resolves once the DAGs are parsed. */
export async function startAirflowCluster(options: AirflowClusterOptions): Promise<AirflowCluster> {
  const bin = await ensureAirflow();
  const dir = await Deno.makeTempDir({ prefix: "relt-airflow-cluster-" });
  const tag = { RELT_AIRFLOW_CLUSTER: randomBytes(8).toString("hex") };
  const marker = `RELT_AIRFLOW_CLUSTER=${tag.RELT_AIRFLOW_CLUSTER}`;
  const processes: Component[] = [];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      await stopAll(processes, marker);
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  };
  try {
    const redisPort = freePort();
    processes.push(
      spawn("redis", dir, {
        command: "redis-server",
        args: [
          "--bind",
          "127.0.0.1",
          "--port",
          String(redisPort),
          "--save",
          "",
          "--appendonly",
          "no",
          "--dir",
          dir,
          "--protected-mode",
          "yes",
        ],
        env: tag,
      }),
    );
    const apiPort = freePort();
    const password = randomBytes(12).toString("hex");
    const passwords = resolve(dir, "passwords.json");
    await Deno.writeTextFile(passwords, JSON.stringify({ [ADMIN]: password }));
    const common: Record<string, string> = {
      ...options.env,
      ...tag,
      PATH: `${bin}:${childEnv().PATH}`,
      PYTHONDONTWRITEBYTECODE: "1",
      AIRFLOW__CORE__EXECUTOR: "CeleryExecutor",
      AIRFLOW__CORE__DAGS_FOLDER: options.dagsFolder,
      AIRFLOW__CORE__LOAD_EXAMPLES: "False",
      AIRFLOW__USAGE_DATA_COLLECTION__ENABLED: "False",
      AIRFLOW__CORE__EXECUTION_API_SERVER_URL: `http://127.0.0.1:${apiPort}/execution/`,
      AIRFLOW__CELERY__BROKER_URL: `redis://127.0.0.1:${redisPort}/0`,
      // The task states travel through the API server; Celery's own results stay in Redis, so a
      // worker needs no connection to Airflow's metadata database.
      AIRFLOW__CELERY__RESULT_BACKEND: `redis://127.0.0.1:${redisPort}/1`,
    };
    const control: Record<string, string> = {
      ...common,
      AIRFLOW_HOME: resolve(dir, "control"),
      AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: sqlAlchemyUrl(options.metadataUrl),
      AIRFLOW__DATABASE__SQL_ALCHEMY_POOL_SIZE: "3",
      AIRFLOW__API__HOST: "127.0.0.1",
      AIRFLOW__API__PORT: String(apiPort),
      AIRFLOW__API_AUTH__JWT_SECRET: randomBytes(24).toString("hex"),
      AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS: `${ADMIN}:admin`,
      AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE: passwords,
      AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK: "False",
      // Look for new DAG files often (the test writes them just before it starts). They never
      // change while it runs: each is parsed once, not again every 30 s (Airflow's default),
      // which on a 2-core machine takes CPU from the tasks.
      AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL: "5",
      AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL: "3600",
    };
    const airflow = resolve(bin, "airflow");
    // Airflow's metadata is migrated while Redis starts; then every component but the DAG
    // processor starts at once (none needs another to start), and the DAG processor once the
    // pools and Variables the DAG files read are set through the API server.
    const [migrated] = await Promise.all([
      new Deno.Command(airflow, {
        args: ["db", "migrate"],
        clearEnv: true,
        env: childEnv(control),
        stdout: "piped",
        stderr: "piped",
      }).output(),
      waitFor("redis-server to answer PING", processes, () => redisPing(redisPort)),
    ]);
    if (!migrated.success) {
      throw new Error(`airflow db migrate failed:\n${new TextDecoder().decode(migrated.stderr)}`);
    }
    processes.push(
      spawn("api-server", dir, { command: airflow, args: ["api-server"], env: control }),
      spawn("scheduler", dir, { command: airflow, args: ["scheduler"], env: control }),
    );
    for (const worker of options.workers) {
      processes.push(spawn(worker.name, dir, {
        command: airflow,
        args: [
          "celery",
          "worker",
          "--celery-hostname",
          `${worker.name}@%h`,
          "--queues",
          [...worker.queues, "default"].join(","),
          "--concurrency",
          String(worker.concurrency),
          "--skip-serve-logs",
          // No start-up exchange with the other workers, nor their events all along: Airflow
          // needs neither, and they cost each worker CPU for nothing.
          "--without-mingle",
          "--without-gossip",
        ],
        deathSignal: "SIGQUIT",
        env: {
          ...common,
          ...worker.env,
          AIRFLOW_HOME: resolve(dir, worker.name),
          // The hostname its task instances report (both run on this machine).
          AIRFLOW__CORE__HOSTNAME_CALLABLE: "worker_hostname.hostname",
          PYTHONPATH: resolve(new URL("../airflow", import.meta.url).pathname),
          RELT_WORKER_NAME: worker.name,
        },
      }));
    }
    const base = `http://127.0.0.1:${apiPort}`;
    await waitFor("the API server to answer", processes, async () => {
      const response = await fetch(`${base}/api/v2/monitor/health`).catch(() => undefined);
      await response?.body?.cancel();
      return response?.ok === true;
    });
    const api = await restApi(base, password);
    await Promise.all([
      ...Object.entries(options.pools ?? {}).map(([name, slots]) =>
        api.post("/api/v2/pools", { name, slots, description: "randomuser-elt test" })
      ),
      ...Object.entries(options.variables ?? {}).map(([key, value]) =>
        api.post("/api/v2/variables", { key, value })
      ),
    ]);
    processes.push(
      spawn("dag-processor", dir, { command: airflow, args: ["dag-processor"], env: control }),
    );
    return {
      api,
      logTail: async (component, lines = 40) => {
        const text = await Deno.readTextFile(resolve(dir, `${component}.log`)).catch(() => "");
        return text.split("\n").slice(-lines).join("\n");
      },
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A started process of the cluster, its output going to `<dir>/<name>.log`. */
interface Component {
  readonly name: string;
  readonly child: Deno.ChildProcess;
  readonly exited: boolean;
}

function spawn(
  name: string,
  dir: string,
  run: {
    command: string;
    args: readonly string[];
    env: Record<string, string>;
    /** Sent when this process dies: a Celery worker's SIGTERM would wait for its tasks. */
    deathSignal?: "SIGTERM" | "SIGQUIT";
  },
): Component {
  // Its own process group (stopped as one), a signal when this process dies, and its output
  // straight to its log file (a pipe this process stopped reading would block it).
  const child = new Deno.Command("sh", {
    args: [
      "-c",
      `exec setsid setpriv --pdeathsig ${run.deathSignal ?? "SIGTERM"} -- "$@" >>"$RELT_LOG" 2>&1`,
      "sh",
      run.command,
      ...run.args,
    ],
    cwd: dir,
    clearEnv: true,
    env: childEnv({ ...run.env, RELT_LOG: resolve(dir, `${name}.log`) }),
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const component = { name, child, exited: false };
  child.status.then(() => component.exited = true);
  return component;
}

/**
 * SIGTERM to every Airflow component at once, then to the broker they talk to (the first
 * started); SIGKILL to any group still there after the grace period; then checks none is left.
 */
async function stopAll(processes: Component[], marker: string): Promise<void> {
  const [broker, ...airflow] = processes;
  await Promise.all(airflow.map(stopGroup));
  if (broker) await stopGroup(broker);
  for (const pid of await markedProcesses(marker)) signal(pid, "SIGKILL");
  await Promise.all(processes.map((p) => p.child.status));
  let left: number[] = [];
  for (let i = 0; i < 20; i++) {
    left = await markedProcesses(marker);
    if (left.length === 0) return;
    await new Promise((done) => setTimeout(done, 250));
  }
  throw new Error(`processes of the Airflow cluster still run after it stopped: ${left}`);
}

async function stopGroup(process: Component): Promise<void> {
  signalGroup(process.child.pid, "SIGTERM");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const exited = await Promise.race([
    process.child.status.then(() => true),
    new Promise<false>((done) => timer = setTimeout(() => done(false), STOP_GRACE_MS)),
  ]);
  clearTimeout(timer);
  if (!exited) signalGroup(process.child.pid, "SIGKILL");
}

/** Processes (other than this one) whose environment carries `marker`. */
export async function markedProcesses(marker: string): Promise<number[]> {
  const needle = new TextEncoder().encode(`${marker}\0`);
  const found: number[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    const pid = Number(entry.name);
    if (!Number.isInteger(pid) || pid === Deno.pid) continue;
    const environ = await Deno.readFile(`/proc/${pid}/environ`).catch(() => undefined);
    if (environ && indexOf(environ, needle) >= 0) found.push(pid);
  }
  return found;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i <= haystack.length - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function signalGroup(pid: number, sig: Deno.Signal): void {
  signal(-pid, sig);
}

function signal(pid: number, sig: Deno.Signal): void {
  try {
    Deno.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

async function restApi(base: string, password: string): Promise<AirflowApi> {
  const login = await fetch(`${base}/auth/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: ADMIN, password }),
  });
  const { access_token: token } = await login.json() as { access_token: string };
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return JSON.parse(text) as T;
  };
  return {
    get: (path) => call("GET", path),
    post: (path, body) => call("POST", path, body),
    patch: (path, body) => call("PATCH", path, body),
  };
}

/** `postgres://…` as SQLAlchemy's psycopg2 URL. */
function sqlAlchemyUrl(url: string): string {
  return url.replace(/^postgres(ql)?:\/\//, "postgresql+psycopg2://");
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

async function redisPing(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      await conn.write(new TextEncoder().encode("PING\r\n"));
      const buffer = new Uint8Array(16);
      const read = await conn.read(buffer);
      return new TextDecoder().decode(buffer.subarray(0, read ?? 0)).startsWith("+PONG");
    } finally {
      conn.close();
    }
  } catch {
    return false;
  }
}

/** Polls `ready` every half second, up to the startup timeout, while every process runs. */
async function waitFor(
  what: string,
  processes: readonly Component[],
  ready: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (!(await ready())) {
    const dead = processes.find((process) => process.exited);
    if (dead) throw new Error(`${dead.name} exited while waiting for ${what}; see its log`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 500));
  }
}
