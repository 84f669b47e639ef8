"""Back up the app's database to one file; restore one into an empty database and verify it.

Plain functions over the session's engine: the commands (registry.backup.commands) record
the event and print. Restore never writes into a database that holds a table: an operator
must not overwrite production by mistake, and pg_restore and the SQLite copy both assume an
empty schema.
"""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from registry import clock
from registry.backup import archive, postgres, sqlite
from registry.backup.archive import BackupRefused
from registry.backup.measure import differences, measure, table_names, tally_recounted


@dataclass(frozen=True)
class Written:
    path: Path
    bytes: int
    manifest: dict[str, Any]


@dataclass(frozen=True)
class Restored:
    manifest: dict[str, Any]
    found: dict[str, Any]
    problems: list[str]
    recounted: bool | None  # the tally equals a recount of the actors (None: not at this code's revision)


def _engine(session: Session) -> Engine:
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    if engine.dialect.name not in archive.DATABASES:
        raise BackupRefused(f"backups of {engine.dialect.name} databases are not supported")
    return engine


def _sqlite_file(engine: Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupRefused("the SQLite database is not a plain file")
    return Path(database)


def _destination(path: Path, force: bool) -> Path:
    path = path.absolute()
    if path.is_dir():
        raise BackupRefused(f"{path} is a folder: give the backup file's name")
    if not path.parent.is_dir():
        raise BackupRefused(f"{path.parent}: no such folder")
    if path.exists() and not force:
        raise BackupRefused(f"{path} exists: give another name, or --force to replace it")
    return path


def make_backup(session: Session, path: Path, *, head: str, now: datetime, force: bool = False) -> Written:
    """Write the database to `path` (atomically, 0600) with a manifest of what it holds."""
    engine = _engine(session)
    path = _destination(path, force)
    figures_of = partial(measure, head=head, as_of=clock.local_date(now))
    work = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}."))  # 0700, same file system as PATH
    try:
        if engine.dialect.name == "sqlite":
            payload, figures = sqlite.dump(_sqlite_file(engine), work, measure=figures_of)
        else:
            payload, figures = postgres.dump(engine, work, measure=figures_of)
        manifest = archive.write(path, {"format": archive.FORMAT, "made_at": now.isoformat(),
                                        "database": engine.dialect.name, **figures}, payload, force=force)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return Written(path, path.stat().st_size, manifest)


def check_backup(path: Path) -> dict[str, Any]:
    """The manifest of a backup whose payload is whole (BackupRefused otherwise); writes nothing."""
    with archive.opened(path) as backup:
        archive.check_payload(backup)
        return backup.manifest


def refuse_unless_empty(engine: Engine) -> None:
    with engine.connect() as connection:
        names = table_names(connection)
    if names:
        shown = ", ".join(names[:4]) + (", …" if len(names) > 4 else "")
        raise BackupRefused(
            f"the database is not empty: it holds {len(names)} tables ({shown}). A restore goes only into an"
            " empty database: create a new one, point REGISTRY_DATABASE_URL at it and run restore again.")


def restore_backup(session: Session, path: Path, *, head: str, known: Callable[[str], bool]) -> Restored:
    """Restore `path` into the app's empty database, then measure it against the manifest and
    recount the tally. `known(revision)`: the revision is one this code's migrations know."""
    engine = _engine(session)
    session.close()
    with archive.opened(path) as backup:
        manifest = backup.manifest
        if manifest["database"] != engine.dialect.name:
            raise BackupRefused(f"this is a {manifest['database']} backup; the app's database is {engine.dialect.name}")
        made_at = manifest.get("revision")
        if made_at is not None and not known(made_at):
            raise BackupRefused(f"the backup is at revision {made_at}, which this code does not know:"
                                " it was made by a newer version of the registry; restore it with that version")
        if engine.dialect.name == "sqlite" and not _sqlite_file(engine).parent.is_dir():
            raise BackupRefused(f"{_sqlite_file(engine).parent}: no such folder for the SQLite database")
        refuse_unless_empty(engine)
        if engine.dialect.name == "postgresql":
            archive.check_payload(backup)  # whole and unchanged before pg_restore reads a byte
            postgres.load(archive.payload_chunks(backup), engine.url)
        else:
            target = _sqlite_file(engine)
            engine.dispose()
            sqlite.load(archive.payload_chunks(backup), target)
    engine.dispose()  # no pooled connection that saw the empty database
    as_of = date.fromisoformat(manifest["active"]["as_of"]) if manifest.get("active") else None
    found = measure(session, head=head, as_of=as_of)
    recounted = tally_recounted(session) if found["revision"] == head else None
    session.rollback()
    return Restored(manifest, found, differences(manifest, found), recounted)
