/**
 * The Apache Airflow DAGs of the pipelines, generated from their definitions so that there is no
 * second definition to keep in sync: one DAG file per pipeline (`extract_load_pipeline.py`,
 * `transform_pipeline.py`), with the same tasks, order, retries, retry delay, timeouts and daily
 * schedule (UTC). Each task is a `BashOperator` that runs `pipelines/cli.ts airflow-task`, which
 * runs the task's own process and records the try in the run ledger; exit codes 2 and 3 fail
 * the Airflow task without using its retries. A pipeline with an upstream waits for the
 * upstream's run of the same ds with an `ExternalTaskSensor`. For the CeleryExecutor: a task that
 * calls the API takes `API_CONCURRENCY` slots of the `randomuser_elt_api` pool (so parallel runs
 * share one budget of requests in flight), and Airflow Variables set `max_active_runs` and route
 * tasks to worker queues.
 *
 * @example
 * ```ts
 * const files = renderAirflowDags(definePipelines(config));
 * await writeAirflowDags("pipelines/airflow", files);
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { AtomicFile } from "../tasks/shared/atomic_file.ts";
import { API_CONCURRENCY_LIMITS } from "../tasks/shared/config.ts";
import { FIRST_LOGICAL_DATE } from "../tasks/shared/dates.ts";
import {
  dailyMinute,
  type PipelineDefinition,
  type PipelineName,
  type TaskDefinition,
} from "./definitions.ts";

/** One generated DAG file. */
export interface AirflowDagFile {
  /** File name, e.g. `extract_load_pipeline.py`. */
  readonly name: string;
  readonly dagId: string;
  readonly text: string;
}

/** Options for {@linkcode renderAirflowDags}. */
export interface AirflowDagOptions {
  /**
   * How long a pipeline waits for its upstream's run of the same ds to succeed; default: as
   * long as the upstream can take with every task using all its tries.
   */
  upstreamTimeoutMs?: number;
  /** How often the wait checks; default 60 s (the sensor frees its worker slot in between). */
  upstreamPokeMs?: number;
}

/** The DAG id of a pipeline in Airflow. */
export function airflowDagId(pipeline: PipelineName): string {
  return `${pipeline}_pipeline`;
}

/** Renders one DAG file per pipeline. Throws a RangeError for a schedule that is not daily. */
export function renderAirflowDags(
  pipelines: Readonly<Record<PipelineName, PipelineDefinition>>,
  options: AirflowDagOptions = {},
): AirflowDagFile[] {
  return Object.values(pipelines).map((pipeline) => {
    const dagId = airflowDagId(pipeline.name);
    const upstream = pipeline.upstream ? pipelines[pipeline.upstream] : undefined;
    const tasks = allTaskIds(pipelines);
    return {
      name: `${dagId}.py`,
      dagId,
      text: dagFile(pipeline, { upstream, tasks, ...options }),
    };
  });
}

/** Writes the files into `dir` (created if needed), each atomically: a parser never sees half. */
export async function writeAirflowDags(
  dir: string,
  files: readonly AirflowDagFile[],
): Promise<void> {
  for (const file of files) {
    const out = await AtomicFile.create(join(dir, file.name));
    try {
      await ReadableStream.from([new TextEncoder().encode(file.text)]).pipeTo(out.writable, {
        preventClose: true,
      });
      await out.commit();
    } catch (error) {
      await out.abort();
      throw error;
    }
  }
}

/** The task ids of every DAG, sensors included: the keys `randomuser_elt_queues` may name. */
function allTaskIds(pipelines: Readonly<Record<PipelineName, PipelineDefinition>>): string[] {
  return Object.values(pipelines).flatMap((pipeline) => [
    ...(pipeline.upstream ? [sensorId(pipeline.upstream)] : []),
    ...pipeline.tasks.map((task) => task.name),
  ]);
}

function sensorId(upstream: PipelineName): string {
  return `wait_for_${upstream}`;
}

function dagFile(
  pipeline: PipelineDefinition,
  options: AirflowDagOptions & { upstream: PipelineDefinition | undefined; tasks: string[] },
): string {
  const { upstream } = options;
  const order = pipeline.tasks.map((task) => task.name).join(" >> ");
  const minutes = dailyMinute(pipeline.schedule);
  const schedule = `CronTriggerTimetable(${py(pipeline.schedule)}, timezone="UTC", ` +
    `interval=${timedelta(minutes * 60_000)})`;
  const defaultArgs = `{"retries": ${pipeline.retries}, ` +
    `"retry_delay": ${timedelta(pipeline.retryDelayMs)}}`;
  const tasks = pipeline.tasks.map((task) =>
    `    ${identifier(task.name)} = pipeline_task(${py(task.name)}, ` +
    `timeout=${timedelta(task.timeoutMs)}${task.callsApi ? ", calls_api=True" : ""})\n`
  ).join("");
  const chain = [
    ...(upstream ? ["wait_for_upstream"] : []),
    ...pipeline.tasks.map((task) => identifier(task.name)),
  ].join(" >> ");
  const waits = upstream
    ? `\nIt runs for a ds only after that ds's \`\`${upstream.name}\`\` run succeeded in Airflow.\n`
    : "";
  const sensorImport = upstream
    ? "from airflow.providers.standard.sensors.external_task import ExternalTaskSensor\n"
    : "";
  return `${HEADER}"""randomuser-elt's \`\`${pipeline.name}\`\` pipeline as an Airflow DAG: ${order}.
${waits}${MODULE_DOC}"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

from airflow.providers.standard.operators.bash import BashOperator
${sensorImport}from airflow.sdk import DAG, CronTriggerTimetable, Variable
from airflow.sdk.exceptions import AirflowException, AirflowFailException

PIPELINE = ${py(pipeline.name)}
# The tasks of both DAGs: the keys the Variable randomuser_elt_queues may name.
TASK_IDS = (${options.tasks.map(py).join(", ")})
${PREAMBLE}


with DAG(
    dag_id=${py(airflowDagId(pipeline.name))},
    description=${py(`randomuser-elt ${pipeline.name}: ${order}`)},
    # Daily at ${clock(minutes)} UTC. The interval makes a run's logical date midnight, so {{ ds }}
    # is the day it runs on, as with \`deno task start\`, and both DAGs' runs of a ds share it.
    schedule=${schedule},
    start_date=_date("PIPELINE_START_DATE"),
    catchup=_flag("CATCHUP", default=False),
    max_active_runs=MAX_ACTIVE_RUNS,
    default_args=${defaultArgs},
    user_defined_macros={"checkout": _checkout()},
    tags=["randomuser-elt"],
) as dag:
${upstream ? upstreamSensor(upstream, options) : ""}${tasks}
    ${chain}
`;
}

function upstreamSensor(upstream: PipelineDefinition, options: AirflowDagOptions): string {
  const timeoutMs = options.upstreamTimeoutMs ?? longestRun(upstream);
  return `    # Waits for the ${upstream.name} run of the same logical date to succeed. While that run fails,
    # this one waits (clear the failed tasks in Airflow to run them again), at most as long as
    # ${upstream.name} can take with every task using all its tries.
    wait_for_upstream = ExternalTaskSensor(
        task_id=${py(sensorId(upstream.name))},
        **_queue(${py(sensorId(upstream.name))}),
        external_dag_id=${py(airflowDagId(upstream.name))},
        external_task_id=None,
        allowed_states=["success"],
        mode="reschedule",
        poke_interval=${timedelta(options.upstreamPokeMs ?? 60_000)},
        timeout=${timedelta(timeoutMs)},
    )
`;
}

/** `HH:MM` of minutes past midnight. */
function clock(minutes: number): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`;
}

/** The longest a run can take: every task times out on every try, with the delays between. */
function longestRun(pipeline: PipelineDefinition): number {
  const tries = 1 + pipeline.retries;
  return pipeline.tasks.reduce(
    (sum: number, task: TaskDefinition) =>
      sum + task.timeoutMs * tries + pipeline.retryDelayMs * pipeline.retries,
    0,
  );
}

/** A Python `timedelta` in the largest unit that states `ms` exactly. */
function timedelta(ms: number): string {
  if (ms === 0) return "timedelta(0)";
  const units = [["hours", 3_600_000], ["minutes", 60_000], ["seconds", 1_000]] as const;
  for (const [unit, size] of units) if (ms % size === 0) return `timedelta(${unit}=${ms / size})`;
  return `timedelta(milliseconds=${ms})`;
}

/** A Python string literal (JSON's escapes are Python's for these ASCII names). */
function py(text: string): string {
  return JSON.stringify(text);
}

function identifier(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) {
    throw new RangeError(`task name ${JSON.stringify(name)} is not a Python identifier`);
  }
  return name;
}

const HEADER =
  `# Generated by \`deno task airflow:dags\` from pipelines/definitions.ts: do not edit. Change the
# definitions and regenerate; tests/airflow_dags_test.ts fails while this file is stale.
`;

const MODULE_DOC = `
Each task of the pipeline is a BashOperator that runs \`\`pipelines/cli.ts airflow-task\`\`: that
records the try in the project's run ledger (\`\`deno task status\`\`), runs the very process
\`\`deno task run\`\` starts for the task, with the run's \`\`ds\`\`, and exits with the task's
code: 0 ok, 1 transient failure (Airflow retries it), 2 usage or configuration error and
3 terminal failure (the task fails at once, without using its retries).

Airflow Variables (or AIRFLOW_VAR_<NAME> environment variables) where the tasks run:

    randomuser_elt_dir      the project checkout (default: the checkout that holds this file)
    randomuser_elt_workdir  the tasks' working directory, where .env and a relative DATA_DIR
                            resolve (default: randomuser_elt_dir)
    randomuser_elt_deno     the deno executable (default: deno on PATH)

and where this file is parsed (a change shows once the DAG processor parses it again):

    randomuser_elt_max_active_runs  runs of this DAG at once (default 1); a backfill has its own
                                    (airflow backfill create --max-active-runs N)
    randomuser_elt_queues           JSON object: task id -> Celery queue (default: every task on
                                    the default queue), e.g. {"extract": "api"}

The tasks inherit the worker's environment: DATABASE_URL, RANDOMUSER_API_URL and the rest of
the configuration. CATCHUP, PIPELINE_START_DATE and API_CONCURRENCY are read where this file is
parsed, with the meaning they have for \`\`deno task start\`\`. A task that calls the API runs in
the pool randomuser_elt_api and takes API_CONCURRENCY of its slots, so the pool's size bounds the
API requests in flight over all runs together; create it once:

    airflow pools set randomuser_elt_api 4 "randomuser-elt: API requests in flight"

The tasks of one run may run on different workers that share no disk: a load whose CSV is on
another worker decides from the batch the warehouse holds (docs/airflow.md).
`;

const PREAMBLE = `
# The task processes' exit codes that a retry cannot fix.
TERMINAL_EXIT_CODES = {2: "usage or configuration error", 3: "terminal failure"}

# The pool that bounds the API requests in flight over all runs (see the module's doc).
API_POOL = "randomuser_elt_api"

# Where the tasks run, from Airflow Variables rendered when each task starts.
_PROJECT_DIR = "var.value.get('randomuser_elt_dir', checkout)"
TASK_ENV = {
    "RANDOMUSER_ELT_DIR": "{{ " + _PROJECT_DIR + " }}",
    "RANDOMUSER_ELT_DENO": "{{ var.value.get('randomuser_elt_deno', 'deno') }}",
}
TASK_CWD = "{{ var.value.get('randomuser_elt_workdir', " + _PROJECT_DIR + ") }}"


class PipelineTaskOperator(BashOperator):
    """A BashOperator that fails at once, without its retries, when its command exits 2 or 3."""

    def execute(self, context):
        checkout = (self.env or {}).get("RANDOMUSER_ELT_DIR", "")
        if not os.path.isabs(checkout) or not os.path.isfile(os.path.join(checkout, "deno.json")):
            raise AirflowFailException(
                f"no randomuser-elt checkout at {checkout!r}: set the Airflow Variable "
                "randomuser_elt_dir (or AIRFLOW_VAR_RANDOMUSER_ELT_DIR) to its absolute path"
            )
        try:
            return super().execute(context)
        except AirflowException as error:
            process = self.subprocess_hook.sub_process
            code = None if process is None else process.returncode
            if code in TERMINAL_EXIT_CODES:
                raise AirflowFailException(
                    f"{self.task_id} exited with {code} ({TERMINAL_EXIT_CODES[code]}); "
                    "not retried: its error line is in the log above"
                ) from error
            raise


def pipeline_task(
    task: str, *, timeout: timedelta, calls_api: bool = False
) -> PipelineTaskOperator:
    """The task \`\`task\`\` of the pipeline, run for the DAG run's ds."""
    api = {"pool": API_POOL, "pool_slots": API_CONCURRENCY} if calls_api else {}
    return PipelineTaskOperator(
        task_id=task,
        bash_command=(
            '"$RANDOMUSER_ELT_DENO" run -A --config "$RANDOMUSER_ELT_DIR/deno.json" '
            f'"$RANDOMUSER_ELT_DIR/pipelines/cli.ts" airflow-task {PIPELINE} {task} '
            '--ds {{ ds }} --run-id "$AIRFLOW_CTX_DAG_RUN_ID" --try {{ ti.try_number }} '
            "--retries {{ task.retries }}"
        ),
        # A task that calls the API runs with as many requests at once as it holds pool slots.
        env={**TASK_ENV, "API_CONCURRENCY": str(API_CONCURRENCY)} if calls_api else TASK_ENV,
        append_env=True,
        cwd=TASK_CWD,
        skip_on_exit_code=None,
        execution_timeout=timeout,
        do_xcom_push=False,
        **api,
        **_queue(task),
    )


def _checkout() -> str:
    """The project checkout that holds this file in pipelines/airflow/, or "" if copied out."""
    parents = Path(__file__).resolve().parents
    root = parents[2] if len(parents) > 2 else None
    return str(root) if root is not None and (root / "deno.json").is_file() else ""


def _flag(name: str, *, default: bool) -> bool:
    """A true/false environment variable, read as randomuser-elt reads it."""
    value = os.environ.get(name, "")
    if value == "":
        return default
    if value in ("true", "1", "yes", "false", "0", "no"):
        return value in ("true", "1", "yes")
    raise ValueError(f"invalid configuration: {name} must be true or false (got {value!r})")


def _date(name: str) -> datetime | None:
    """A YYYY-MM-DD environment variable, as midnight UTC, read as randomuser-elt reads it."""
    value = os.environ.get(name, "")
    if value == "":
        return None
    try:
        if not re.fullmatch(r"\\d{4}-\\d{2}-\\d{2}", value):
            raise ValueError(value)
        date = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=timezone.utc)
    except ValueError:
        raise ValueError(
            f"invalid configuration: {name} must be a date in the form YYYY-MM-DD (got {value!r})"
        ) from None
    # The tasks refuse an earlier --ds: every run of the DAG must be one they accept.
    if value < ${py(FIRST_LOGICAL_DATE)}:
        raise ValueError(
            f"invalid configuration: {name} must be ${FIRST_LOGICAL_DATE} or later (got {value!r})"
        )
    return date


def _count(what: str, value: str, *, high: int) -> int:
    """A whole number from 1 to \`\`high\`\`, or a ValueError naming \`\`what\`\`."""
    if not re.fullmatch(r"[0-9]+", value) or not 1 <= int(value) <= high:
        raise ValueError(
            f"invalid configuration: {what} must be a whole number from 1 to {high} (got {value!r})"
        )
    return int(value)


def _queues() -> dict[str, str]:
    """The Variable randomuser_elt_queues: task id -> Celery queue."""
    text = Variable.get("randomuser_elt_queues", default=None)
    if text is None:
        return {}
    error = "invalid Airflow Variable randomuser_elt_queues: "
    try:
        queues = json.loads(text)
    except ValueError:
        raise ValueError(f"{error}not JSON (got {text!r})") from None
    if not isinstance(queues, dict) or not all(isinstance(q, str) and q for q in queues.values()):
        raise ValueError(
            f"{error}it must be a JSON object of task ids to queue names (got {text!r})"
        )
    unknown = sorted(set(queues) - set(TASK_IDS))
    if unknown:
        raise ValueError(f"{error}no task {', '.join(unknown)}; the tasks: {', '.join(TASK_IDS)}")
    return queues


def _queue(task: str) -> dict[str, str]:
    """The operator argument that routes \`\`task\`\` to its queue, if it has one."""
    return {"queue": QUEUES[task]} if task in QUEUES else {}


API_CONCURRENCY = _count(
    "API_CONCURRENCY",
    os.environ.get("API_CONCURRENCY") or "${API_CONCURRENCY_LIMITS.fallback}",
    high=${API_CONCURRENCY_LIMITS.max},
)
MAX_ACTIVE_RUNS = _count(
    "the Airflow Variable randomuser_elt_max_active_runs",
    Variable.get("randomuser_elt_max_active_runs", default="1"),
    high=1000,
)
QUEUES = _queues()`;
