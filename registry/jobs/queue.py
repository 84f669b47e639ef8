"""The queue itself (RQ on the app's Redis), for any feature that puts work on it.

Jobs carry ids only (never a name or a row): the worker reads the rest from the database.
"""
from __future__ import annotations


from flask import Flask
from redis import Redis
from rq import Queue, Retry
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job, JobStatus

QUEUE = "imports"  # one queue: imports and the work that follows them
# A job that will still run (or runs now).
PENDING = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}
FAILED_JOB_DAYS = 7  # how long Redis keeps a failed job (its traceback) for `rq info`


def uses_queue(app: Flask) -> bool:
    """Whether work goes on the queue (REGISTRY_REDIS_URL is set)."""
    return bool(app.config.get("REDIS_URL"))


def redis_of(app: Flask) -> Redis:
    """The app's Redis connection (one pool per process; redis-py starts a new one after fork)."""
    connection = app.extensions.get("registry.redis")
    if connection is None:
        connection = app.extensions["registry.redis"] = Redis.from_url(app.config["REDIS_URL"])
    return connection


def queue_of(app: Flask) -> Queue:
    return Queue(QUEUE, connection=redis_of(app))


def enqueue(app: Flask, function: str, *ids: int, description: str, job_id: str | None = None) -> str:
    """Put `function` (a dotted path) on the queue with `ids`; a job that stops (a crash, a
    kill, its worker lost) is run again up to JOB_RETRIES times, at once."""
    job = queue_of(app).enqueue(
        function, *ids, job_id=job_id, description=description,
        job_timeout=app.config["JOB_TIMEOUT_SECONDS"], retry=Retry(max=app.config["JOB_RETRIES"]),
        failure_ttl=FAILED_JOB_DAYS * 86400,
    )
    return job.id


def is_pending(app: Flask, job_id: str) -> bool:
    """The job is waiting or running (not finished, failed, or forgotten by Redis)."""
    try:
        return Job.fetch(job_id, connection=redis_of(app)).get_status() in PENDING
    except (NoSuchJobError, InvalidJobOperation):  # expired, or Redis lost it: not pending
        return False




def job_exists(app: Flask, job_id: str) -> bool:
    """Redis still has the job (in whatever state)."""
    return Job.exists(job_id, connection=redis_of(app))
