"""Fixtures: a real SQLite file per test, or a real PostgreSQL when REGISTRY_TEST_DATABASE_URL is set."""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from registry.extensions import db
from tests.helpers import (
    OPEN_APPS,
    POSTGRES_URL,
    close_app,
    create_postgres,
    empty_postgres,
    make_app,
    make_user,
    migrate_to_head,
    reset_postgres,
    sign_in,
)


BROWSERS = os.environ.get("REGISTRY_TEST_BROWSERS", "1") != "0"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """REGISTRY_TEST_BROWSERS=0 leaves out every test that drives Chromium (.ci/run's second
    pass, on PostgreSQL: the pages were driven in the first pass, on SQLite)."""
    if BROWSERS:
        return
    driven = [item for item in items if "browser" in getattr(item, "fixturenames", ())]
    if driven:
        config.hook.pytest_deselected(items=driven)
        items[:] = [item for item in items if item not in driven]


def pytest_sessionstart(session: pytest.Session) -> None:
    """This process's PostgreSQL database exists before any test asks for it (under
    pytest-xdist, one per worker process: tests.helpers.worker_database)."""
    if POSTGRES_URL:
        create_postgres(POSTGRES_URL)


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = [] if BROWSERS else ["browser tests left out (REGISTRY_TEST_BROWSERS=0)"]
    if POSTGRES_URL:
        return [f"registry database: PostgreSQL ({sa.make_url(POSTGRES_URL).render_as_string(hide_password=True)})", *lines]
    return [
        "registry database: SQLite files; PostgreSQL NOT tested in this run "
        "(set REGISTRY_TEST_DATABASE_URL, as .ci/run does)",
        *lines,
    ]


@pytest.fixture(autouse=True)
def _close_apps() -> Iterator[None]:
    yield
    while OPEN_APPS:
        close_app(OPEN_APPS.pop())


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database migrated to head once per run: a SQLite template file, or the PostgreSQL URL."""
    if POSTGRES_URL:
        reset_postgres(POSTGRES_URL)
        migrate_to_head(POSTGRES_URL)
        return POSTGRES_URL
    template = tmp_path_factory.mktemp("template") / "registry.sqlite3"
    migrate_to_head(f"sqlite:///{template}")
    return str(template)


@pytest.fixture
def database_url(migrated_database: str, tmp_path: Path) -> Iterator[str]:
    """A fresh migrated database for one test."""
    if POSTGRES_URL:
        yield POSTGRES_URL
        empty_postgres(POSTGRES_URL)
        return
    path = tmp_path / "registry.sqlite3"
    shutil.copyfile(migrated_database, path)
    yield f"sqlite:///{path}"


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    yield make_app(database_url)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


@pytest.fixture
def session(app: Flask) -> Iterator[Any]:
    """The app's database session inside an app context (for service-level tests)."""
    with app.app_context():
        yield db.session
        db.session.rollback()


@pytest.fixture
def outreach(app: Flask) -> FlaskClient:
    """A signed-in outreach officer (no province limit)."""
    make_user(app, "outreach@example.org", "outreach")
    client = app.test_client()
    assert sign_in(client, "outreach@example.org").status_code == 303
    return client
