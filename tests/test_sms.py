"""The registration receipt by text message: the number and the status link in Khmer, sent
after the page has gone, through the console backend (masked in the log) or an HTTP gateway
(a real server on 127.0.0.1 that the tests start: its JSON, its token, its failures)."""
from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from registry.events.models import Event
from registry.extensions import db
from registry.sms import segments
from tests.helpers import count_actors, csrf_token, make_app, make_user, sign_in, valid_form

PUBLIC_URL = "https://registry.misti.gov.kh"
PHONE = "+85512345678"  # valid_form's "012 345 678", as stored
KHMER = re.compile(r"[\u1780-\u17ff]")


class Gateway:
    """A fake SMS gateway: answers each POST with the next status of `statuses` (200 when they
    run out), after `delay` seconds, and keeps what it received."""

    def __init__(self) -> None:
        self.received: list[dict[str, object]] = []
        self.statuses: list[int] = []
        self.delay = 0.0
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                gateway.received.append({"path": self.path, "headers": dict(self.headers), "json": json.loads(body)})
                time.sleep(gateway.delay)
                status = gateway.statuses.pop(0) if gateway.statuses else 200
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}' if status == 200 else b'{"error": "busy"}')

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/messages"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    server = Gateway()
    yield server
    server.close()


def gateway_app(database_url: str, gateway: Gateway, **extra: object):  # type: ignore[no-untyped-def]
    return make_app(database_url, SMS_BACKEND="http", SMS_HTTP_URL=gateway.url, SMS_HTTP_TOKEN="gateway-secret",
                    SMS_SENDER="MISTI", PUBLIC_URL=PUBLIC_URL, **extra)


def register(client, **overrides: str):  # type: ignore[no-untyped-def]
    """Posts a registration and closes the response, as a WSGI server does once it is sent."""
    data = {**valid_form(**overrides), "csrf_token": csrf_token(client, "/register")}
    response = client.post("/register", data=data)
    assert response.status_code == 303
    started = time.monotonic()
    response.close()
    return response, time.monotonic() - started


def number_of(client) -> str:  # type: ignore[no-untyped-def]
    html = client.get("/register/done").get_data(as_text=True)
    return re.search(r'id="registration-number">([0-9-]+)<', html).group(1)


def not_sent(app) -> list[Event]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return list(db.session.scalars(select(Event).where(Event.kind == "receipt_not_sent")))


def test_the_console_backend_logs_the_receipt_masked(app, client, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.INFO, logger="registry.sms")
    register(client)
    number = number_of(client)
    lines = [r.getMessage() for r in caplog.records if r.name == "registry.sms"]
    assert len(lines) == 1
    line = lines[0]
    assert "+855•••••678" in line and PHONE not in line and "12345678" not in line
    assert number not in line and "••••-••••-" + number[-2:] in line  # the number masked but its last two digits
    assert KHMER.search(line) and "/status" in line
    everything = "\n".join(r.getMessage() for r in caplog.records)
    assert PHONE not in everything and number not in everything


def test_the_gateway_gets_the_number_and_status_link_in_khmer(database_url, gateway) -> None:  # type: ignore[no-untyped-def]
    app = gateway_app(database_url, gateway)
    client = app.test_client()
    register(client, phone="017 654 321")
    number = number_of(client)
    assert len(gateway.received) == 1
    sent = gateway.received[0]
    assert sent["path"] == "/v1/messages"
    assert sent["headers"]["Authorization"] == "Bearer gateway-secret"
    assert sent["headers"]["Content-Type"] == "application/json; charset=utf-8"
    body = sent["json"]
    assert body["to"] == "+85517654321" and body["from"] == "MISTI"
    text = body["text"]
    assert number in text and f"{PUBLIC_URL}/status" in text and KHMER.search(text)
    assert "Sok Dara" not in text and "1990" not in text  # the number and the link, nothing else
    assert segments(text) == 2, (len(text), text)  # UCS-2: 67 characters a part
    assert not_sent(app) == []


def test_a_gateway_error_is_retried_and_the_registration_stands(database_url, gateway, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.INFO)
    app = gateway_app(database_url, gateway)
    gateway.statuses = [500, 503]
    register(app.test_client())
    assert len(gateway.received) == 3 and not_sent(app) == []  # the third try went through

    gateway.statuses = [500, 500, 500]
    client = app.test_client()
    response, _seconds = register(client, phone="017 654 321", full_name="Chan Vanna")
    assert response.headers["Location"].endswith("/register/done") and count_actors(app) == 2
    assert len(gateway.received) == 6
    [event] = not_sent(app)
    assert event.detail == {"backend": "http", "reason": "gateway answered 500"}
    everything = "\n".join(r.getMessage() for r in caplog.records)
    assert "gateway answered 500" in everything and "+85517654321" not in everything and "017 654 321" not in everything


def test_a_refusal_is_not_retried(database_url, gateway) -> None:  # type: ignore[no-untyped-def]
    app = gateway_app(database_url, gateway)
    gateway.statuses = [401]
    register(app.test_client())
    assert len(gateway.received) == 1
    assert [e.detail["reason"] for e in not_sent(app)] == ["gateway answered 401"]


def test_a_slow_gateway_times_out_after_the_page_has_gone(database_url, gateway) -> None:  # type: ignore[no-untyped-def]
    app = gateway_app(database_url, gateway, SMS_HTTP_TIMEOUT=0.3, SMS_HTTP_RETRIES=1)
    gateway.delay = 1.0
    client = app.test_client()
    data = {**valid_form(), "csrf_token": csrf_token(client, "/register")}
    started = time.monotonic()
    response = client.post("/register", data=data)
    answered = time.monotonic() - started
    assert response.status_code == 303 and gateway.received == []  # nothing sent before the page went
    closing = time.monotonic()
    response.close()
    sending = time.monotonic() - closing
    assert answered < 1.0 and 0.5 < sending < 2.0  # two tries of 0.3 s and a 0.3 s pause
    assert [e.detail["reason"] for e in not_sent(app)] == ["gateway unreachable (TimeoutError)"]
    assert count_actors(app) == 1


def test_an_unreachable_gateway_is_counted(database_url, gateway) -> None:  # type: ignore[no-untyped-def]
    app = gateway_app(database_url, gateway, SMS_HTTP_RETRIES=0)
    gateway.close()
    register(app.test_client())
    [event] = not_sent(app)
    assert event.detail["reason"].startswith("gateway unreachable")


def test_an_assisted_registration_sends_the_receipt_too(database_url, gateway) -> None:  # type: ignore[no-untyped-def]
    app = gateway_app(database_url, gateway)
    make_user(app, "outreach@example.org", "outreach")
    officer = app.test_client()
    assert sign_in(officer, "outreach@example.org").status_code == 303
    response = officer.post("/staff/register", data={**valid_form(), "csrf_token": csrf_token(officer, "/staff/register")})
    assert response.status_code == 303
    response.close()
    assert [sent["json"]["to"] for sent in gateway.received] == [PHONE]


def test_the_gateway_backend_needs_its_settings_and_a_public_address(database_url) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="REGISTRY_PUBLIC_URL"):
        make_app(database_url, SMS_BACKEND="http", SMS_HTTP_URL="https://sms.example", SMS_HTTP_TOKEN="t")
    with pytest.raises(ValueError, match="REGISTRY_SMS_HTTP_TOKEN"):
        make_app(database_url, SMS_BACKEND="http", SMS_HTTP_URL="https://sms.example", PUBLIC_URL=PUBLIC_URL)
    with pytest.raises(ValueError, match="console or http"):
        make_app(database_url, SMS_BACKEND="carrier-pigeon")
