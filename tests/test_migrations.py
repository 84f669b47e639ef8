"""Migrations applied to an empty database produce exactly the models' schema."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from registry.extensions import db


def test_migrated_schema_matches_the_models(app) -> None:  # type: ignore[no-untyped-def]
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_postgresql_is_part_of_the_run_or_said_to_be_skipped() -> None:
    import pytest

    from tests.conftest import POSTGRES_URL

    if not POSTGRES_URL:
        pytest.skip("PostgreSQL not tested: set REGISTRY_TEST_DATABASE_URL (.ci/run does)")
    assert POSTGRES_URL.startswith("postgresql")
