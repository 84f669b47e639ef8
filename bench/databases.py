"""What the benchmarks share about their database: PostgreSQL starts empty (a given database's
schema emptied, or a database of their own created and dropped)."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import sqlalchemy as sa


def empty_postgres_schema(url: str) -> None:
    """Drop and recreate the public schema of the PostgreSQL database at `url` (benchmarks
    migrate it from scratch afterwards; never point this at a database that matters)."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


@contextmanager
def fresh_postgres_database(admin_url: str, name: str) -> Iterator[str]:
    """A new, empty PostgreSQL database `name` (created through `admin_url`, an account that
    may create databases), its URL yielded, dropped afterwards with whatever it held."""
    if not name.isidentifier():
        raise ValueError(f"not a plain database name: {name!r}")
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
