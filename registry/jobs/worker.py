"""The worker behind `flask worker`: RQ on the imports queue, any number of them, on any host.

RQ's forking `Worker`, not `SimpleWorker`, by choice: each job runs in a work horse forked
from the worker, while the worker itself proves to Redis every JOB_HEARTBEAT_SECONDS that
the job is alive. A SimpleWorker sends no heartbeat during a job, so a killed one's job
would count as abandoned only after the job's whole timeout (hours for a national import).
The fork also gives back the import's memory (510 MB at a million rows) after every job,
and a horse killed alone (the kernel's OOM killer) is seen at once by its worker, which
retries the job (Retry). A whole worker killed (its host lost) stops the heartbeats: RQ's
StartedJobRegistry cleanup, run by every worker's maintenance, hands its job to the next
worker (AbandonedJobError, then Retry), and the import resumes from its last committed
chunk (imports.runner.claim takes over the batch once its own heartbeat is stale).
"""
from __future__ import annotations

import logging
import os
import socket
from typing import Callable, Sequence

from flask import Flask
from rq import Worker
from rq.job import Job
from rq.queue import Queue

from registry.extensions import db
from registry.jobs.queue import queue_of, redis_of

log = logging.getLogger(__name__)
MAINTENANCE_LOCK = "registry:worker-maintenance"
# The app and name of this worker process, set by `run_worker` before its first job (the
# work horse, a fork, inherits them).
_this_worker: dict[str, object] = {}


class NotAWorker(RuntimeError):
    """A job run outside `flask worker` (a plain `rq worker`), which built no app."""


def worker_app() -> Flask:
    """The app this worker built once, for its jobs' app contexts."""
    if "app" not in _this_worker:
        raise NotAWorker("registry jobs run in `flask --app registry worker`, which builds the app once")
    return _this_worker["app"]  # type: ignore[return-value]


def worker_name() -> str | None:
    return _this_worker.get("name")  # type: ignore[return-value]


def default_name() -> str:
    """host.pid: readable on the batch page, unique among live workers."""
    return f"{socket.gethostname()}.{os.getpid()}"


class RegistryWorker(Worker):
    """RQ's Worker with the app's timings, and no database connection shared across fork."""

    def __init__(self, app: Flask, *, name: str, maintenance: Sequence[Callable[[Flask], object]] = ()) -> None:
        heartbeat, every = app.config["JOB_HEARTBEAT_SECONDS"], app.config["JOB_MAINTENANCE_SECONDS"]
        super().__init__(
            [queue_of(app)], name=name, connection=redis_of(app), job_monitoring_interval=heartbeat,
            maintenance_interval=every,
            # An idle worker waits for a job this long (RQ: worker_ttl - 15), then does its
            # maintenance (abandoned jobs of dead workers) when it is due.
            worker_ttl=every + 15,
            log_job_description=True,  # "import batch 12": ids only
        )
        self.app, self.maintenance = app, tuple(maintenance)

    def run_maintenance_tasks(self) -> None:
        """RQ's own (abandoned jobs handed on), then the features' (`maintenance`), by one
        worker at a time; a failure is logged and the worker goes on."""
        super().run_maintenance_tasks()
        interval = self.app.config["JOB_MAINTENANCE_SECONDS"]
        if not self.maintenance or not self.connection.set(MAINTENANCE_LOCK, self.name, nx=True, ex=interval):
            return
        for task in self.maintenance:
            try:
                task(self.app)
            except Exception:  # noqa: BLE001 - the next round tries again
                log.exception("worker maintenance %s failed", getattr(task, "__name__", task))

    def get_heartbeat_ttl(self, job: Job) -> int:
        """A job is abandoned after three missed heartbeats (RQ adds 60 s to one: the
        same 90 s at its default 30 s heartbeat, and seconds in the tests)."""
        interval = self.job_monitoring_interval
        if job.timeout and job.timeout > 0:
            return max(1, int(min(job.timeout - self.current_job_working_time, interval))) + 2 * interval
        return 3 * interval

    def main_work_horse(self, job: Job, queue: Queue) -> None:
        # The horse is a fork: it must not use the worker's pooled connections (closing
        # them here would close the worker's too), it opens its own.
        with self.app.app_context():
            db.engine.dispose(close=False)
        super().main_work_horse(job, queue)


def run_worker(app: Flask, *, name: str | None = None, burst: bool = False,
               maintenance: Sequence[Callable[[Flask], object]] = ()) -> bool:
    """Work the imports queue (until stopped; with `burst`, until it is empty), running
    `maintenance` with RQ's own every JOB_MAINTENANCE_SECONDS."""
    name = name or default_name()
    _this_worker.update(app=app, name=name)
    with app.app_context():
        db.engine.dispose()  # nothing pooled from start-up is inherited by a horse
    worker = RegistryWorker(app, name=name, maintenance=maintenance)
    return worker.work(burst=burst, logging_level="INFO")
