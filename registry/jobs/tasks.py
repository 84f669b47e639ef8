"""What the workers run. Each job takes ids only and runs in the app its worker built once
(registry.jobs.worker); a job run by a plain `rq worker` builds the app from the environment."""
from __future__ import annotations

import logging
import os
import time

from flask import Flask

from registry.extensions import db
from registry.imports.models import ImportBatch
from registry.imports.runner import BatchBusy, queue_duplicates, run_import, settings
from registry.jobs.queue import enqueue_duplicates

log = logging.getLogger(__name__)
# The app and name of this worker process, set by `flask worker` before its first job (the
# work horse, a fork, inherits them).
_worker: dict[str, object] = {}


def serve_jobs_with(app: Flask, name: str) -> None:
    _worker.update(app=app, name=name)


def _app() -> Flask:
    if "app" not in _worker:
        from registry import create_app  # a plain `rq worker`: the app as the environment configures it

        _worker["app"] = create_app()
    return _worker["app"]  # type: ignore[return-value]


def _name() -> str | None:
    return str(_worker.get("name") or os.environ.get("RQ_WORKER_ID") or "") or None


def import_batch(batch_id: int) -> str:
    """Import (or resume, from its last committed chunk) one batch; return its final status.

    When another run holds the batch (its heartbeat is fresh: a worker whose parent was
    killed leaves its work horse running), wait: that run ends it, or goes silent and this
    job takes it over. So a job retried after a worker's death never ends with nobody on it."""
    app = _app()
    with app.app_context():
        try:
            while True:
                try:
                    batch = run_import(db.session, batch_id, worker=_name(), find_duplicates=False)
                except BatchBusy:
                    status = db.session.scalar(db.select(ImportBatch.status).where(ImportBatch.id == batch_id))
                    db.session.rollback()
                    if status != "running":
                        return status or "missing"  # done, failed for good, or never ours to run
                    time.sleep(max(1.0, settings()[1].total_seconds() / 4))
                    continue
                status = batch.status
                if status == "done":
                    enqueue_duplicates(app, batch_id)
                return status
        finally:
            db.session.remove()


def find_duplicates(batch_id: int) -> None:
    """The review queue's candidates of a finished batch (its own job: see enqueue_duplicates)."""
    app = _app()
    with app.app_context():
        try:
            queue_duplicates(db.session, batch_id)
        finally:
            db.session.remove()
