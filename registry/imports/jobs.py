"""Imports on the job queue (registry.jobs): one door, `start_batch`, for the web and the
command line, and the two jobs a worker runs for a batch."""
from __future__ import annotations

import logging
import time
import uuid

from flask import Flask
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.orm import Session

from registry import clock
from registry.extensions import db
from registry.imports.models import ImportBatch
from registry.imports.runner import BatchBusy, queue_duplicates, run_import, settings, start_in_background
from registry.jobs.queue import enqueue, is_pending, job_exists, uses_queue
from registry.jobs.worker import worker_app, worker_name

log = logging.getLogger(__name__)


def start_batch(app: Flask, session: Session, batch_id: int) -> None:
    """Start (or resume) importing a committed batch: a job on the queue when Redis is
    configured, else a thread of this process (`make run` without Redis). Redis not
    answering loses nothing: the batch waits, and a worker queues it (`requeue_lost`)."""
    if not uses_queue(app):
        start_in_background(app, batch_id)
        return
    try:
        enqueue_import(app, session, batch_id)
    except RedisError:
        session.rollback()
        log.warning("import batch %s: the job queue did not answer; a worker will queue it", batch_id)


def enqueue_import(app: Flask, session: Session, batch_id: int) -> str | None:
    """Put the batch's import on the queue (its job id committed first, so that no job is
    without its batch); None when a job of the batch is already waiting or running."""
    batch = session.get(ImportBatch, batch_id)
    if batch is None:
        raise LookupError(batch_id)
    if batch.job_id and is_pending(app, batch.job_id):
        session.rollback()
        return None
    job_id = batch.job_id = f"import-{batch_id}-{uuid.uuid4().hex[:12]}"
    session.commit()
    return enqueue(app, "registry.imports.jobs.import_batch", batch_id, job_id=job_id,
                   description=f"import batch {batch_id}")


def requeue_lost(app: Flask) -> list[int]:
    """Put on the queue again the batches whose job Redis no longer has (Redis restarted
    without its data, or did not answer when the batch was started): waiting ones, and
    running ones whose heartbeat is stale. Run by the workers' maintenance; returns them."""
    with app.app_context():
        try:
            stale_before = clock.now() - settings()[1]
            lost = db.session.execute(select(ImportBatch.id, ImportBatch.job_id).where(
                ImportBatch.job_id.is_not(None),
                (ImportBatch.status == "queued")
                | ((ImportBatch.status == "running") & (ImportBatch.heartbeat_at <= stale_before)),
            )).all()
            db.session.rollback()
            requeued = [batch_id for batch_id, job_id in lost
                        if not job_exists(app, job_id) and enqueue_import(app, db.session, batch_id)]
        finally:
            db.session.remove()
    for batch_id in requeued:
        log.warning("import batch %s: its job was lost by the job queue; queued again", batch_id)
    return requeued


def import_batch(batch_id: int) -> str:
    """Job: import (or resume, from its last committed chunk) one batch; its final status.

    When another run holds the batch (its heartbeat is fresh: a worker killed alone leaves
    its work horse running), wait: that run ends it, or goes silent and this job takes it
    over. So a job run again after a worker's death never ends with nobody on the batch."""
    app = worker_app()
    with app.app_context():
        try:
            while True:
                try:
                    batch = run_import(db.session, batch_id, worker=worker_name(), find_duplicates=False)
                except BatchBusy:
                    status = db.session.scalar(db.select(ImportBatch.status).where(ImportBatch.id == batch_id))
                    db.session.rollback()
                    if status != "running":
                        return status or "missing"  # done, failed for good, or not to be run
                    time.sleep(max(1.0, settings()[1].total_seconds() / 4))
                    continue
                if batch.status == "done":
                    # About 45 s and 510 MB at a million rows: a job of its own, so that it
                    # neither holds this job (the batch is done for staff now) nor its memory.
                    enqueue(app, "registry.imports.jobs.find_duplicates", batch_id,
                            description=f"duplicates of import batch {batch_id}")
                return batch.status
        finally:
            db.session.remove()


def find_duplicates(batch_id: int) -> None:
    """Job: the review queue's candidates of a finished batch (runner.queue_duplicates)."""
    app = worker_app()
    with app.app_context():
        try:
            queue_duplicates(db.session, batch_id)
        finally:
            db.session.remove()
