"""Requests that carry control characters, and what browsers and proxies may keep."""
from __future__ import annotations

import io

import pytest

from tests.helpers import csrf_token, make_app, make_user, sign_in, valid_form


@pytest.mark.parametrize("send", [
    lambda c, t: c.post("/staff/login", data={"email": "a\x00b@example.org", "password": "x" * 12, "csrf_token": t}),
    lambda c, t: c.post("/staff/login?next=/dashboard%0d%0aSet-Cookie:x=1", data={"email": "a@example.org", "password": "x" * 12, "csrf_token": t}),
    lambda c, t: c.post("/register", data={**valid_form(full_name="Sok\x00Dara"), "csrf_token": t}),
    lambda c, t: c.post("/status", data={"registration_number": "0000\x00", "phone": "012345678", "csrf_token": t}),
    lambda c, t: c.get("/areas/districts?province=1%002"),
    lambda c, t: c.get("/stats?area=%00"),
], ids=["nul-in-login-email", "crlf-in-next", "nul-in-form", "nul-in-status", "nul-in-parameter", "nul-in-stats-area"])
def test_control_characters_get_a_400_naming_the_field(client, send) -> None:  # type: ignore[no-untyped-def]
    client.get("/register?lang=en")  # messages in English for the assertion
    response = send(client, csrf_token(client, "/register"))
    assert response.status_code == 400
    assert "contains a control character" in response.get_data(as_text=True)


def test_control_characters_in_an_api_parameter_get_a_json_400(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/api/v1/stats?province=1%002&lang=en")
    assert response.status_code == 400
    assert response.json["error"]["field"] == "province" and "control character" in response.json["error"]["message"]


def test_an_upload_whose_file_name_holds_a_nul_gets_a_400(app, outreach) -> None:  # type: ignore[no-untyped-def]
    token = csrf_token(outreach, "/staff/imports")
    response = outreach.post("/staff/imports?lang=en", data={
        "csrf_token": token, "consent": "y", "file": (io.BytesIO(b"category\n"), "bad\x00name.csv"),
    }, content_type="multipart/form-data")
    assert response.status_code == 400 and "“file” contains a control character" in response.get_data(as_text=True)


def test_nothing_with_personal_data_or_exact_counts_is_cached(app, outreach) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "min@example.org", "ministry")
    ministry = app.test_client()
    sign_in(ministry, "min@example.org")
    for client, path in ((outreach, "/staff/imports"), (outreach, "/staff/imports/template.csv"),
                         (ministry, "/dashboard/export/by_category.csv?year=2024"), (ministry, "/api/v1/stats"),
                         (ministry, "/dashboard"), (app.test_client(), "/register"), (app.test_client(), "/api/v1/stats")):
        assert client.get(path).headers["Cache-Control"] == "no-store", path
    with app.test_client().get("/static/css/app.css", follow_redirects=True) as static:
        assert "no-store" not in (static.headers.get("Cache-Control") or "")


def test_hsts_only_when_cookies_are_secure(database_url: str) -> None:
    secure = make_app(database_url, SESSION_COOKIE_SECURE=True).test_client().get("/register")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=63072000")
    plain = make_app(database_url, SESSION_COOKIE_SECURE=False).test_client().get("/register")
    assert "Strict-Transport-Security" not in plain.headers


def test_a_favicon_is_served(client) -> None:  # type: ignore[no-untyped-def]
    with client.get("/favicon.ico") as icon:
        assert icon.status_code == 200 and icon.mimetype == "image/svg+xml" and b"<svg" in icon.data
    assert 'rel="icon"' in client.get("/register").get_data(as_text=True)
