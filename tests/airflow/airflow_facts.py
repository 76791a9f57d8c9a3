"""Prints, as one line of JSON, what the Airflow test checks, as Airflow itself sees it.

    python airflow_facts.py dags DAGS_FOLDER [ENVIRONMENTS]
                                               Airflow's version, and the DAGs parsed from the
                                               folder with their import errors: once, or once
                                               per environment of the JSON list ENVIRONMENTS
                                               (each added to this process's while the folder is
                                               parsed), in one process rather than one each
    python airflow_facts.py runs DAG_ID        the DAG's runs in the metadata database, with every
                                               try of every task (earlier tries included)
"""

import json
import os
import sys
from datetime import datetime, timezone

from airflow import __version__
from airflow.dag_processing.dagbag import DagBag
from airflow.providers.standard.operators.bash import BashOperator
from airflow.serialization.encoders import coerce_to_core_timetable
from airflow.timetables.base import TimeRestriction


def seconds(delta):
    """A timedelta, or a number of seconds as sensors keep it, in seconds."""
    if delta is None or isinstance(delta, (int, float)):
        return delta
    return delta.total_seconds()


def first_runs(dag, count):
    """The first `count` scheduled runs from 2026-01-01: when each starts, and its logical date."""
    timetable = coerce_to_core_timetable(dag.timetable)
    restriction = TimeRestriction(
        earliest=datetime(2026, 1, 1, tzinfo=timezone.utc), latest=None, catchup=True
    )
    runs, last = [], None
    for _ in range(count):
        info = timetable.next_dagrun_info(
            last_automated_data_interval=last, restriction=restriction
        )
        runs.append(
            {"run_after": info.run_after.isoformat(), "logical_date": info.logical_date.isoformat()}
        )
        last = info.data_interval
    return runs


def task_properties(task):
    return {
        "task_id": task.task_id,
        "operator": type(task).__name__,
        "bash_operator": isinstance(task, BashOperator),
        "bash_command": getattr(task, "bash_command", None),
        "retries": task.retries,
        "retry_delay_s": seconds(task.retry_delay),
        "execution_timeout_s": seconds(task.execution_timeout),
        "upstream": sorted(task.upstream_task_ids),
        "external_dag_id": getattr(task, "external_dag_id", None),
        "pool": task.pool,
        "pool_slots": task.pool_slots,
        "queue": task.queue,
        "env": getattr(task, "env", None),
        "timeout_s": seconds(getattr(task, "timeout", None)) if hasattr(task, "poke") else None,
    }


def dags(folder):
    bag = DagBag(dag_folder=folder)
    dags = {}
    for dag_id, dag in sorted(bag.dags.items()):
        dags[dag_id] = {
            "timetable": type(dag.timetable).__name__,
            "first_runs": first_runs(dag, 2),
            "catchup": dag.catchup,
            "start_date": None if dag.start_date is None else dag.start_date.isoformat(),
            "max_active_runs": dag.max_active_runs,
            "tasks": [task_properties(task) for task in dag.topological_sort()],
        }
    return {"import_errors": bag.import_errors, "dags": dags}


def parsed_with(folder, environments):
    """The folder parsed with each environment in turn, each added to this process's."""
    results = []
    for extra in environments:
        saved = {name: os.environ.get(name) for name in extra}
        os.environ.update(extra)
        try:
            results.append(dags(folder))
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
    return {"version": __version__, "parsed": results}


def runs(dag_id):
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.taskinstancehistory import TaskInstanceHistory
    from airflow.utils.session import create_session
    from sqlalchemy import select

    def tries_of(model, run_id):
        rows = session.scalars(select(model).where(model.dag_id == dag_id, model.run_id == run_id))
        return [
            {"task_id": row.task_id, "try_number": row.try_number, "state": row.state,
             "start_date": None if row.start_date is None else row.start_date.isoformat()}
            for row in rows
        ]

    result = []
    with create_session() as session:
        for run in session.scalars(select(DagRun).where(DagRun.dag_id == dag_id)):
            tries = tries_of(TaskInstanceHistory, run.run_id) + tries_of(TaskInstance, run.run_id)
            tries.sort(key=lambda t: (t["start_date"] or "", t["try_number"]))
            result.append({
                "run_id": run.run_id,
                "logical_date": run.logical_date.isoformat(),
                "state": run.state,
                "tries": tries,
            })
    result.sort(key=lambda run: run["run_id"])
    return result


if __name__ == "__main__":
    command, argument = sys.argv[1:3]
    if command == "dags":
        environments = json.loads(sys.argv[3]) if len(sys.argv) > 3 else [{}]
        print(json.dumps(parsed_with(argument, environments)))
    else:
        print(json.dumps(runs(argument)))
