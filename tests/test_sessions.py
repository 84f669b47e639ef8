"""Staff sessions: sign-out and account changes end them server-side, idle and absolute
timeouts, the cookie's name and flags, a fresh session at sign-in."""
from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from registry.extensions import db
from tests.helpers import PASSWORD, csrf_token, make_app, make_user, sign_in


def kinds(app) -> list[str]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return list(db.session.execute(sa.text("SELECT kind FROM event ORDER BY id")).scalars())


def copy_of_cookie(app, client):  # type: ignore[no-untyped-def]
    """Another client holding the very cookie `client` holds now (a captured cookie)."""
    name = app.config["SESSION_COOKIE_NAME"]
    thief = app.test_client()
    thief.set_cookie(name, client.get_cookie(name).value)
    return thief


def test_after_sign_out_the_old_cookie_is_refused(app) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "admin@example.org", "admin")
    client = app.test_client()
    assert sign_in(client, "admin@example.org").status_code == 303
    captured = copy_of_cookie(app, client)
    assert captured.get("/staff/imports").status_code == 200 and captured.get("/dashboard").status_code == 200
    assert client.post("/staff/logout", data={"csrf_token": csrf_token(client, "/staff/imports")}).status_code == 303
    assert captured.get("/staff/imports").status_code == 302
    assert captured.get("/dashboard").status_code == 302
    assert captured.get("/staff/events").status_code == 302


def test_sign_out_ends_every_session_of_the_account(app) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "officer@example.org", "outreach")
    phone, laptop = app.test_client(), app.test_client()
    assert sign_in(phone, "officer@example.org").status_code == 303
    assert sign_in(laptop, "officer@example.org").status_code == 303
    phone.post("/staff/logout", data={"csrf_token": csrf_token(phone, "/staff/imports")})
    assert laptop.get("/staff/imports").status_code == 302
    assert sign_in(laptop, "officer@example.org").status_code == 303  # signing in again works
    assert laptop.get("/staff/imports").status_code == 200


@pytest.mark.parametrize(("key", "age", "reason", "text"), [
    ("_seen", 30 * 60 + 5, "idle", "30 minutes without activity"),
    ("_signed_in", 12 * 3600 + 5, "absolute", "at most 12 hours"),
])
def test_a_session_ends_after_30_idle_minutes_or_12_hours(app, key: str, age: int, reason: str, text: str) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "officer@example.org", "outreach")
    client = app.test_client()
    sign_in(client, "officer@example.org")
    with client.session_transaction() as session:
        session["_seen"] = int(time.time()) - 29 * 60  # 29 minutes idle: still signed in
    assert client.get("/staff/imports").status_code == 200
    with client.session_transaction() as session:
        session[key] = int(time.time()) - age
    response = client.get("/staff/imports")
    assert response.status_code == 302 and "/staff/login" in response.headers["Location"]
    assert text in client.get("/staff/login?lang=en").get_data(as_text=True)
    with client.session_transaction() as session:
        assert "_user_id" not in session and "_ver" not in session  # a fresh session
    assert kinds(app)[-1] == "session_expired"
    with app.app_context():
        detail = db.session.execute(sa.text("SELECT detail FROM event WHERE kind = 'session_expired'")).scalar_one()
    assert reason in str(detail)


def test_the_last_seen_time_moves_on_with_use(app) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "officer@example.org", "outreach")
    client = app.test_client()
    sign_in(client, "officer@example.org")
    with client.session_transaction() as session:
        session["_seen"] = int(time.time()) - 20 * 60
    assert client.get("/staff/imports").status_code == 200
    with client.session_transaction() as session:
        assert session["_seen"] >= int(time.time()) - 5
        session["_seen"] -= 20 * 60  # 40 minutes since sign-in, 20 since the last page
    assert client.get("/staff/imports").status_code == 200


@pytest.mark.parametrize("secure", [True, False])
def test_the_cookie_is_host_prefixed_when_secure(database_url, secure: bool) -> None:  # type: ignore[no-untyped-def]
    app = make_app(database_url, SESSION_COOKIE_SECURE=secure)
    make_user(app, "officer@example.org", "outreach")
    client = app.test_client()
    token = csrf_token(client, "/staff/login")
    response = client.post("/staff/login", data={"email": "officer@example.org", "password": PASSWORD, "csrf_token": token})
    cookie = response.headers["Set-Cookie"]
    if secure:
        assert cookie.startswith("__Host-session=") and "Secure" in cookie and "Path=/;" in cookie
        assert "Domain" not in cookie
    else:
        assert cookie.startswith("session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_sign_in_starts_a_fresh_session_and_keeps_the_language(app) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "officer@example.org", "outreach")
    client = app.test_client()
    client.get("/?lang=en")
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    assert sign_in(client, "officer@example.org").status_code == 303
    with client.session_transaction() as session:
        assert "planted" not in session and session["lang"] == "en"


def test_the_half_signed_in_state_is_not_signed_in_and_expires(app) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "officer@example.org", "outreach")
    client = app.test_client()
    token = csrf_token(client, "/staff/login")
    response = client.post("/staff/login", data={"email": "officer@example.org", "password": PASSWORD, "csrf_token": token})
    assert response.headers["Location"].endswith("/staff/login/code")
    assert client.get("/staff/imports").status_code == 302  # the password alone does not sign in
    with client.session_transaction() as session:
        session["pending_sign_in"] = {**session["pending_sign_in"], "until": int(time.time()) - 1}
    assert client.get("/staff/login/code").headers["Location"].endswith("/staff/login")


def test_a_new_secret_key_refuses_cookies_of_the_old_one_unless_it_is_a_fallback(app) -> None:  # type: ignore[no-untyped-def]
    """The session's signing serializer is made once per key and kept: a changed key (or
    fallback list) must still take effect at once, in the same process."""
    from flask import request

    client, name = app.test_client(), app.config["SESSION_COOKIE_NAME"]
    with client.session_transaction() as session:
        session["probe"] = "kept"
    cookie = client.get_cookie(name).value

    def opened() -> object:
        with app.test_request_context("/", headers={"Cookie": f"{name}={cookie}"}):
            return app.session_interface.open_session(app, request).get("probe")

    old = app.secret_key
    assert opened() == "kept"
    app.secret_key = app.config["SECRET_KEY"] = "another-test-only-secret-key"
    app.config["SECRET_KEY_FALLBACKS"] = [old]
    assert opened() == "kept"  # signed with a fallback key
    app.config["SECRET_KEY_FALLBACKS"] = []
    assert opened() is None  # the old key is gone: the cookie is ignored
    app.secret_key = app.config["SECRET_KEY"] = old
    assert opened() == "kept"
