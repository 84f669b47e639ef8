"""The database out of reach (issue 14, faults): a 503 in the reader's language, JSON on the
API, nothing half-stored, and service back by itself when the database returns — on a
private PostgreSQL cluster stopped and started by the test, and on a SQLite file that
cannot be opened. A genuine programming error is never dressed up as a 503."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from tests.helpers import count_actors, csrf_token, make_app, make_user, sign_in, valid_form
from tests.private_postgres import PrivateCluster, private_cluster, private_database  # noqa: F401 (fixtures)

TITLE = {"km": "សេវាកម្មមិនអាចប្រើបានមួយភ្លែត", "en": "Service briefly unavailable"}
MESSAGE_EN = "The service is briefly unavailable. Nothing was saved. Please try again in a minute."
MESSAGE_KM = "សេវាកម្មមិនអាចប្រើបានមួយភ្លែត។ មិនបានរក្សាទុកអ្វីទេ។ សូមព្យាយាមម្តងទៀតក្នុងរយៈពេលមួយនាទី។"
NEVER_SHOWN = ("Traceback", "127.0.0.1", "psycopg", "sqlite3", "OperationalError", "SELECT", "registry.sqlite3")


def assert_unavailable_page(response, locale: str) -> None:  # type: ignore[no-untyped-def]
    body = response.get_data(as_text=True)
    assert response.status_code == 503, body[:500]
    assert response.headers["Retry-After"] == "60"
    assert response.mimetype == "text/html"
    assert f'<html lang="{locale}">' in body
    assert f"<h1>{TITLE[locale]}</h1>" in body
    assert (MESSAGE_KM if locale == "km" else MESSAGE_EN) in body
    assert not any(text in body for text in NEVER_SHOWN)


def assert_unavailable_json(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "60"
    assert response.get_json() == {"error": {"field": "database", "message": MESSAGE_EN}}
    assert not any(text in response.get_data(as_text=True) for text in NEVER_SHOWN)


def person(n: int) -> dict[str, str]:
    return valid_form(phone=f"012 777 {n:03d}", full_name=f"Sok {'ABCDEFGHIJ'[n % 10]}ara")


def stored_phones(url: str) -> list[str]:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        phones = connection.execute(sa.text("SELECT phone FROM actor ORDER BY phone")).scalars().all()
    engine.dispose()
    return list(phones)


def test_database_stopped_gives_503_then_the_same_app_serves_again(private_cluster: PrivateCluster,  # noqa: F811
                                                                    private_database: str,  # noqa: F811
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    app = make_app(private_database)
    make_user(app, "ministry@example.org", "ministry")
    staff = app.test_client()
    assert sign_in(staff, "ministry@example.org").status_code == 303
    visitor = app.test_client()
    token = csrf_token(visitor, "/register")
    assert visitor.post("/register", data={**person(1), "csrf_token": token}).status_code == 303
    token = csrf_token(visitor, "/register")

    private_cluster.stop()
    assert_unavailable_page(staff.get("/staff/actors"), "km")  # Khmer by default
    assert_unavailable_page(staff.get("/staff/actors?lang=en"), "en")
    assert_unavailable_page(visitor.post("/register", data={**person(2), "csrf_token": token}), "km")
    assert_unavailable_json(staff.get("/api/v1/stats"))
    assert app.test_client().get("/health").status_code == 200
    assert app.test_client().get("/ready").status_code == 503
    logged = [r.getMessage() for r in caplog.records if r.name == "registry.web.outage"]
    assert logged and all(m.startswith("database unavailable: OperationalError") for m in logged)
    assert not any(text in m for m in logged for text in ("127.0.0.1", "postgres@", str(private_cluster.port)))

    private_cluster.start()
    # The same app object, no restart: its pool drops the dead connections before use.
    assert app.test_client().get("/ready").status_code == 200
    assert staff.get("/staff/actors?lang=en").status_code == 200
    assert staff.get("/api/v1/stats").status_code == 200
    assert visitor.post("/register", data={**person(3), "csrf_token": token}).status_code == 303
    # The registration posted while the database was down was not stored, not even in part.
    assert stored_phones(private_database) == ["+85512777001", "+85512777003"]
    assert count_actors(app) == 2


def test_a_database_restart_costs_no_request_when_it_is_back(private_cluster: PrivateCluster,  # noqa: F811
                                                            private_database: str) -> None:  # noqa: F811
    app = make_app(private_database)
    client = app.test_client()
    token = csrf_token(client, "/register")
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert client.post("/register", data={**person(1), "csrf_token": token}).status_code == 303
    private_cluster.restart()  # every pooled connection is now dead
    assert client.post("/register", data={**person(2), "csrf_token": token}).status_code == 303
    assert count_actors(app) == 2


def test_sqlite_file_that_cannot_be_opened_gives_503_then_serves_once_it_can(migrated_database: str,
                                                                              database_url: str,
                                                                              tmp_path: Path) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("the SQLite case")
    folder = tmp_path / "not-there-yet"
    app = make_app(f"sqlite:///{folder / 'registry.sqlite3'}")
    visitor = app.test_client()
    token = csrf_token(visitor, "/register")  # the form itself needs no database
    assert_unavailable_page(visitor.post("/register?lang=en", data={**person(1), "csrf_token": token}), "en")
    assert_unavailable_page(visitor.post("/register?lang=km", data={**person(1), "csrf_token": token}), "km")
    assert_unavailable_json(visitor.get("/api/v1/stats?lang=en", headers={"Authorization": "Bearer ier_0123456789ab_" + "x" * 43}))
    folder.mkdir()
    shutil.copyfile(migrated_database, folder / "registry.sqlite3")
    assert visitor.post("/register", data={**person(1), "csrf_token": token}).status_code == 303
    assert count_actors(app) == 1


def test_a_programming_error_is_a_500_not_a_503(app: Flask, database_url: str) -> None:
    """A table missing is a bug to fix, not an outage to wait out: the 500 page, logged whole."""
    visitor = app.test_client()
    token = csrf_token(visitor, "/register")
    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE actor_tally RENAME TO actor_tally_gone"))
    try:
        app.config["PROPAGATE_EXCEPTIONS"] = False
        response = visitor.post("/register?lang=en", data={**person(1), "csrf_token": token})
        assert response.status_code == 500
        assert "Retry-After" not in response.headers
        assert "Something went wrong" in response.get_data(as_text=True)
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text("ALTER TABLE actor_tally_gone RENAME TO actor_tally"))
        engine.dispose()
    assert count_actors(app) == 0
