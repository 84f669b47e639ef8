"""What the benchmarks share about their database: PostgreSQL given by URL starts empty."""
from __future__ import annotations

import sqlalchemy as sa


def empty_postgres_schema(url: str) -> None:
    """Drop and recreate the public schema of the PostgreSQL database at `url` (benchmarks
    migrate it from scratch afterwards; never point this at a database that matters)."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()
