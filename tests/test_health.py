"""`/health` and `/ready` for load balancers: real database, real Redis (its own database
number), and a database or Redis that does not answer."""
from __future__ import annotations

import socket
from pathlib import Path

import pytest
from flask import Flask

from tests.helpers import make_app
from tests.test_serving import redis_url


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_health_answers_without_touching_the_database_or_the_session(tmp_path: Path) -> None:
    app = make_app(f"sqlite:///{tmp_path / 'missing-folder' / 'registry.sqlite3'}")  # cannot be opened
    response = app.test_client().get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


def test_ready_when_the_database_answers(app: Flask) -> None:
    response = app.test_client().get("/ready")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready", "checks": {"database": "ok"}}
    assert "Set-Cookie" not in response.headers


def test_not_ready_when_the_database_does_not_answer(database_url: str, tmp_path: Path) -> None:
    if database_url.startswith("postgresql"):
        url = f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/registry?connect_timeout=2"
    else:
        url = f"sqlite:///{tmp_path / 'missing-folder' / 'registry.sqlite3'}"
    response = make_app(url).test_client().get("/ready")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "checks": {"database": "unreachable"}}
    body = response.get_data(as_text=True)
    assert "127.0.0.1" not in body and "missing-folder" not in body and "Traceback" not in body


def test_ready_checks_redis_when_one_is_configured(database_url: str) -> None:
    url = redis_url()
    if url is None:
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    response = make_app(database_url, REDIS_URL=url).test_client().get("/ready")
    assert response.status_code == 200
    assert response.get_json()["checks"] == {"database": "ok", "redis": "ok"}


def test_not_ready_when_redis_does_not_answer(database_url: str) -> None:
    response = make_app(database_url, REDIS_URL=f"redis://127.0.0.1:{closed_port()}/0").test_client().get("/ready")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "checks": {"database": "ok", "redis": "unreachable"}}
