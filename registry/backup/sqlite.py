"""SQLite: a copy by the online backup API (one read snapshot: under WAL the app goes on
writing meanwhile), measured, gzipped; restored by the same API into the empty file."""
from __future__ import annotations

import gzip
import os
import shutil
import sqlite3
import tempfile
import zlib
from pathlib import Path
from typing import Any, Callable, Iterable

from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from registry.backup.archive import CHUNK, BackupRefused

PAYLOAD = "database.sqlite3.gz"
BUSY_MS = 30_000


def dump(database: Path, work: Path, *, measure: Callable[[Session], dict[str, Any]]) -> tuple[Path, dict[str, Any]]:
    """The database copied into `work`, its figures, and the gzipped copy (the payload)."""
    if not database.is_file():
        raise BackupRefused(f"no SQLite database at {database}")
    copy = work / "database.sqlite3"
    source = sqlite3.connect(database, timeout=BUSY_MS / 1000)
    destination = sqlite3.connect(copy)
    try:
        source.backup(destination)  # every page in one step: one consistent snapshot
        destination.execute("PRAGMA journal_mode = DELETE")  # a self-contained file, no -wal beside it
    finally:
        destination.close()
        source.close()
    engine = create_engine(f"sqlite:///{copy}", poolclass=NullPool)
    try:
        with Session(engine) as session:
            figures = measure(session)  # the copy itself: exactly what the payload holds
    finally:
        engine.dispose()
    payload = work / PAYLOAD
    with copy.open("rb") as raw, payload.open("wb") as out, \
            gzip.GzipFile(filename="", mode="wb", fileobj=out, compresslevel=6, mtime=0) as packed:
        shutil.copyfileobj(raw, packed, CHUNK)
    copy.unlink()
    return payload, figures


def load(chunks: Iterable[bytes], database: Path) -> None:
    """Unpack the payload beside `database`, check it, then copy it in with the backup API
    (which writes through SQLite's own locking, into the empty file the app will open)."""
    work = Path(tempfile.mkdtemp(dir=database.parent, prefix=".restore-"))
    try:
        copy = work / "database.sqlite3"
        unpack = zlib.decompressobj(wbits=31)  # gzip
        try:
            with copy.open("wb") as out:
                for chunk in chunks:  # raises BackupRefused at the end if the payload is not the manifest's
                    out.write(unpack.decompress(chunk))
                out.write(unpack.flush())
        except zlib.error:
            raise BackupRefused("the SQLite copy inside the backup is damaged; nothing was restored") from None
        if not unpack.eof:
            raise BackupRefused("the SQLite copy inside the backup is incomplete; nothing was restored")
        _check_copy(copy)
        if not database.exists():  # 0600, as the app creates it (registry.database)
            os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        source, target = sqlite3.connect(copy), sqlite3.connect(database, timeout=BUSY_MS / 1000)
        try:
            source.backup(target)
        except sqlite3.Error as error:
            raise BackupRefused(f"SQLite could not write {database.name}: {error}") from None
        finally:
            target.close()
            source.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _check_copy(copy: Path) -> None:
    source = sqlite3.connect(copy)
    try:
        verdict = source.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.DatabaseError:
        verdict = "not a database"
    finally:
        source.close()
    if verdict != "ok":
        raise BackupRefused("the SQLite copy inside the backup fails SQLite's check; nothing was restored")
