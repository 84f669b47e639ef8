"""MFA for every staff role: enrolment at the first sign-in (QR code and key, recovery codes
shown once), codes at every sign-in, each code and recovery code used once, failures recorded
and slowed down."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pyotp
import pytest
import sqlalchemy as sa

from registry.extensions import db
from registry.staff import mfa
from tests.helpers import PASSWORD, csrf_token, make_app, make_user, mfa_code, sign_in


def kinds(app) -> list[str]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return list(db.session.execute(sa.text("SELECT kind FROM event ORDER BY id")).scalars())


def password_step(client, email: str):  # type: ignore[no-untyped-def]
    token = csrf_token(client, "/staff/login")
    return client.post("/staff/login", data={"email": email, "password": PASSWORD, "csrf_token": token})


def enrol(client, path: str = "/staff/login/enrol") -> tuple[str, list[str]]:  # type: ignore[no-untyped-def]
    """Read the key off the enrolment page, confirm with a code: the key and the recovery codes shown."""
    page = client.get(path).get_data(as_text=True)
    secret = re.search(r'id="mfa-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")  # type: ignore[union-attr]
    token = csrf_token(client, path)
    response = client.post(path, data={"code": pyotp.TOTP(secret).now(), "csrf_token": token})
    assert response.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", response.get_data(as_text=True))
    return secret, codes


@pytest.mark.parametrize("role", ["outreach", "ministry", "admin"])
def test_every_role_enrols_at_the_first_sign_in_and_needs_a_code_after(app, role: str) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "new@example.org", role, enrol_mfa=False)
    client = app.test_client()
    assert password_step(client, "new@example.org").headers["Location"].endswith("/staff/login/enrol")
    page = client.get("/staff/login/enrol?lang=en").get_data(as_text=True)
    assert "<svg" in page and 'id="mfa-secret"' in page  # a QR code drawn inline, and the key to type
    assert client.get("/staff/account").status_code == 302  # not signed in yet
    token = csrf_token(client, "/staff/login/enrol")
    assert client.post("/staff/login/enrol", data={"code": "000000", "csrf_token": token}).status_code == 401
    secret, codes = enrol(client)
    assert len(codes) == 8 and len(set(codes)) == 8
    assert client.get("/staff/account").status_code == 200  # signed in now
    with app.app_context():
        stored = db.session.execute(sa.text("SELECT code_hash FROM staff_recovery_code")).scalars().all()
    assert len(stored) == 8 and all(h.startswith("$argon2id$") for h in stored)
    assert not any(code.replace("-", "") in h for code in codes for h in stored)
    assert kinds(app)[-3:] == ["mfa_failed", "mfa_enrolled", "sign_in"]

    again = app.test_client()  # the next sign-in asks for a code from the app
    assert password_step(again, "new@example.org").headers["Location"].endswith("/staff/login/code")
    assert again.get("/staff/account").status_code == 302
    assert sign_in(again, "new@example.org").status_code == 303
    assert again.get("/staff/account").status_code == 200


def test_a_code_is_accepted_once_within_one_step_of_drift() -> None:
    secret = mfa.new_secret()
    totp = pyotp.TOTP(secret)
    now = datetime(2026, 11, 26, 3, 0, 10, tzinfo=timezone.utc)
    step = int(now.timestamp()) // 30
    assert mfa.matching_step(secret, totp.at(now), now, None) == step
    assert mfa.matching_step(secret, totp.at(now), now, step) is None  # used: refused
    assert mfa.matching_step(secret, totp.at(now - timedelta(seconds=30)), now, None) == step - 1
    assert mfa.matching_step(secret, totp.at(now + timedelta(seconds=30)), now, step) == step + 1
    assert mfa.matching_step(secret, totp.at(now - timedelta(seconds=60)), now, None) is None
    assert mfa.matching_step(secret, totp.at(now + timedelta(seconds=60)), now, None) is None
    spaced = " ".join(totp.at(now))
    assert mfa.matching_step(secret, spaced, now, None) == step  # typed with spaces


def test_a_used_code_is_refused_at_sign_in(app) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "officer@example.org", "outreach")
    first = app.test_client()
    password_step(first, "officer@example.org")
    code = mfa_code(app, "officer@example.org")
    token = csrf_token(first, "/staff/login/code")
    assert first.post("/staff/login/code", data={"code": code, "csrf_token": token}).status_code == 303
    second = app.test_client()
    password_step(second, "officer@example.org")
    token = csrf_token(second, "/staff/login/code")
    assert second.post("/staff/login/code", data={"code": code, "csrf_token": token}).status_code == 401
    assert second.get("/staff/imports").status_code == 302
    assert kinds(app)[-1] == "mfa_failed"


def test_a_recovery_code_signs_in_once(app) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "officer@example.org", "outreach", enrol_mfa=False)
    client = app.test_client()
    password_step(client, "officer@example.org")
    _secret, codes = enrol(client)
    for attempt, expected in ((codes[3], 303), (codes[3].upper().replace("-", " "), 401)):
        lost_phone = app.test_client()
        assert password_step(lost_phone, "officer@example.org").status_code == 303
        token = csrf_token(lost_phone, "/staff/login/code")
        response = lost_phone.post("/staff/login/recovery", data={"recovery_code": attempt, "csrf_token": token})
        assert response.status_code == expected
    assert kinds(app)[-3:] == ["recovery_code_used", "sign_in", "mfa_failed"]
    with app.app_context():
        detail = db.session.execute(sa.text("SELECT detail FROM event WHERE kind = 'recovery_code_used'")).scalar_one()
        used = db.session.execute(sa.text("SELECT count(*) FROM staff_recovery_code WHERE used_at IS NOT NULL")).scalar_one()
    assert "7" in str(detail) and used == 1


def test_new_recovery_codes_replace_the_old_ones(app) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "officer@example.org", "outreach", enrol_mfa=False)
    client = app.test_client()
    password_step(client, "officer@example.org")
    _secret, old = enrol(client)
    token = csrf_token(client, "/staff/account")
    assert client.post("/staff/account/recovery-codes", data={"code": "123", "csrf_token": token}).status_code == 422
    response = client.post("/staff/account/recovery-codes", data={"code": mfa_code(app, "officer@example.org"), "csrf_token": token})
    new = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", response.get_data(as_text=True))
    assert len(new) == 8 and not set(new) & set(old)
    other = app.test_client()
    password_step(other, "officer@example.org")
    token = csrf_token(other, "/staff/login/code")
    assert other.post("/staff/login/recovery", data={"recovery_code": old[0], "csrf_token": token}).status_code == 401
    assert other.post("/staff/login/recovery", data={"recovery_code": new[0], "csrf_token": token}).status_code == 303


def test_wrong_codes_are_slowed_down(database_url) -> None:  # type: ignore[no-untyped-def]
    app = make_app(database_url, RATELIMIT_ENABLED=True)
    make_user(app, "officer@example.org", "outreach")
    client = app.test_client()
    password_step(client, "officer@example.org")
    token = csrf_token(client, "/staff/login/code")
    statuses = [client.post("/staff/login/code", data={"code": f"00000{n}", "csrf_token": token}).status_code for n in range(6)]
    assert statuses == [401] * 5 + [429]
    right = client.post("/staff/login/code", data={"code": mfa_code(app, "officer@example.org"), "csrf_token": token})
    assert right.status_code == 429  # even the right one, for now
    assert kinds(app).count("mfa_failed") == 5
