"""Staff accounts: created by the CLI only, hashed passwords, sign-in, roles, slowed guessing."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from registry.extensions import db
from tests.helpers import PASSWORD, csrf_token, finish_sign_in, make_app, make_user, sign_in


def test_create_user_hashes_the_password_and_refuses_bad_accounts(app, runner) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "Officer@Example.org", "admin")
    with app.app_context():
        email, stored = db.session.execute(sa.text("SELECT email, password_hash FROM staff_user")).one()
    assert email == "officer@example.org"
    assert PASSWORD not in stored and stored.startswith("$argon2id$")
    for args, text in [
        (["create-user", "officer@example.org", "--role", "admin"], "already exists"),
        (["create-user", "x@example.org", "--role", "outreach", "--province", "99"], "province"),
        (["create-user", "short@example.org", "--role", "outreach"], "at least 12"),
    ]:
        result = runner.invoke(args=[*args, "--password-stdin"], input=("short\n" if "short" in args[1] else PASSWORD + "\n"))
        assert result.exit_code != 0 and text in result.output
    bad_role = runner.invoke(args=["create-user", "y@example.org", "--role", "boss", "--password-stdin"], input=PASSWORD + "\n")
    assert bad_role.exit_code == 2


def test_sign_in_and_out(app) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "officer@example.org", "outreach")
    client = app.test_client()
    assert client.get("/staff/imports").status_code == 302  # to the sign-in page
    assert sign_in(client, "officer@example.org", "wrong password!").status_code == 401
    response = sign_in(client, "OFFICER@example.org")
    assert response.status_code == 303 and response.headers["Location"].endswith("/staff/imports")
    assert client.get("/staff/imports").status_code == 200
    token = csrf_token(client, "/staff/imports")
    assert client.post("/staff/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/staff/imports").status_code == 302


def test_unknown_email_and_wrong_password_look_the_same(app) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "officer@example.org", "outreach")
    one = sign_in(app.test_client(), "nobody@example.org", "whatever password")
    two = sign_in(app.test_client(), "officer@example.org", "whatever password")
    assert one.status_code == two.status_code == 401


def test_next_parameter_cannot_send_you_elsewhere(app) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "officer@example.org", "outreach")
    client = app.test_client()
    token = csrf_token(client, "/staff/login")
    response = client.post("/staff/login?next=https://evil.example/", data={"email": "officer@example.org", "password": PASSWORD, "csrf_token": token})
    response = finish_sign_in(client, response, "officer@example.org")
    assert response.headers["Location"].endswith("/staff/imports")


def test_ministry_role_cannot_import(app) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "minister@example.org", "ministry")
    client = app.test_client()
    sign_in(client, "minister@example.org")
    assert client.get("/staff/imports").status_code == 403
    assert client.get("/staff/imports/template.csv").status_code == 403


def test_repeated_failed_sign_ins_are_slowed_down(database_url) -> None:  # type: ignore[no-untyped-def]
    app = make_app(database_url, RATELIMIT_ENABLED=True)
    make_user(app, "officer@example.org", "outreach")
    client = app.test_client()
    codes = [sign_in(client, "officer@example.org", f"wrong password {n}").status_code for n in range(6)]
    assert codes[:5] == [401] * 5 and codes[5] == 429
    assert sign_in(client, "officer@example.org").status_code == 429  # even the right one, for now


@pytest.mark.parametrize("path", ["/staff/imports", "/staff/imports/1", "/staff/imports/1/report.csv"])
def test_staff_pages_need_sign_in(client, path: str) -> None:  # type: ignore[no-untyped-def]
    assert client.get(path).status_code == 302
