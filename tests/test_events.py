"""The one event log: what is recorded, who may read it, that nothing edits it, and that logs
carry no personal data."""
from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DatabaseError

from registry.events.services import KINDS
from registry.extensions import db
from tests.helpers import PASSWORD, csrf_token, make_app, make_user, sign_in, valid_form


def events(app) -> list[tuple[str, int | None, str | None]]:  # type: ignore[no-untyped-def]
    with app.app_context():
        rows = db.session.execute(sa.text("SELECT kind, staff_user_id, subject FROM event ORDER BY id")).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_sign_in_refusal_and_sign_out_are_recorded_without_personal_data_in_log_lines(app, caplog) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "officer@example.org", "ministry")
    client = app.test_client()
    caplog.set_level(logging.INFO, logger="registry.events")
    assert sign_in(client, "officer@example.org", "wrong password!!").status_code == 401
    assert sign_in(client, "officer@example.org").status_code == 303
    token = csrf_token(client, "/register")
    assert client.post("/staff/logout", data={"csrf_token": token}).status_code == 303
    kinds = [kind for kind, _by, _subject in events(app)]
    assert kinds == ["account_created", "sign_in_failed", "sign_in", "sign_out"]
    with app.app_context():
        detail = db.session.execute(sa.text("SELECT detail FROM event WHERE kind = 'sign_in_failed'")).scalar_one()
    assert "officer@example.org" in str(detail)  # the table holds what an auditor needs
    assert "officer@example.org" not in caplog.text and PASSWORD not in caplog.text  # log lines do not
    assert "event sign_in " in caplog.text


def test_refusals_exports_downloads_and_corrections_are_recorded(app) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "out@example.org", "outreach")
    make_user(app, "min@example.org", "ministry")
    outreach, ministry = app.test_client(), app.test_client()
    sign_in(outreach, "out@example.org")
    sign_in(ministry, "min@example.org")
    assert outreach.get("/dashboard").status_code == 403
    assert ministry.get("/dashboard/export/by_category.csv?year=2024").status_code == 200
    with app.app_context():
        app.test_cli_runner().invoke(args=["load-indicators"])
        indicator_id = db.session.execute(sa.text("SELECT id FROM indicator ORDER BY id LIMIT 1")).scalar_one()
    page = f"/dashboard/indicators/{indicator_id}"
    token = csrf_token(ministry, page)
    assert ministry.post(page, data={"value": "42", "note": "typo in the review", "csrf_token": token}).status_code == 303
    recorded = events(app)
    assert ("forbidden", 1, "/dashboard") in recorded
    assert ("export", 2, "by_category.csv") in recorded
    assert ("indicator_correction", 2, f"indicator {indicator_id}") in recorded


def test_the_log_is_append_only_in_the_database(app) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "admin@example.org", "admin")
    with app.app_context():
        for statement in ("UPDATE event SET kind = 'sign_in'", "DELETE FROM event"):
            with pytest.raises(DatabaseError, match="append-only"):
                with db.engine.begin() as connection:
                    connection.execute(sa.text(statement))
    assert [kind for kind, _by, _subject in events(app)] == ["account_created"]


def test_only_admins_read_the_log(app) -> None:  # type: ignore[no-untyped-def]
    for email, role in (("admin@example.org", "admin"), ("min@example.org", "ministry"), ("out@example.org", "outreach")):
        make_user(app, email, role)
    anonymous = app.test_client()
    assert anonymous.get("/staff/events").status_code == 302  # to the sign-in page
    for email in ("min@example.org", "out@example.org"):
        client = app.test_client()
        sign_in(client, email)
        assert client.get("/staff/events").status_code == 403
    admin = app.test_client()
    sign_in(admin, "admin@example.org")
    page = admin.get("/staff/events?lang=en").get_data(as_text=True)
    assert "Account created" in page and "Page refused (not allowed)" in page and "min@example.org" in page
    only = admin.get("/staff/events?lang=en&kind=sign_in").get_data(as_text=True)
    assert "Account created" not in only.split("<table", 1)[1]
    assert admin.get("/staff/events?kind=nonsense").status_code == 400
    assert admin.get("/staff/events?before=x").status_code == 400


def test_every_kind_has_a_khmer_label() -> None:
    from registry.i18n import translate

    for code, label in KINDS.items():
        assert translate(label, "km") != label, code


@pytest.fixture
def failing_actor_insert(database_url: str):  # type: ignore[no-untyped-def]
    """The database refuses every new actor (a forced error), and takes the refusal back after."""
    engine = sa.create_engine(database_url)
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as connection:
        if postgres:
            connection.execute(sa.text("CREATE FUNCTION forced_failure() RETURNS trigger LANGUAGE plpgsql AS $$"
                                       " BEGIN RAISE EXCEPTION 'forced failure'; END $$"))
            connection.execute(sa.text("CREATE TRIGGER forced_failure BEFORE INSERT ON actor"
                                       " FOR EACH ROW EXECUTE FUNCTION forced_failure()"))
        else:
            connection.execute(sa.text("CREATE TRIGGER forced_failure BEFORE INSERT ON actor"
                                       " BEGIN SELECT RAISE(ABORT, 'forced failure'); END"))
    yield
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TRIGGER forced_failure" + (" ON actor" if postgres else "")))
        if postgres:
            connection.execute(sa.text("DROP FUNCTION forced_failure()"))
    engine.dispose()


def test_a_database_error_logs_no_personal_data(database_url: str, failing_actor_insert, caplog) -> None:  # type: ignore[no-untyped-def]
    app = make_app(database_url, PROPAGATE_EXCEPTIONS=False)
    client = app.test_client()
    form = valid_form(full_name="Chhay Sreypov", national_id="987654321", phone="017 654 321")
    caplog.set_level(logging.DEBUG)
    response = client.post("/register", data={**form, "csrf_token": csrf_token(client, "/register")})
    assert response.status_code == 500
    assert "forced failure" in caplog.text  # the error itself is logged, with its traceback
    for secret in ("Chhay Sreypov", "chhaysreypov", "987654321", "17654321", "1990-01-25"):
        assert secret not in caplog.text
