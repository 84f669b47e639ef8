"""Time and size of a backup, its check and a restore (with its verification) at scale.

    .venv/bin/python bench/backup_bench.py [N] [SOURCE_URL TARGET_URL]     (default 100000, SQLite)

SOURCE_URL, TARGET_URL: two PostgreSQL databases to use instead (`postgresql+psycopg://…`;
both schemas are dropped first, the source's migrated). Stores N registrations (bulk insert,
as an import does), then runs the commands as an operator would: `backup PATH`,
`check-backup PATH`, and `restore PATH` into the empty target (which measures every table,
compares the tally and recounts it). Prints the database's size, the backup's, and seconds.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SECRET_KEY", "bench-only")
os.environ.setdefault("REGISTRY_DISCLOSURE_KEY", "bench-only")

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from bench.databases import empty_postgres_schema  # noqa: E402
from bench.lifecycle_bench import raw  # noqa: E402
from registry import create_app  # noqa: E402
from registry.actors.services import insert_actors  # noqa: E402
from registry.actors.validation import validate_registration  # noqa: E402
from registry.extensions import db  # noqa: E402

NOW = datetime(2025, 6, 30, 12, tzinfo=timezone.utc)


def database_bytes(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        if engine.dialect.name == "sqlite":
            return Path(engine.url.database).stat().st_size  # type: ignore[arg-type]
        with engine.connect() as connection:
            return int(connection.scalar(sa.text("SELECT pg_database_size(current_database())")))
    finally:
        engine.dispose()


def timed_command(app, *args: str) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = app.test_cli_runner().invoke(args=list(args))
    seconds = time.perf_counter() - start
    assert result.exit_code == 0, result.output
    return seconds


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    source_url, target_url = (sys.argv[2], sys.argv[3]) if len(sys.argv) > 3 else (None, None)
    with tempfile.TemporaryDirectory() as tmp:
        source_url = source_url or f"sqlite:///{Path(tmp) / 'source.sqlite3'}"
        target_url = target_url or f"sqlite:///{Path(tmp) / 'target.sqlite3'}"
        if source_url.startswith("postgresql"):
            empty_postgres_schema(source_url)
            empty_postgres_schema(target_url)
        source = create_app({"SQLALCHEMY_DATABASE_URI": source_url})
        with source.app_context():
            upgrade()
            regs = [validate_registration(raw(i), today=NOW.date())[0] for i in range(n)]
            for first in range(0, n, 10_000):
                insert_actors(db.session, regs[first:first + 10_000], channel="outreach", now=NOW, consented_at=NOW)  # type: ignore[arg-type]
                db.session.commit()
            db.engine.dispose()
        size = database_bytes(source_url)
        path = Path(tmp) / "registry.backup"
        backup = timed_command(source, "backup", str(path))
        check = timed_command(source, "check-backup", str(path))
        restore = timed_command(create_app({"SQLALCHEMY_DATABASE_URI": target_url}), "restore", str(path))
        print(f"{'PostgreSQL' if source_url.startswith('postgresql') else 'SQLite'}, {n:,} registrations")
        print(f"database {size / 1e6:8.1f} MB   backup file {path.stat().st_size / 1e6:8.1f} MB")
        print(f"backup {backup:6.1f} s   check-backup {check:6.1f} s   restore + verification {restore:6.1f} s")


if __name__ == "__main__":
    main()
