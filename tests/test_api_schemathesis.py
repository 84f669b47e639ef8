"""Schemathesis against the app (offline, through WSGI): every operation of the OpenAPI
document with generated parameters, anonymous, as signed-in ministry staff and with a
ministry account's API token (every scope), checked for
no server error and for status codes, content types, bodies and headers as documented.
Bounded (30 examples an operation) and derandomized: the same cases on every run."""
from __future__ import annotations

from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from schemathesis import checks  # noqa: E402

from tests.helpers import csrf_token, make_user, sign_in  # noqa: E402

CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_schema_conformance, checks.response_headers_conformance]


AGENT = "registry-schemathesis"  # the session is bound to the browser that signed in


def signed_in_cookies(app: Any, email: str) -> dict[str, str]:
    """The cookie of a signed-in session (schemathesis calls the app with its own client)."""
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = AGENT
    sign_in(client, email)
    assert client.get("/api/v1/dhis2/dataValueSet").status_code == 200
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    return {cookie.key: cookie.value}


def token_header(app: Any, email: str) -> dict[str, str]:
    """An API token with every scope, made on the tokens page."""
    client = app.test_client()
    sign_in(client, email)
    page = client.post("/staff/tokens", data={"csrf_token": csrf_token(client, "/staff/tokens"), "name": "schemathesis",
                                              "scopes": ["statistics", "exact_counts", "dhis2"], "days": "30"})
    token = page.get_data(as_text=True).split('<code id="api-token">', 1)[1].split("<", 1)[0]
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("who", ["anonymous", "ministry", "token"])
def test_the_api_conforms_to_its_document(app, who) -> None:  # type: ignore[no-untyped-def]
    cookies: dict[str, str] = {}
    # (identity: schemathesis hands the WSGI body to its checks undecoded; compression is
    # tested in tests/test_page_weight.py)
    headers = {"User-Agent": AGENT, "Accept-Encoding": "identity"}
    if who == "ministry":
        make_user(app, "m@example.org", "ministry")
        cookies = signed_in_cookies(app, "m@example.org")
    if who == "token":
        make_user(app, "m@example.org", "ministry")
        headers |= token_header(app, "m@example.org")
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    if who != "anonymous":  # the caller's own credentials, not generated ones (anonymous runs fuzz the auth too)
        schema.config.generation.update(with_security_parameters=False)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.label for op in operations} >= {"GET /api/v1/stats", "GET /api/v1/indicators", "GET /api/v1/dhis2/dataValueSet"}
    calls: dict[str, list[int]] = {}

    @settings(max_examples=30, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def run(operation: Any, data: Any) -> None:
        case = data.draw(operation.as_strategy())
        response = case.call_and_validate(headers=headers, cookies=cookies, checks=CHECKS)
        calls.setdefault(operation.label, []).append(response.status_code)

    for operation in operations:
        run(operation)
    print(who, {label: sorted(set(codes)) for label, codes in calls.items()})
    assert all(len(calls[label]) >= 10 for label in calls)
    assert 200 in calls["GET /api/v1/stats"] and 200 in calls["GET /api/v1/indicators"]
    assert set(calls["GET /api/v1/dhis2/dataValueSet"]) <= ({401} if who == "anonymous" else {200, 400})
    if who != "anonymous":
        assert 200 in calls["GET /api/v1/dhis2/dataValueSet"]
