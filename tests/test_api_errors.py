"""The API answers like one: every error under /api/ is a JSON `Error` in the reader's
language (unknown paths, 405 with Allow, 429 with Retry-After, 500 too) while the site keeps
its HTML pages; Accept-Language is honoured; the OpenAPI document and the code agree on
what each parameter may be (an empty value is the same as one left out)."""
from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from flask import abort

from tests.helpers import make_app, make_user, sign_in


def error_validator(client: Any) -> jsonschema.Draft202012Validator:
    document = client.get("/api/v1/openapi.json").get_json()
    return jsonschema.Draft202012Validator({"$ref": "#/components/schemas/Error", "components": document["components"]})


def json_error(response: Any, status: int, validator: jsonschema.Draft202012Validator) -> dict[str, str]:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/json"
    validator.validate(response.get_json())
    return response.get_json()["error"]


def test_every_api_error_is_json_and_the_site_keeps_its_pages(app) -> None:  # type: ignore[no-untyped-def]
    client = app.test_client()
    validator = error_validator(client)
    for path in ("/api/v1/nothing-here", "/api/nothing", "/api/v1/stats/extra"):
        assert json_error(client.get(path + "?lang=en"), 404, validator)["message"].startswith("Not found")
    response = client.post("/api/v1/stats?lang=en")
    assert json_error(response, 405, validator)["field"] == "method"
    assert "GET" in response.headers["Allow"] and "POST" not in response.headers["Allow"]
    assert json_error(client.delete("/api/v1/openapi.json"), 405, validator) and "GET" in client.delete("/api/v1/openapi.json").headers["Allow"]
    assert json_error(client.get("/api/v1/indicators?year=20x4"), 400, validator)["field"] == "year"
    assert json_error(client.get("/api/v1/stats?province=1a"), 400, validator)["field"] == "province"
    assert json_error(client.get("/api/v1/dhis2/dataValueSet"), 401, validator)
    make_user(app, "out@example.org", "outreach")
    outreach = app.test_client()
    sign_in(outreach, "out@example.org")
    assert json_error(outreach.get("/api/v1/dhis2/dataValueSet"), 403, validator)
    # The site: HTML pages, 405 with Allow too.
    page = client.get("/nothing-here")
    assert page.status_code == 404 and page.mimetype == "text/html"
    page = client.delete("/stats")
    assert page.status_code == 405 and page.mimetype == "text/html" and "GET" in page.headers["Allow"]


def test_api_413_and_500_are_json(database_url) -> None:  # type: ignore[no-untyped-def]
    app = make_app(database_url, PROPAGATE_EXCEPTIONS=False)

    def broken() -> None:
        raise RuntimeError("a bug")

    app.add_url_rule("/api/v1/test-broken", "test_broken", broken)
    app.add_url_rule("/api/v1/test-large", "test_large", lambda: abort(413))
    app.add_url_rule("/test-broken", "test_broken_page", broken)
    client = app.test_client()
    validator = error_validator(client)
    assert json_error(client.get("/api/v1/test-broken?lang=en"), 500, validator)["message"].startswith("Something went wrong")
    assert json_error(client.get("/api/v1/test-large"), 413, validator)
    page = client.get("/test-broken")
    assert page.status_code == 500 and page.mimetype == "text/html"


def test_too_many_requests_say_when_to_retry(database_url) -> None:  # type: ignore[no-untyped-def]
    app = make_app(database_url, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://", WTF_CSRF_ENABLED=False)
    client = app.test_client()
    validator = error_validator(client)
    statuses = [client.get("/api/v1/indicators?lang=en").status_code for _ in range(121)]
    assert statuses[:120] == [200] * 120
    response = client.get("/api/v1/indicators?lang=en")
    error = json_error(response, 429, validator)
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert response.headers["Retry-After"] in error["message"]
    # An HTML page's 429 says when too (sign-in: 20 failed attempts a minute from one address).
    for _ in range(25):
        page = client.post("/staff/login", data={"email": "nobody@example.org", "password": "wrong"})
        if page.status_code == 429:
            break
    assert page.status_code == 429 and page.mimetype == "text/html"
    assert 1 <= int(page.headers["Retry-After"]) <= 60


@pytest.mark.parametrize(("headers", "query", "expected"), [
    ({}, "", "km"),
    ({"Accept-Language": "en-GB,en;q=0.9"}, "", "en"),
    ({"Accept-Language": "fr, km;q=0.5, en;q=0.4"}, "", "km"),
    ({"Accept-Language": "fr, de"}, "", "km"),
    ({"Accept-Language": "en"}, "?lang=km", "km"),
])
def test_accept_language_is_honoured_after_the_readers_choice(app, headers, query, expected) -> None:  # type: ignore[no-untyped-def]
    client = app.test_client()
    english = "Not found. The API's paths are listed in /api/v1/openapi.json."
    message = client.get("/api/v1/nothing" + query, headers=headers).get_json()["error"]["message"]
    assert (message == english) == (expected == "en")
    html = client.get("/stats" + query, headers=headers).get_data(as_text=True)
    assert f'lang="{expected}"' in html


def test_the_session_choice_wins_over_accept_language(app) -> None:  # type: ignore[no-untyped-def]
    client = app.test_client()
    client.get("/stats?lang=km")
    assert 'lang="km"' in client.get("/stats", headers={"Accept-Language": "en"}).get_data(as_text=True)


def test_empty_parameters_are_left_out_and_values_outside_the_patterns_refused(app) -> None:  # type: ignore[no-untyped-def]
    client = app.test_client()
    validator = error_validator(client)
    for path in ("/api/v1/indicators?year=", "/api/v1/stats?province=&district=&commune=&category=&gender=&as_of=&since=&lang="):
        assert client.get(path).status_code == 200, path
    make_user(app, "m@example.org", "ministry")
    staff = app.test_client()
    sign_in(staff, "m@example.org")
    assert staff.get("/api/v1/dhis2/dataValueSet?period=").status_code == 200
    assert staff.get("/api/v1/dhis2/dataValueSet?period=202412").status_code == 200
    for period in ("202413", "202400", "2024-12", "٢٠٢٤"):
        assert json_error(staff.get(f"/api/v1/dhis2/dataValueSet?period={period}"), 400, validator)["field"] == "period"
    for query, field in (("district=12x1", "district"), ("commune=12010", "commune"), ("province=١٢", "province")):
        assert json_error(client.get(f"/api/v1/stats?{query}"), 400, validator)["field"] == field


def test_the_document_says_what_the_code_does(app) -> None:  # type: ignore[no-untyped-def]
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    stats = {p["name"]: p["schema"] for p in document["paths"]["/api/v1/stats"]["get"]["parameters"]}
    assert stats["province"]["pattern"] == "^([0-9]{2})?$" and stats["district"]["pattern"] == "^([0-9]{4})?$"
    assert stats["commune"]["pattern"] == "^([0-9]{6})?$"
    period = document["paths"]["/api/v1/dhis2/dataValueSet"]["get"]["parameters"][0]["schema"]
    assert period["pattern"] == "^([0-9]{4}(0[1-9]|1[0-2])?)?$"
    for path, operations in document["paths"].items():
        responses = operations["get"]["responses"]
        assert {"405", "429"} <= set(responses), path
        for code, response in responses.items():
            if code != "200":
                assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
