"""Helpers the tests share: apps on a real database, forms as a browser posts them, staff accounts."""
from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import pyotp
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade

os.environ.setdefault("SECRET_KEY", "test-only-secret-key")
os.environ.setdefault("REGISTRY_DISCLOSURE_KEY", "test-only-disclosure-key")

from registry import create_app  # noqa: E402
from registry.extensions import db  # noqa: E402



def worker_database(url: str | None) -> str | None:
    """The PostgreSQL database of this test process: REGISTRY_TEST_DATABASE_URL itself, or,
    when pytest-xdist runs the suite in several processes (`make test`), one database per
    process named after it (`registry_test_gw0`, ...), created by `create_postgres` at the
    start of the session. The tests empty and re-create what they use: two processes must
    never share one."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    parsed = sa.make_url(url)
    return parsed.set(database=f"{parsed.database}_{worker}").render_as_string(hide_password=False)


POSTGRES_URL = worker_database(os.environ.get("REGISTRY_TEST_DATABASE_URL") or None)
TABLES_TO_EMPTY = ("duplicate_pair", "change_request", "certificate_verification", "actor_change", "actor_segment", "actor", "actor_tally", "import_problem", "import_batch", "indicator_change", "indicator",
                   "event", "api_token", "staff_recovery_code", "staff_user")
APPEND_ONLY_TABLES = ("event", "actor_change")  # their triggers refuse TRUNCATE: lifted for the cleanup between tests only


OPEN_APPS: list[Flask] = []


def make_app(database_url: str, **extra: Any) -> Flask:
    """An app on `database_url`; closed (threads joined, pool disposed) after the test."""
    own_folder = None
    if "IMPORT_UPLOAD_FOLDER" not in extra:  # each app its own: what one test leaves is not another's business
        own_folder = extra["IMPORT_UPLOAD_FOLDER"] = tempfile.mkdtemp(prefix="registry-uploads-")
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "RATELIMIT_ENABLED": False,
            **extra,
        }
    )
    app.extensions["tests.upload_folder"] = own_folder
    OPEN_APPS.append(app)
    return app


def close_app(app: Flask) -> None:
    for thread in app.extensions.get("registry.import_threads", []):
        thread.join(timeout=60)
    with app.app_context():
        db.engine.dispose()
    if app.extensions.get("tests.upload_folder"):
        shutil.rmtree(app.extensions["tests.upload_folder"], ignore_errors=True)


def migrate_to_head(database_url: str) -> None:
    app = make_app(database_url)
    with app.app_context():
        upgrade()
    close_app(OPEN_APPS.pop())


def empty_postgres(database_url: str) -> None:
    """Empty every table between tests (append-only tables' triggers lifted for this only)."""
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        for table in APPEND_ONLY_TABLES:
            conn.execute(sa.text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        conn.execute(sa.text(f"TRUNCATE {', '.join(TABLES_TO_EMPTY)} RESTART IDENTITY CASCADE"))
        for table in APPEND_ONLY_TABLES:
            conn.execute(sa.text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
    engine.dispose()


def create_postgres(database_url: str) -> None:
    """Create the database of `database_url` unless it exists (the server's `postgres`
    database is where one asks)."""
    url = sa.make_url(database_url)
    server = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        if not connection.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}):
            connection.execute(sa.text(f'CREATE DATABASE "{url.database}"'))
    server.dispose()


def reset_postgres(database_url: str) -> None:
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str) -> str:
    page = client.get(path)
    match = CSRF_FIELD.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def valid_form(**overrides: str) -> dict[str, str]:
    """A complete, valid self-registration as a browser would post it."""
    form = {
        "category": "self_employed",
        "full_name": "Sok Dara",
        "gender": "female",
        "date_of_birth": "25/01/1990",
        "national_id": "",
        "phone": "012 345 678",
        "province": "12",
        "district": "1201",
        "commune": "120101",
        "sector": "trade",
        "business_name": "",
        "workers": "",
        "consent": "y",
    }
    form.update(overrides)
    return form


def count_actors(app: Flask) -> int:
    with app.app_context():
        return db.session.execute(sa.text("SELECT count(*) FROM actor")).scalar_one()


PASSWORD = "correct horse battery staple"


def make_user(app: Flask, email: str, role: str, province: str | None = None, *, enrol_mfa: bool = True) -> None:
    """An account made by the CLI, its authenticator app set up through the service (as the
    enrolment page does); `sign_in` reads the secret back to make its codes."""
    runner = app.test_cli_runner()
    args = ["create-user", email, "--role", role, "--password-stdin"]
    if province:
        args += ["--province", province]
    result = runner.invoke(args=args, input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    if enrol_mfa:
        from registry import clock
        from registry.staff import services
        from registry.staff.mfa import STEP_SECONDS

        with app.app_context():
            user = services.find_by_email(db.session, email)
            assert user is not None
            secret = services.begin_enrolment(db.session, user)
            # The code of the step before (accepted: ±1), leaving this step and the next for sign-ins.
            # One moment for both: read twice, a step boundary between them made the code two
            # steps old (seen in CI at 01:59:59.997).
            now = clock.now()
            earlier = pyotp.TOTP(secret).at(now.timestamp() - STEP_SECONDS)
            assert services.confirm_enrolment(db.session, user, earlier, now=now)
            db.session.commit()


def mfa_code(app: Flask, email: str) -> str:
    """A code the account's app would show, for a time step the server has not accepted yet.
    When the steps it accepts now (±1) are all used, the account's last used step is moved
    back as if 30 seconds had passed, instead of waiting for them (tests of refused reuse
    take their codes before this is needed)."""
    from registry.staff import services
    from registry.staff.mfa import STEP_SECONDS

    with app.app_context():
        user = services.find_by_email(db.session, email)
        assert user is not None and user.mfa_secret, f"{email} has no authenticator app"
        step = int(time.time()) // STEP_SECONDS
        candidate = step if user.mfa_last_step is None else max(step, user.mfa_last_step + 1)
        if candidate > step + 1:
            user.mfa_last_step, candidate = step, step + 1
            db.session.commit()
        secret = user.mfa_secret
        db.session.rollback()
    return pyotp.TOTP(secret).generate_otp(candidate)


def finish_sign_in(client: FlaskClient, response, email: str):  # type: ignore[no-untyped-def]
    """After the password was accepted (a redirect to the code page), type the app's code."""
    if response.status_code != 303 or not response.headers["Location"].endswith("/staff/login/code"):
        return response
    token = csrf_token(client, "/staff/login/code")
    return client.post("/staff/login/code", data={"code": mfa_code(client.application, email), "csrf_token": token})


def upload_file(client, path: Path, **extra_fields: str):  # type: ignore[no-untyped-def]
    """Post a file as a browser does, the request body streamed from disk: the test holds no
    copy of it (and owns every file it opens)."""
    boundary = "----hostile-upload-boundary"
    body = path.with_suffix(path.suffix + ".body")
    fields = {"csrf_token": csrf_token(client, "/staff/imports"), "consent": "y", **extra_fields}
    with body.open("wb") as out, path.open("rb") as source:
        for name, value in fields.items():
            out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
                  f"Content-Type: application/octet-stream\r\n\r\n".encode())
        while block := source.read(1 << 20):
            out.write(block)
        out.write(f"\r\n--{boundary}--\r\n".encode())
    try:
        with body.open("rb") as stream:
            return client.post("/staff/imports", input_stream=stream, content_length=body.stat().st_size,
                               content_type=f"multipart/form-data; boundary={boundary}")
    finally:
        body.unlink()


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    """Password, then a code from the app: the last response (303 to the landing page when signed in)."""
    token = csrf_token(client, "/staff/login")
    response = client.post("/staff/login", data={"email": email, "password": password, "csrf_token": token})
    return finish_sign_in(client, response, email)


def tally_rows(session) -> list[tuple[int, int]]:  # type: ignore[no-untyped-def]
    return sorted(map(tuple, session.execute(sa.text("SELECT key, n FROM actor_tally WHERE n <> 0")).all()))


def tally_matches_a_recount(session) -> None:  # type: ignore[no-untyped-def]
    """The maintained tally equals a recount from the actor table, key by key (so every
    breakdown of every statistic matches a direct count); the recount is rolled back."""
    from registry.stats.tally import rebuild

    maintained = tally_rows(session)
    with session.begin_nested() as nested:
        rebuild(session)
        rebuilt = tally_rows(session)
        nested.rollback()
    assert rebuilt == maintained
