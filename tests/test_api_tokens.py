"""API tokens for programs: made, listed and revoked at /staff/tokens by ministry and admin
staff; `Authorization: Bearer` on the API acts as the token's creator *now*, within its
scopes; stored as a hash; every use in the event log; nothing of it in logs or cookies."""
from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import subprocess
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any, Iterator

import jsonschema
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from werkzeug.serving import make_server

from registry import clock
from registry.extensions import db
from registry.tokens.models import ApiToken
from registry.tokens.services import status
from tests.helpers import csrf_token, make_app, make_user, sign_in
from tests.import_files import good, write_csv

TOKEN_ON_PAGE = re.compile(r'<code id="api-token">([^<]+)</code>')
EVERY_SCOPE = ("statistics", "exact_counts", "dhis2")


@pytest.fixture
def registry(app, runner, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Eight people registered in December 2024: three in province 08, five in province 12."""
    rows = [good(100 + i, province="08", district="0801", commune="080101") for i in range(3)]
    rows += [good(200 + i, category="employee") for i in range(5)]
    assert runner.invoke(args=["import-actors", str(write_csv(tmp_path / "people.csv", rows))]).exit_code == 0
    return app


def staff(app, email: str, role: str = "ministry", province: str | None = None):  # type: ignore[no-untyped-def]
    make_user(app, email, role, province)
    client = app.test_client()
    assert sign_in(client, email).status_code == 303
    return client


def make_token(client, name: str = "DHIS2 server", scopes: tuple[str, ...] = EVERY_SCOPE, days: str = "90") -> str:  # type: ignore[no-untyped-def]
    """Make a token through the page, as a person does; the secret as the next page shows it."""
    response = client.post("/staff/tokens", data={"csrf_token": csrf_token(client, "/staff/tokens"), "name": name,
                                                  "scopes": list(scopes), "days": days})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    found = TOKEN_ON_PAGE.search(response.get_data(as_text=True))
    assert found, "the new token is not on the page"
    return found.group(1)


def bearer(app, path: str, token: str) -> Any:
    """A program's request: no cookie, the token in the Authorization header."""
    return app.test_client().get(path, headers={"Authorization": f"Bearer {token}"})


def events(app, kind: str) -> list[dict[str, Any]]:
    with app.app_context():
        rows = db.session.execute(sa.text("SELECT staff_user_id, subject, detail FROM event WHERE kind = :k ORDER BY id"),
                                  {"k": kind}).all()
    return [{"by": r[0], "subject": r[1], "detail": json.loads(r[2]) if isinstance(r[2], str) else r[2]} for r in rows]


def error_validator(app) -> jsonschema.Draft202012Validator:  # type: ignore[no-untyped-def]
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    return jsonschema.Draft202012Validator({"$ref": "#/components/schemas/Error", "components": document["components"]})


def refused(app, response, status: int = 401) -> dict[str, str]:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/json"
    error_validator(app).validate(response.get_json())
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "Set-Cookie" not in response.headers
    return response.get_json()["error"]  # type: ignore[no-any-return]


def test_a_ministry_token_made_in_the_page_reads_exact_counts_and_the_dhis2_export(registry) -> None:  # type: ignore[no-untyped-def]
    ministry = staff(registry, "minister@example.org")
    page = ministry.get("/staff/tokens?lang=en").get_data(as_text=True)
    assert 'id="new-token"' in page and "No tokens yet." in page
    token = make_token(ministry)
    assert re.fullmatch(r"ier_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", token)

    stats = bearer(registry, "/api/v1/stats?as_of=2024-12-31", token)
    assert stats.status_code == 200 and "Set-Cookie" not in stats.headers
    payload = stats.get_json()
    assert payload["exact"] is True and payload["protection"] is None and payload["total"]["count"] == 8
    assert bearer(registry, "/api/v1/stats?province=08&since=2024-12-20&as_of=2024-12-20", token).get_json()["total"]["count"] == 3
    export = bearer(registry, "/api/v1/dhis2/dataValueSet?period=202412", token)
    assert export.status_code == 200 and "Set-Cookie" not in export.headers
    values = {(v["orgUnit"], v["dataElement"]): int(v["value"]) for v in export.get_json()["dataValues"]}
    assert values[("08", "IE_REG_SELF_EMPLOYED")] == 3 and values[("12", "IE_REG_EMPLOYEE")] == 5

    # The secret was shown once: the list names the token by its identifier only.
    listing = ministry.get("/staff/tokens?lang=en").get_data(as_text=True)
    assert token not in listing and token[:16] in listing and "DHIS2 server" in listing
    used = events(registry, "api_token_used")
    assert [e["detail"] for e in used] == [
        {"endpoint": "/api/v1/stats", "status": 200}, {"endpoint": "/api/v1/stats", "status": 200},
        {"endpoint": "/api/v1/dhis2/dataValueSet", "status": 200}]
    created = events(registry, "api_token_created")
    assert len(created) == 1 and created[0]["subject"] == used[0]["subject"] and used[0]["by"] == created[0]["by"]


def test_a_revoked_token_stops_working_at_once(registry) -> None:  # type: ignore[no-untyped-def]
    ministry = staff(registry, "minister@example.org")
    token = make_token(ministry)
    assert bearer(registry, "/api/v1/stats", token).status_code == 200
    with registry.app_context():
        token_id = db.session.execute(sa.text("SELECT id FROM api_token")).scalar_one()
    form = {"csrf_token": csrf_token(ministry, "/staff/tokens")}
    assert ministry.post(f"/staff/tokens/{token_id}/revoke", data={}).status_code == 400  # no CSRF token
    assert bearer(registry, "/api/v1/stats", token).status_code == 200
    response = ministry.post(f"/staff/tokens/{token_id}/revoke?lang=en", data=form, follow_redirects=True)
    assert response.status_code == 200 and "stops working now" in response.get_data(as_text=True)
    for path in ("/api/v1/stats", "/api/v1/dhis2/dataValueSet", "/api/v1/indicators"):
        error = refused(registry, bearer(registry, path + "?lang=en", token))
        assert error["field"] == "Authorization" and "revoked" in error["message"]
    assert 'error="invalid_token"' in bearer(registry, "/api/v1/stats", token).headers["WWW-Authenticate"]
    assert [e["detail"]["via"] for e in events(registry, "api_token_revoked")] == ["web"]
    assert {e["detail"]["reason"] for e in events(registry, "api_token_refused")} == {"revoked"}
    page = ministry.get("/staff/tokens?lang=en").get_data(as_text=True)
    assert "revoked" in page and 'class="revoke"' not in page  # nothing left to revoke


def test_an_expired_token_gets_401(registry, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    ministry = staff(registry, "minister@example.org")
    token = make_token(ministry, days="30")
    real_now = clock.now
    monkeypatch.setattr(clock, "now", lambda: real_now() + timedelta(days=29, hours=23))
    assert bearer(registry, "/api/v1/stats", token).status_code == 200
    monkeypatch.setattr(clock, "now", lambda: real_now() + timedelta(days=30, minutes=1))
    assert "expired" in refused(registry, bearer(registry, "/api/v1/stats?lang=en", token))["message"]
    with registry.app_context():  # (the page says so too, but the staff session has ended by then: 30 days idle)
        assert status(db.session.scalars(sa.select(ApiToken)).one(), clock.now()) == "expired"


def test_a_token_lacking_the_scope_gets_403_naming_it(registry) -> None:  # type: ignore[no-untyped-def]
    ministry = staff(registry, "minister@example.org")
    statistics_only = make_token(ministry, "Statistics office script", ("statistics",))
    dhis2_only = make_token(ministry, "DHIS2", ("dhis2",))
    response = bearer(registry, "/api/v1/dhis2/dataValueSet?lang=en", statistics_only)
    error = refused(registry, response, 403)
    assert error["field"] == "scope" and "dhis2" in error["message"]
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="registry", error="insufficient_scope", scope="dhis2"'
    for path in ("/api/v1/stats", "/api/v1/indicators"):
        assert "statistics" in refused(registry, bearer(registry, path + "?lang=en", dhis2_only), 403)["message"]
    assert bearer(registry, "/api/v1/dhis2/dataValueSet", dhis2_only).status_code == 200
    # Without exact_counts a token reads what the public reads: protected, whole months only.
    public = bearer(registry, "/api/v1/stats", statistics_only).get_json()
    assert public["exact"] is False and public["protection"] is not None
    assert bearer(registry, "/api/v1/stats?since=2024-12-01", statistics_only).status_code == 400
    assert [e["detail"]["status"] for e in events(registry, "api_token_used")] == [403, 403, 403, 200, 200, 400]


def test_a_province_limited_creators_token_sees_only_that_province(registry) -> None:  # type: ignore[no-untyped-def]
    kampot = staff(registry, "province08@example.org", province="08")
    assert "province 08 only" in kampot.get("/staff/tokens?lang=en").get_data(as_text=True)
    token = make_token(kampot)
    payload = bearer(registry, "/api/v1/stats?as_of=2024-12-31", token).get_json()
    assert payload["area"]["code"] == "08" and payload["total"]["count"] == 3
    outside = bearer(registry, "/api/v1/stats?province=12", token)
    assert outside.status_code == 403 and outside.get_json()["error"]["field"] == "province"
    units = {v["orgUnit"] for v in bearer(registry, "/api/v1/dhis2/dataValueSet?period=2024", token).get_json()["dataValues"]}
    assert units and all(unit.startswith("08") for unit in units)
    assert events(registry, "forbidden") == []  # the 403 is the token's use, recorded once
    assert [e["detail"]["status"] for e in events(registry, "api_token_used")] == [200, 403, 200]


def test_the_token_acts_as_its_creator_now(registry) -> None:  # type: ignore[no-untyped-def]
    ministry = staff(registry, "minister@example.org")
    token = make_token(ministry)
    runner = registry.test_cli_runner()
    assert runner.invoke(args=["disable-user", "minister@example.org"]).exit_code == 0
    assert "disabled" in refused(registry, bearer(registry, "/api/v1/stats?lang=en", token))["message"]
    assert runner.invoke(args=["enable-user", "minister@example.org"]).exit_code == 0
    assert bearer(registry, "/api/v1/stats", token).status_code == 200
    with registry.app_context():  # the role lowered (no page does it: an administrator's SQL)
        db.session.execute(sa.text("UPDATE staff_user SET role = 'outreach' WHERE email = 'minister@example.org'"))
        db.session.commit()
    refused(registry, bearer(registry, "/api/v1/dhis2/dataValueSet", token))
    with registry.app_context():  # a province limit added later applies at once
        db.session.execute(sa.text("UPDATE staff_user SET role = 'ministry', province_code = '12'"
                                   " WHERE email = 'minister@example.org'"))
        db.session.commit()
    assert bearer(registry, "/api/v1/stats?as_of=2024-12-31", token).get_json()["area"]["code"] == "12"
    assert [e["detail"]["reason"] for e in events(registry, "api_token_refused")] == ["account", "account"]


def test_outreach_staff_cannot_reach_the_tokens_page(registry) -> None:  # type: ignore[no-untyped-def]
    outreach = staff(registry, "officer@example.org", "outreach")
    assert outreach.get("/staff/tokens").status_code == 403
    token = csrf_token(outreach, "/staff/imports")
    assert outreach.post("/staff/tokens", data={"csrf_token": token, "name": "x", "scopes": ["statistics"],
                                                "days": "30"}).status_code == 403
    assert registry.test_client().get("/staff/tokens").status_code == 302  # to the sign-in page
    with registry.app_context():
        assert db.session.execute(sa.text("SELECT count(*) FROM api_token")).scalar_one() == 0


def test_the_secret_is_stored_only_as_a_hash_which_is_not_a_token(registry) -> None:  # type: ignore[no-untyped-def]
    ministry = staff(registry, "minister@example.org")
    token = make_token(ministry)
    secret_part = token.split("_", 2)[2]  # ier_<public id>_<secret>: the secret itself may hold "_"
    with registry.app_context():
        row = db.session.execute(sa.text("SELECT * FROM api_token")).mappings().one()
        dumped = " ".join(str(value) for value in row.values())
        in_events = " ".join(str(r) for r in db.session.execute(sa.text("SELECT subject, detail FROM event")).all())
    assert secret_part not in dumped and token not in dumped and secret_part not in in_events
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert token.startswith(f"ier_{row['public_id']}_")
    for guess in (row["token_hash"], f"ier_{row['public_id']}_{row['token_hash']}",
                  f"ier_{row['public_id']}_{row['token_hash'][:43]}", f"ier_{row['public_id']}_{secret_part[:-1]}A"):
        refused(registry, bearer(registry, "/api/v1/stats", guess))
    assert bearer(registry, "/api/v1/stats", token).status_code == 200


@pytest.mark.parametrize("header", [
    "Bearer", "Bearer ", "Bearer a b", "Bearer ier_x", "Basic dXNlcjpwYXNzd29yZA==", "Token abc", "ier_abc", "",
    "Bearer " + "a" * 5000, "Bearer \u00e9\u00e9\u00e9", "Bearer abc\u0085def",
])
def test_a_malformed_authorization_header_gets_401_json_never_500(registry, header: str) -> None:  # type: ignore[no-untyped-def]
    for path in ("/api/v1/stats", "/api/v1/indicators", "/api/v1/dhis2/dataValueSet", "/api/v1/openapi.json"):
        response = registry.test_client().get(path + "?lang=en", headers={"Authorization": header})
        error = refused(registry, response)
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="registry", error="invalid_token"'
        assert error["field"] == "Authorization"


def test_a_token_request_neither_reads_nor_sets_the_session_cookie(registry) -> None:  # type: ignore[no-untyped-def]
    ministry = staff(registry, "minister@example.org")
    public_token = make_token(ministry, "public figures", ("statistics",))
    # Signed in (exact counts) and sending a token: the token is who asks.
    answer = ministry.get("/api/v1/stats?lang=en", headers={"Authorization": f"Bearer {public_token}"})
    assert answer.status_code == 200 and answer.get_json()["exact"] is False and "Set-Cookie" not in answer.headers
    refused(registry, ministry.get("/api/v1/dhis2/dataValueSet", headers={"Authorization": "Bearer ier_nothing"}))
    assert ministry.get("/api/v1/stats").get_json()["exact"] is True  # the session itself goes on
    # A Bearer header on a staff page: no session there either (tokens are for the API only).
    assert ministry.get("/dashboard", headers={"Authorization": f"Bearer {public_token}"}).status_code == 302
    # ?lang= is remembered in a session: not for a token's request.
    assert "Set-Cookie" not in bearer(registry, "/api/v1/indicators?lang=en", public_token).headers


def test_a_token_in_the_address_is_refused_and_goes_nowhere(registry) -> None:  # type: ignore[no-untyped-def]
    ministry = staff(registry, "minister@example.org")
    token = make_token(ministry)
    for query in (f"?token={token}", f"?access_token={token}", f"?province=12&key=Bearer%20{token}"):
        response = registry.test_client().get("/api/v1/stats" + query + "&lang=en")
        assert response.status_code == 400 and "never in the address" in response.get_json()["error"]["message"]
    assert registry.test_client().get(f"/api/v1/stats?access_token={token}").get_json()["error"]["field"] == "access_token"
    assert events(registry, "api_token_used") == []


def test_every_use_is_an_event_and_the_token_is_in_no_log_line(registry, caplog) -> None:  # type: ignore[no-untyped-def]
    ministry = staff(registry, "minister@example.org")
    caplog.set_level(logging.DEBUG)
    token = make_token(ministry)
    for path in ("/api/v1/stats", "/api/v1/indicators", "/api/v1/dhis2/dataValueSet?period=1999", "/api/v1/openapi.json"):
        bearer(registry, path, token)
    used = events(registry, "api_token_used")
    assert [(e["detail"]["endpoint"], e["detail"]["status"]) for e in used] == [
        ("/api/v1/stats", 200), ("/api/v1/indicators", 200), ("/api/v1/dhis2/dataValueSet", 400), ("/api/v1/openapi.json", 200)]
    assert caplog.text.count("event api_token_used") == 4
    assert token not in caplog.text and token.split("_", 2)[2] not in caplog.text
    with registry.app_context():
        last_used = db.session.execute(sa.text("SELECT last_used_at FROM api_token")).scalar_one()
    assert last_used is not None


def test_an_admin_sees_and_revokes_every_token_a_ministry_account_only_its_own(registry) -> None:  # type: ignore[no-untyped-def]
    first, second = staff(registry, "first@example.org"), staff(registry, "second@example.org")
    admin = staff(registry, "admin@example.org", "admin")
    token = make_token(first, "first's script")
    make_token(second, "second's script")
    assert "second&#39;s script" not in first.get("/staff/tokens").get_data(as_text=True)
    listing = admin.get("/staff/tokens?lang=en").get_data(as_text=True)
    assert "first&#39;s script" in listing and "second&#39;s script" in listing and "first@example.org" in listing
    with registry.app_context():
        first_id = db.session.execute(sa.text("SELECT id FROM api_token WHERE name = :n"), {"n": "first's script"}).scalar_one()
    stranger = second.post(f"/staff/tokens/{first_id}/revoke", data={"csrf_token": csrf_token(second, "/staff/tokens")})
    assert stranger.status_code == 403 and bearer(registry, "/api/v1/stats", token).status_code == 200
    assert admin.post(f"/staff/tokens/{first_id}/revoke", data={"csrf_token": csrf_token(admin, "/staff/tokens")}).status_code == 303
    refused(registry, bearer(registry, "/api/v1/stats", token))
    assert admin.post("/staff/tokens/999/revoke", data={"csrf_token": csrf_token(admin, "/staff/tokens")}).status_code == 404


@pytest.mark.parametrize("form, field, text", [
    ({"name": "", "scopes": ["statistics"], "days": "30"}, "name", "Write a name"),
    ({"name": "   ", "scopes": ["statistics"], "days": "30"}, "name", "1 to 80 characters"),
    ({"name": "x" * 81, "scopes": ["statistics"], "days": "30"}, "name", "At most 80"),
    ({"name": "script", "days": "30"}, "scopes", "Tick at least one"),
    ({"name": "script", "scopes": ["exact_counts"], "days": "30"}, "scopes", "tick Statistics too"),
    ({"name": "script", "scopes": ["statistics", "everything"], "days": "30"}, "scopes", "Tick at least one"),
    ({"name": "script", "scopes": ["statistics"], "days": "3650"}, "days", "Choose how long the token works: at most 365"),
    ({"name": "script", "scopes": ["statistics"]}, "days", "Choose how long the token works."),
])
def test_a_wrong_form_makes_no_token_and_names_the_field(registry, form: dict[str, Any], field: str, text: str) -> None:  # type: ignore[no-untyped-def]
    ministry = staff(registry, "minister@example.org")
    response = ministry.post("/staff/tokens?lang=en", data={**form, "csrf_token": csrf_token(ministry, "/staff/tokens")})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'id="{field}-error"' in page and text in page and 'id="api-token"' not in page
    with registry.app_context():
        assert db.session.execute(sa.text("SELECT count(*) FROM api_token")).scalar_one() == 0


def test_the_database_holds_the_rules_of_a_token(registry) -> None:  # type: ignore[no-untyped-def]
    make_user(registry, "minister@example.org", "ministry")
    insert = sa.text(
        "INSERT INTO api_token (name, public_id, token_hash, scope_statistics, scope_exact_counts, scope_dhis2,"
        " scope_metrics, created_by_id, created_at, expires_at) VALUES (:name, :public_id, :hash, :statistics, :exact,"
        " :dhis2, :metrics, 1, :created, :expires)")
    now = clock.now().replace(microsecond=0)
    good_row = {"name": "script", "public_id": "0123456789ab", "hash": "0" * 64, "statistics": True, "exact": False,
                "dhis2": False, "metrics": False, "created": now, "expires": now + timedelta(days=365)}
    wrong = [{"name": ""}, {"public_id": "short"}, {"hash": "plain token"},
             {"statistics": False}, {"exact": True, "statistics": False, "dhis2": True},
             {"expires": now}, {"expires": now + timedelta(days=365, seconds=1)}]
    with registry.app_context():
        for change in wrong:
            with pytest.raises(IntegrityError):
                with db.engine.begin() as connection:
                    connection.execute(insert, {**good_row, **change})
        with db.engine.begin() as connection:
            connection.execute(insert, good_row)  # a year exactly is allowed
        with pytest.raises(IntegrityError):
            with db.engine.begin() as connection:
                connection.execute(insert, {**good_row, "hash": "1" * 64})  # the same public identifier
        with pytest.raises(IntegrityError):
            with db.engine.begin() as connection:
                connection.execute(sa.text("UPDATE api_token SET revoked_by_id = 1"))  # revoked by, but not when


def test_revoke_token_from_the_command_line(registry) -> None:  # type: ignore[no-untyped-def]
    ministry = staff(registry, "minister@example.org")
    token = make_token(ministry)
    identifier = token[:16]
    runner = registry.test_cli_runner()
    assert runner.invoke(args=["revoke-token", "ier_000000000000"]).exit_code == 1
    result = runner.invoke(args=["revoke-token", identifier + "…"])  # copied off the page as it shows it
    assert result.exit_code == 0 and identifier in result.output and "stops working now" in result.output
    refused(registry, bearer(registry, "/api/v1/stats", token))
    again = runner.invoke(args=["revoke-token", "1"])
    assert again.exit_code == 1 and "revoked already" in again.output
    assert [e["detail"] for e in events(registry, "api_token_revoked")] == [{"name": "DHIS2 server", "via": "command line"}]


def test_rate_limits_count_per_token_and_anonymous_callers_keep_theirs(database_url, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    app = make_app(database_url, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")
    ministry = staff(app, "minister@example.org")
    first, second = make_token(ministry, "first"), make_token(ministry, "second")
    assert [bearer(app, "/api/v1/indicators", first).status_code for _ in range(120)] == [200] * 120
    over = bearer(app, "/api/v1/indicators?lang=en", first)
    assert over.status_code == 429 and 1 <= int(over.headers["Retry-After"]) <= 60
    assert bearer(app, "/api/v1/indicators", second).status_code == 200  # another token: its own count
    assert app.test_client().get("/api/v1/indicators").status_code == 200  # anonymous, same address: its own
    assert events(app, "api_token_used")[-2]["detail"] == {"endpoint": "/api/v1/indicators", "status": 429}


@pytest.fixture
def server(registry) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The app served over real HTTP (as tests/test_browser.py does), for curl."""
    httpd = make_server("127.0.0.1", 0, registry, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join()


def curl(*args: str) -> tuple[int, dict[str, str], str]:
    """Run curl: (status, headers, body)."""
    done = subprocess.run(["curl", "--silent", "--show-error", "--include", "--max-time", "30", *args],
                          capture_output=True, text=True, check=True, timeout=60)
    head, _, body = done.stdout.replace("\r\n", "\n").partition("\n\n")
    lines = head.split("\n")
    headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_reads_exact_counts_and_the_dhis2_export_until_the_token_is_revoked(registry, server: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ministry = staff(registry, "minister@example.org")
    token = make_token(ministry)
    header_file = tmp_path / "registry-token.txt"  # as the page suggests: the header in a file, not on the command line
    header_file.write_text(f"Authorization: Bearer {token}\n")
    status, headers, body = curl("-H", f"@{header_file}", f"{server}/api/v1/stats?as_of=2024-12-31")
    assert status == 200 and "set-cookie" not in headers and headers["cache-control"] == "no-store"
    payload = json.loads(body)
    assert payload["exact"] is True and payload["total"]["count"] == 8
    status, headers, body = curl("-H", f"Authorization: Bearer {token}", f"{server}/api/v1/dhis2/dataValueSet?period=2024")
    assert status == 200 and json.loads(body)["dataSet"] == "IE_REGISTRATIONS" and "set-cookie" not in headers
    assert curl(f"{server}/api/v1/dhis2/dataValueSet")[0] == 401  # no token, no session
    assert registry.test_cli_runner().invoke(args=["revoke-token", token[:16]]).exit_code == 0
    status, headers, body = curl("-H", f"@{header_file}", f"{server}/api/v1/stats?lang=en")
    assert status == 401 and headers["www-authenticate"] == 'Bearer realm="registry", error="invalid_token"'
    assert "revoked" in json.loads(body)["error"]["message"]
    assert curl("-H", f"@{header_file}", f"{server}/api/v1/dhis2/dataValueSet")[0] == 401
    assert [e["detail"]["status"] for e in events(registry, "api_token_used")] == [200, 200]
    assert [e["detail"]["status"] for e in events(registry, "api_token_refused")] == [401, 401]
