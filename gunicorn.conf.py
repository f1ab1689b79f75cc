"""gunicorn's settings file (read from the working directory): an access log that redacts
passwords (`vipplatform.accesslog`), and the Prometheus metrics of
several worker processes. With PROMETHEUS_MULTIPROC_DIR set, each worker writes its metrics to
files there and `/metrics` adds them up; the directory is emptied when gunicorn starts, and a
worker that exits is marked dead so its live gauges drop out (its counters stay counted)."""

import os
from pathlib import Path

# The access log without the passwords the old front end sends in query strings.
logger_class = "vipplatform.accesslog.AccessLogger"

# A sync worker is killed after `timeout` seconds without finishing a request. The admin's
# 「导出CSV」 streams a list for as long as it takes (a million orders: 30 s on two cores), so
# the limit is 120 s rather than gunicorn's 30: a larger export is narrowed by its dates.
timeout = 120


def on_starting(server):
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        for stale in Path(directory).glob("*.db"):
            stale.unlink()


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
