"""Putting work on the queue: one door, `start_batch`, for the web and the command line.

Jobs carry ids only (never a name or a row): the worker reads the rest from the database.
"""
from __future__ import annotations

import uuid

from flask import Flask
from redis import Redis
from rq import Queue, Retry
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy.orm import Session

from registry.imports.models import ImportBatch
from registry.imports.runner import start_in_background

QUEUE = "imports"
# A job that will still run (or runs now): its batch is not put on the queue twice.
PENDING = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}
FAILED_JOB_DAYS = 7  # how long Redis keeps a failed job (its traceback) for `rq info`


def uses_queue(app: Flask) -> bool:
    return bool(app.config.get("REDIS_URL"))


def redis_of(app: Flask) -> Redis:
    """The app's Redis connection (one pool per process; redis-py starts a new one after fork)."""
    connection = app.extensions.get("registry.redis")
    if connection is None:
        connection = app.extensions["registry.redis"] = Redis.from_url(app.config["REDIS_URL"])
    return connection


def queue_of(app: Flask) -> Queue:
    return Queue(QUEUE, connection=redis_of(app))


def start_batch(app: Flask, session: Session, batch_id: int) -> None:
    """Start (or resume) importing a committed batch: a job on the queue when Redis is
    configured, else a thread of this process (`make run` without Redis)."""
    if uses_queue(app):
        enqueue_import(app, session, batch_id)
    else:
        start_in_background(app, batch_id)


def enqueue_import(app: Flask, session: Session, batch_id: int) -> str | None:
    """Put the batch's import on the queue (commits its job id first, so that a job is never
    without its batch); None when a job of the batch is already waiting or running."""
    batch = session.get(ImportBatch, batch_id)
    if batch is None:
        raise LookupError(batch_id)
    if batch.job_id and _pending(app, batch.job_id):
        session.rollback()
        return None
    job_id = batch.job_id = f"import-{batch_id}-{uuid.uuid4().hex[:12]}"
    session.commit()
    queue_of(app).enqueue(
        "registry.jobs.tasks.import_batch", batch_id, job_id=job_id, description=f"import batch {batch_id}",
        job_timeout=app.config["JOB_TIMEOUT_SECONDS"], retry=Retry(max=app.config["JOB_RETRIES"]),
        failure_ttl=FAILED_JOB_DAYS * 86400,
    )
    return job_id


def enqueue_duplicates(app: Flask, batch_id: int) -> str:
    """The search for possible duplicates of a finished batch, as a job of its own: about 45 s
    and 510 MB at a million rows, so it neither holds the import's job nor its memory."""
    job = queue_of(app).enqueue(
        "registry.jobs.tasks.find_duplicates", batch_id, description=f"duplicates of import batch {batch_id}",
        job_timeout=app.config["JOB_TIMEOUT_SECONDS"], retry=Retry(max=app.config["JOB_RETRIES"]),
        failure_ttl=FAILED_JOB_DAYS * 86400,
    )
    return job.id


def _pending(app: Flask, job_id: str) -> bool:
    try:
        return Job.fetch(job_id, connection=redis_of(app)).get_status() in PENDING
    except (NoSuchJobError, InvalidJobOperation):  # expired, or Redis lost it: not pending
        return False
