"""Logs: one JSON object a line with a request id on every record of a request, the id taken
from X-Request-ID only when it is a safe token; nothing personal (a registered person's name,
phone, national ID, a query string) reaches them, whatever the request was."""
from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask import Flask, request

from tests.helpers import csrf_token, make_app, valid_form

HEX_ID = re.compile(r"[0-9a-f]{32}")


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every line written, each one JSON object (a line that is not fails the test)."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture
def json_app(database_url: str) -> Flask:
    return make_app(database_url, LOG_FORMAT="json")


def test_each_request_is_one_json_line_with_its_id(json_app: Flask, capfd: pytest.CaptureFixture[str]) -> None:
    capfd.readouterr()
    response = json_app.test_client().get("/register?lang=en&search=someone")
    lines = json_lines(capfd.readouterr().err)
    request_line = [line for line in lines if line["logger"] == "registry.request"]
    assert len(request_line) == 1
    line = request_line[0]
    assert set(line) == {"time", "level", "logger", "message", "request_id", "method", "path", "status", "duration_ms"}
    assert line["request_id"] == response.headers["X-Request-ID"] and HEX_ID.fullmatch(line["request_id"])
    assert (line["level"], line["method"], line["path"], line["status"]) == ("INFO", "GET", "/register", 200)
    assert line["message"] == "GET /register 200" and line["duration_ms"] >= 0
    assert line["time"].endswith("+00:00")


def test_a_safe_request_id_is_kept_and_anything_else_replaced(json_app: Flask) -> None:
    client = json_app.test_client()
    for safe in ("0123456789abcdef0123456789abcdef", "lb-2026.12.04_0001"):
        assert client.get("/health", headers={"X-Request-ID": safe}).headers["X-Request-ID"] == safe
    for unsafe in ("short", "x" * 65, "has space in it", 'quote"injection', "semi;colon12", "<script>alert(1)</script>",
                   "café-au-lait"):
        given = client.get("/health", headers={"X-Request-ID": unsafe}).headers["X-Request-ID"]
        assert given != unsafe and HEX_ID.fullmatch(given)
    first, second = (client.get("/health").headers["X-Request-ID"] for _ in range(2))
    assert first != second


def test_no_personal_data_reaches_the_logs(json_app: Flask, capfd: pytest.CaptureFixture[str]) -> None:
    person = {"full_name": "Vireak Chanthou", "phone": "012 987 654", "national_id": "170482913"}
    client = json_app.test_client()
    capfd.readouterr()
    # A registration that is refused (every field echoed back to the form, nothing stored) ...
    refused = client.post("/register?phone=012987654&name=Vireak", data={
        **valid_form(**person, date_of_birth="31/02/1990"), "csrf_token": csrf_token(client, "/register")})
    assert refused.status_code == 422
    # ... then stored, its receipt sent by the console backend once the page has gone.
    stored = client.post("/register?phone=012987654&name=Vireak", data={
        **valid_form(**person), "csrf_token": csrf_token(client, "/register")})
    assert stored.status_code == 303
    stored.close()
    # A token and a search term put in an address by mistake.
    client.get("/status?number=IER-2026&phone=012987654")
    written = capfd.readouterr().err
    lines = json_lines(written)
    for secret in ("Vireak", "Chanthou", "012987654", "12987654", "012 987 654", "987 654", "987654", "170482913",
                   "phone=", "name=", "number="):
        assert secret not in written, f"{secret!r} reached the logs"
    receipt = [line for line in lines if line["logger"] == "registry.sms"]
    assert len(receipt) == 1 and receipt[0]["request_id"] == stored.headers["X-Request-ID"]
    assert receipt[0]["path"] == "/register" and receipt[0]["method"] == "POST"
    assert {(line["path"], line["status"]) for line in lines if line["logger"] == "registry.request"} >= {
        ("/register", 422), ("/register", 303)}


def test_an_exception_is_logged_by_its_type_and_stack_not_its_message(database_url: str,
                                                                       capfd: pytest.CaptureFixture[str]) -> None:
    app = make_app(database_url, LOG_FORMAT="json", PROPAGATE_EXCEPTIONS=False)

    @app.get("/test-only/raises")
    def raises() -> str:
        raise ValueError(f"bad phone {request.args['phone']}")  # as careless code might word it

    capfd.readouterr()
    response = app.test_client().get("/test-only/raises?phone=012987654")
    assert response.status_code == 500
    written = capfd.readouterr().err
    assert "012987654" not in written
    lines = json_lines(written)
    failure = [line for line in lines if line["level"] == "ERROR"]
    assert len(failure) == 1
    assert failure[0]["exception"] == "ValueError" and "in raises" in failure[0]["stack"]
    assert failure[0]["message"] == "Exception on /test-only/raises [GET]"
    assert failure[0]["request_id"] == response.headers["X-Request-ID"]


def test_text_logs_carry_the_request_id_too(database_url: str, capfd: pytest.CaptureFixture[str]) -> None:
    app = make_app(database_url, LOG_FORMAT="text")
    capfd.readouterr()
    response = app.test_client().get("/register?lang=en")
    written = capfd.readouterr().err
    line = [text for text in written.splitlines() if "registry.request" in text]
    assert len(line) == 1
    assert f"[{response.headers['X-Request-ID']}] GET /register 200" in line[0] and "lang=" not in written


def test_the_log_format_and_level_are_checked_at_start(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGISTRY_LOG_FORMAT", "xml")
    with pytest.raises(ValueError, match="REGISTRY_LOG_FORMAT must be one of json, text"):
        make_app(database_url)
    monkeypatch.setenv("REGISTRY_LOG_FORMAT", "JSON")
    monkeypatch.setenv("REGISTRY_LOG_LEVEL", "loud")
    with pytest.raises(ValueError, match="REGISTRY_LOG_LEVEL"):
        make_app(database_url)
    monkeypatch.setenv("REGISTRY_LOG_LEVEL", "warning")
    app = make_app(database_url)
    assert (app.config["LOG_FORMAT"], app.config["LOG_LEVEL"]) == ("json", "WARNING")
