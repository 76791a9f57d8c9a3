"""The hostname a test's Celery worker reports to Airflow (``[core] hostname_callable``).

Both workers of the distributed Airflow test run on one machine; each is started with its own
RELT_WORKER_NAME, so Airflow's task instances say which worker ran them, as distinct hosts would.
"""

import os


def hostname() -> str:
    return os.environ["RELT_WORKER_NAME"]
