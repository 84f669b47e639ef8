"""Uploaded files: kept private (0600 in a 0700 folder) and only while their import needs them.

A batch's file is deleted when the batch is done or has failed for good (the file itself
cannot be imported); one that stopped unexpectedly keeps it, so it can be resumed. What
staff need afterwards is in the database: the counts, and every row not stored with its
cells and reasons (the report). Files given to `flask import-actors` are the operator's own
and are never deleted: only files inside the upload folder are. `flask purge-uploads`
removes what is left over (batches left unresumed, files of requests that died).
"""
from __future__ import annotations

import os
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.clock import as_utc
from registry.config import private_folder
from registry.imports.models import FILE_GONE, ImportBatch

PRIVATE_FILE = 0o600
SUFFIXES = (".csv", ".tsv", ".txt", ".zip", ".xlsx", ".xls", ".ods")
ORPHAN_AFTER = timedelta(days=1)


def save_upload(stream: IO[bytes], folder: Path, filename: str) -> Path:
    """Write an upload under a random name (mode 0600, never over another file)."""
    suffix = Path(filename).suffix.lower()
    path = private_folder(folder) / f"{uuid.uuid4().hex}{suffix if suffix in SUFFIXES else '.bin'}"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    try:
        with os.fdopen(descriptor, "wb") as out:
            while block := stream.read(1 << 20):
                out.write(block)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def is_upload(stored_path: str | Path, folder: Path) -> bool:
    """True when `stored_path` is a file this app stored in `folder` (not an operator's file)."""
    try:
        return Path(stored_path).resolve().parent == folder.resolve()
    except (OSError, ValueError):
        return False


def discard_upload(stored_path: str | Path, folder: Path) -> bool:
    """Delete a batch's uploaded file if it is one of ours; True when a file was deleted."""
    if not is_upload(stored_path, folder):
        return False
    try:
        Path(stored_path).unlink()
    except FileNotFoundError:
        return False
    return True


def purge_uploads(session: Session, folder: Path, *, now: datetime, keep_unfinished: timedelta) -> list[Path]:
    """Delete the files in `folder` that no import needs (flush only); return them.

    Those of batches that ended (files left from before their batch ended, or from before
    this rule), of batches that stopped and were left unresumed for `keep_unfinished` (they
    are marked failed for good: the file is gone), and files of no batch older than a day
    (an upload whose request died before its batch was recorded)."""
    if not folder.is_dir():
        return []
    files = {path.resolve(): path for path in folder.iterdir() if path.is_file()}
    batches: dict[Path, ImportBatch] = {}
    for batch in session.scalars(select(ImportBatch)):
        stored = Path(batch.stored_path).resolve()
        if stored in files:
            batches[stored] = batch
    deleted = []
    for resolved, path in files.items():
        batch = batches.get(resolved)
        if batch is None:
            stale = now - datetime.fromtimestamp(path.stat().st_mtime, timezone.utc) > ORPHAN_AFTER
        elif batch.status == "done" or (batch.status == "failed" and not batch.resumable):
            stale = True
        else:
            last_seen = as_utc(batch.heartbeat_at or batch.created_at)
            stale = now - last_seen > keep_unfinished
            if stale:
                batch.status, batch.failure = "failed", {"message": FILE_GONE, "params": {}}
        if stale:
            path.unlink(missing_ok=True)
            deleted.append(path)
    session.flush()
    return deleted
