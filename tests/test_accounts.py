"""Passwords (argon2id, rehash at sign-in, common and weak ones refused), the user's own
password change, and an admin's reset, MFA reset, disable and enable: in the pages (admins
only) and from the command line."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from werkzeug.security import generate_password_hash

from registry.extensions import db
from registry.staff.passwords import common_passwords, password_problem
from tests.helpers import PASSWORD, csrf_token, finish_sign_in, make_user, mfa_code, sign_in

NEW_PASSWORD = "mango rain over kampot river"


def kinds(app) -> list[str]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return list(db.session.execute(sa.text("SELECT kind FROM event ORDER BY id")).scalars())


def stored_hash(app, email: str) -> str:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.execute(sa.text("SELECT password_hash FROM staff_user WHERE email = :e"), {"e": email}).scalar_one()


def set_hash(app, email: str, value: str) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        db.session.execute(sa.text("UPDATE staff_user SET password_hash = :h WHERE email = :e"), {"h": value, "e": email})
        db.session.commit()


def user_id(app, email: str) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.execute(sa.text("SELECT id FROM staff_user WHERE email = :e"), {"e": email}).scalar_one()


def admin_client(app):  # type: ignore[no-untyped-def]
    make_user(app, "admin@example.org", "admin")
    client = app.test_client()
    assert sign_in(client, "admin@example.org").status_code == 303
    return client


def admin_action(admin, target: int, action: str):  # type: ignore[no-untyped-def]
    token = csrf_token(admin, "/staff/accounts")
    return admin.post(f"/staff/accounts/{target}/{action}", data={"csrf_token": token})


# Passwords -------------------------------------------------------------------------------


@pytest.mark.parametrize(("password", "why"), [
    ("aaaaaaaaaaaa", "repeated pattern"),
    ("abcabcabcabc", "repeated pattern"),
    ("short pass", "at least 12"),
    ("1qaz2wsx3edc4rfv", "most common"),
    ("Tonle Sap at dawn", None),  # a phrase not on the list: allowed
    ("Password1234", "most common"),  # the list is compared without case
    ("new.person@example.org!", "e-mail address"),
])
def test_weak_and_common_passwords_are_refused(runner, password: str, why: str | None) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["create-user", "new.person@example.org", "--role", "outreach", "--password-stdin"],
                           input=password + "\n")
    if why is None:
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code != 0 and why in result.output


def test_the_common_password_list_has_thousands_of_long_passwords() -> None:
    listed = common_passwords()
    assert len(listed) > 40_000 and min(map(len, listed)) >= 12  # ASVS: at least the top 3,000 of policy length
    assert password_problem(PASSWORD, "officer@example.org") is None


def test_passwords_are_argon2id_and_older_hashes_are_replaced_at_sign_in(app) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "officer@example.org", "outreach")
    assert stored_hash(app, "officer@example.org").startswith("$argon2id$v=19$m=47104,t=1,p=1$")
    set_hash(app, "officer@example.org", generate_password_hash(PASSWORD, method="scrypt"))  # as stored before
    assert sign_in(app.test_client(), "officer@example.org").status_code == 303
    assert stored_hash(app, "officer@example.org").startswith("$argon2id$v=19$m=47104,t=1,p=1$")
    weaker = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    set_hash(app, "officer@example.org", weaker)
    assert sign_in(app.test_client(), "officer@example.org").status_code == 303
    assert stored_hash(app, "officer@example.org").startswith("$argon2id$v=19$m=47104,t=1,p=1$")
    assert sign_in(app.test_client(), "officer@example.org", "wrong password!").status_code == 401


def test_a_user_changes_their_password(app) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "officer@example.org", "outreach")
    client, other = app.test_client(), app.test_client()
    sign_in(client, "officer@example.org")
    sign_in(other, "officer@example.org")
    token = csrf_token(client, "/staff/account")

    def change(**fields: str):  # type: ignore[no-untyped-def]
        form = {"current_password": PASSWORD, "code": mfa_code(app, "officer@example.org"), "new_password": NEW_PASSWORD,
                "confirm": NEW_PASSWORD, "csrf_token": token, **fields}
        return client.post("/staff/account/password?lang=en", data=form)

    assert "not your current password" in change(current_password="guess guess guess").get_data(as_text=True)
    assert "code is not right" in change(code="000000").get_data(as_text=True)
    assert "most common" in change(new_password="1qaz2wsx3edc4rfv", confirm="1qaz2wsx3edc4rfv").get_data(as_text=True)
    assert "not the same" in change(confirm="something else entirely").get_data(as_text=True)
    assert stored_hash(app, "officer@example.org") and sign_in(app.test_client(), "officer@example.org").status_code == 303
    assert change().status_code == 303
    assert client.get("/staff/account").status_code == 200  # this session goes on
    assert other.get("/staff/imports").status_code == 302  # the others have ended
    assert sign_in(app.test_client(), "officer@example.org").status_code == 401
    assert sign_in(app.test_client(), "officer@example.org", NEW_PASSWORD).status_code == 303
    assert kinds(app).count("password_changed") == 1 and "mfa_failed" in kinds(app)


# Admins, in the pages ----------------------------------------------------------------------


def test_only_admins_manage_accounts(app) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "min@example.org", "ministry")
    make_user(app, "out@example.org", "outreach")
    target = user_id(app, "out@example.org")
    assert app.test_client().get("/staff/accounts").status_code == 302
    ministry = app.test_client()
    sign_in(ministry, "min@example.org")
    assert ministry.get("/staff/accounts").status_code == 403
    token = csrf_token(ministry, "/staff/account")
    for action in ("reset-password", "reset-mfa", "disable", "enable"):
        assert ministry.post(f"/staff/accounts/{target}/{action}", data={"csrf_token": token}).status_code == 403
    admin = admin_client(app)
    assert "out@example.org" in admin.get("/staff/accounts").get_data(as_text=True)
    own = user_id(app, "admin@example.org")
    assert admin_action(admin, own, "disable").status_code == 303
    assert admin.get("/staff/imports").status_code == 200  # an admin cannot disable themselves
    assert admin.post(f"/staff/accounts/{target}/disable", data={}).status_code == 400  # no CSRF token
    assert admin_action(admin, 999, "disable").status_code == 404


def test_admin_reset_password_is_temporary_and_changed_at_the_next_sign_in(app) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "officer@example.org", "outreach")
    officer = app.test_client()
    sign_in(officer, "officer@example.org")
    admin = admin_client(app)
    page = admin_action(admin, user_id(app, "officer@example.org"), "reset-password").get_data(as_text=True)
    temporary = re.search(r'id="temporary-password">([a-z2-9-]+)<', page).group(1)  # type: ignore[union-attr]
    assert officer.get("/staff/imports").status_code == 302  # their sessions ended
    assert sign_in(app.test_client(), "officer@example.org").status_code == 401  # the old password is gone
    client = app.test_client()
    response = sign_in(client, "officer@example.org", temporary)
    assert response.headers["Location"].endswith("/staff/login/new-password")
    assert client.get("/staff/imports").status_code == 302  # not signed in until the new password
    token = csrf_token(client, "/staff/login/new-password")
    refused = client.post("/staff/login/new-password", data={"new_password": temporary, "confirm": temporary, "csrf_token": token})
    assert refused.status_code == 422
    done = client.post("/staff/login/new-password", data={"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "csrf_token": token})
    assert done.status_code == 303 and done.headers["Location"].endswith("/staff/imports")
    assert client.get("/staff/imports").status_code == 200
    assert sign_in(app.test_client(), "officer@example.org", temporary).status_code == 401
    assert kinds(app)[-3:] == ["password_changed", "sign_in", "sign_in_failed"]
    assert "password_reset" in kinds(app)


def test_a_temporary_password_expires_after_72_hours(app, runner) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "officer@example.org", "outreach")
    result = runner.invoke(args=["reset-password", "officer@example.org"])
    temporary = result.output.rsplit(" ", 1)[1].strip()
    with app.app_context():
        db.session.execute(sa.text("UPDATE staff_user SET temporary_password_until = :t"),
                           {"t": datetime.now(timezone.utc) - timedelta(minutes=1)})
        db.session.commit()
    assert sign_in(app.test_client(), "officer@example.org", temporary).status_code == 401


def test_admin_resets_mfa_and_the_user_enrols_again(app) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "officer@example.org", "outreach")
    officer = app.test_client()
    sign_in(officer, "officer@example.org")
    admin = admin_client(app)
    assert admin_action(admin, user_id(app, "officer@example.org"), "reset-mfa").status_code == 303
    assert "app not set up" in admin.get("/staff/accounts?lang=en").get_data(as_text=True)
    assert officer.get("/staff/imports").status_code == 302
    client = app.test_client()
    token = csrf_token(client, "/staff/login")
    response = client.post("/staff/login", data={"email": "officer@example.org", "password": PASSWORD, "csrf_token": token})
    assert response.headers["Location"].endswith("/staff/login/enrol")
    assert "mfa_reset" in kinds(app)


def test_admin_disables_and_enables_an_account(app) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "officer@example.org", "outreach")
    officer = app.test_client()
    sign_in(officer, "officer@example.org")
    admin = admin_client(app)
    target = user_id(app, "officer@example.org")
    assert admin_action(admin, target, "disable").status_code == 303
    assert officer.get("/staff/imports").status_code == 302
    assert sign_in(app.test_client(), "officer@example.org").status_code == 401
    assert "disabled" in admin.get("/staff/accounts?lang=en").get_data(as_text=True)
    assert admin_action(admin, target, "enable").status_code == 303
    assert sign_in(app.test_client(), "officer@example.org").status_code == 303
    assert officer.get("/staff/imports").status_code == 302  # an old session does not come back
    assert [k for k in kinds(app) if k.startswith("account_")][-2:] == ["account_disabled", "account_enabled"]


# From the command line ------------------------------------------------------------------


def test_reset_disable_enable_and_reset_mfa_from_the_command_line(app, runner) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "officer@example.org", "outreach")
    officer = app.test_client()
    sign_in(officer, "officer@example.org")
    assert runner.invoke(args=["disable-user", "nobody@example.org"]).exit_code != 0

    assert runner.invoke(args=["disable-user", "Officer@example.org"]).exit_code == 0
    assert officer.get("/staff/imports").status_code == 302
    assert sign_in(app.test_client(), "officer@example.org").status_code == 401
    assert runner.invoke(args=["enable-user", "officer@example.org"]).exit_code == 0
    assert sign_in(officer, "officer@example.org").status_code == 303

    result = runner.invoke(args=["reset-password", "officer@example.org"])
    assert result.exit_code == 0 and "72 hours" in result.output
    temporary = result.output.rsplit(" ", 1)[1].strip()
    assert officer.get("/staff/imports").status_code == 302
    client = app.test_client()
    assert sign_in(client, "officer@example.org", temporary).headers["Location"].endswith("/staff/login/new-password")

    assert runner.invoke(args=["reset-mfa", "officer@example.org"]).exit_code == 0
    token = csrf_token(client, "/staff/login")
    response = client.post("/staff/login", data={"email": "officer@example.org", "password": temporary, "csrf_token": token})
    assert response.headers["Location"].endswith("/staff/login/enrol")

    with app.app_context():
        rows = db.session.execute(sa.text("SELECT kind, staff_user_id, detail FROM event WHERE kind IN"
                                          " ('account_disabled', 'account_enabled', 'password_reset', 'mfa_reset') ORDER BY id")).all()
    assert [kind for kind, _by, _detail in rows] == ["account_disabled", "account_enabled", "password_reset", "mfa_reset"]
    assert all(by is None and "command line" in str(detail) for _kind, by, detail in rows)
