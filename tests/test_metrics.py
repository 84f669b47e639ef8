"""/metrics: Prometheus's text format, read with prometheus_client's own parser; who may read
it (a token with the `metrics` scope, or a scraper on this machine with no proxy between);
and figures that follow a registration, an import and the import queue."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families

from registry import clock
from registry.extensions import db
from registry.imports.runner import claim
from registry.imports.services import create_batch
from tests.helpers import csrf_token, make_app, make_user, sign_in, valid_form
from tests.import_files import good, write_csv
from tests.test_api_tokens import TOKEN_ON_PAGE, events

REMOTE = {"REMOTE_ADDR": "203.0.113.7"}  # a documentation address: not this machine


def figures(response: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, by (name, labels), parsed as Prometheus would."""
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.get_data(as_text=True)) for s in family.samples}


def scrape(app: Flask, **kwargs: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return figures(app.test_client().get("/metrics", **kwargs))


def one(found: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return found[(name, tuple(sorted(labels.items())))]


def token_with(app: Flask, email: str, scopes: list[str], province: str | None = None) -> str:
    make_user(app, email, "ministry", province)
    client = app.test_client()
    assert sign_in(client, email).status_code == 303
    response = client.post("/staff/tokens", data={"csrf_token": csrf_token(client, "/staff/tokens"), "name": "Prometheus",
                                                  "scopes": scopes, "days": "90"})
    found = TOKEN_ON_PAGE.search(response.get_data(as_text=True))
    assert found, response.get_data(as_text=True)[:500]
    return found.group(1)


def refused_without_figures(response: Any, status: int) -> None:
    assert response.status_code == status
    body = response.get_data(as_text=True)
    assert "registry_" not in body and response.get_json()["error"]["field"] == "Authorization"
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="registry"')
    assert "Set-Cookie" not in response.headers


def test_a_scraper_on_this_machine_reads_every_figure_without_a_token(app: Flask) -> None:
    response = app.test_client().get("/metrics")  # the test client's peer is 127.0.0.1
    found = figures(response)
    assert "Set-Cookie" not in response.headers and response.headers["Cache-Control"] == "no-store"
    names = {name for name, _labels in found}
    assert {"registry_registrations_active", "registry_registrations_active_by_category", "registry_registrations_new_today",
            "registry_import_rows_stored_total", "registry_import_rows_processed_total", "registry_import_rows_per_second",
            "registry_import_queue_depth", "registry_http_requests_total", "registry_http_exceptions_total"} <= names
    assert one(found, "registry_registrations_active") == 0
    assert {labels for name, labels in found if name == "registry_registrations_active_by_category"} == {
        (("category", c),) for c in ("employee", "micro_enterprise", "self_employed")}
    assert {labels for name, labels in found if name == "registry_http_requests_total"} == {
        (("status_class", c),) for c in ("2xx", "3xx", "4xx", "5xx")}  # every class, 0 until counted


def test_from_elsewhere_or_through_a_proxy_it_takes_a_token(database_url: str) -> None:
    app = make_app(database_url)
    client = app.test_client()
    refused_without_figures(client.get("/metrics", environ_base=REMOTE), 401)
    # nginx on this machine adds X-Forwarded-For: what came through a proxy is not local
    refused_without_figures(client.get("/metrics", headers={"X-Forwarded-For": "198.51.100.4"}), 401)
    refused_without_figures(client.get("/metrics", headers={"Forwarded": "for=198.51.100.4"}), 401)
    refused_without_figures(client.get("/metrics", environ_base={"REMOTE_ADDR": ""}), 401)  # a unix socket
    behind = make_app(database_url, PROXY_HOPS=1)
    # A remote caller claiming to be 127.0.0.1: ProxyFix believes one hop, the peer is still remote.
    refused_without_figures(behind.test_client().get("/metrics", environ_base=REMOTE,
                                                     headers={"X-Forwarded-For": "127.0.0.1"}), 401)
    refused_without_figures(behind.test_client().get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"}), 401)
    assert behind.test_client().get("/metrics").status_code == 200  # the scraper beside it, no proxy


def test_a_token_reads_them_only_with_the_metrics_scope(app: Flask) -> None:
    good_token = token_with(app, "prometheus@example.org", ["metrics"])
    statistics_only = token_with(app, "statistician@example.org", ["statistics"])
    client = app.test_client()
    response = client.get("/metrics", environ_base=REMOTE, headers={"Authorization": f"Bearer {good_token}"})
    assert "registry_registrations_active" in {name for name, _ in figures(response)}
    assert "Set-Cookie" not in response.headers
    refused = client.get("/metrics", environ_base=REMOTE, headers={"Authorization": f"Bearer {statistics_only}"})
    refused_without_figures(refused, 403)
    assert 'error="insufficient_scope", scope="metrics"' in refused.headers["WWW-Authenticate"]
    # A wrong token is refused even from this machine: a token that is sent is checked.
    refused_without_figures(client.get("/metrics", headers={"Authorization": f"Bearer {good_token[:-2]}xx"}), 401)
    refused_without_figures(client.get("/metrics", headers={"Authorization": "Basic dXNlcjpwYXNz"}), 401)
    with app.app_context():
        used = db.session.execute(sa.text("SELECT name, last_used_at IS NOT NULL FROM api_token ORDER BY id")).all()
    assert [tuple(row) for row in used] == [("Prometheus", True), ("Prometheus", False)]


def test_a_revoked_token_is_refused_and_the_refusal_recorded(app: Flask) -> None:
    token = token_with(app, "prometheus@example.org", ["metrics"])
    assert app.test_cli_runner().invoke(args=["revoke-token", "1"]).exit_code == 0
    refused_without_figures(app.test_client().get("/metrics", environ_base=REMOTE,
                                                  headers={"Authorization": f"Bearer {token}"}), 401)
    assert [e["detail"] for e in events(app, "api_token_refused")] == [
        {"endpoint": "/metrics", "status": 401, "reason": "revoked"}]


def test_an_account_limited_to_a_province_makes_no_metrics_token(app: Flask) -> None:
    make_user(app, "provincial@example.org", "ministry", "12")
    client = app.test_client()
    assert sign_in(client, "provincial@example.org").status_code == 303
    response = client.post("/staff/tokens?lang=en", data={"csrf_token": csrf_token(client, "/staff/tokens"), "name": "Prometheus",
                                                          "scopes": ["metrics"], "days": "90"})
    assert response.status_code == 422
    assert "national figures" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.text("SELECT count(*) FROM api_token")) == 0


def test_the_figures_follow_a_registration_and_an_import(app: Flask, tmp_path: Path) -> None:
    before = scrape(app)
    client = app.test_client()
    response = client.post("/register", data={**valid_form(), "csrf_token": csrf_token(client, "/register")})
    assert response.status_code == 303
    after_registration = scrape(app)
    assert one(after_registration, "registry_registrations_active") == one(before, "registry_registrations_active") + 1
    assert one(after_registration, "registry_registrations_active_by_category", category="self_employed") == 1
    assert one(after_registration, "registry_registrations_new_today") == 1
    assert one(after_registration, "registry_http_requests_total", status_class="3xx") >= \
        one(before, "registry_http_requests_total", status_class="3xx") + 1

    rows = [good(300 + i, category="employee") for i in range(7)] + [good(300, category="employee")]  # the last: a duplicate
    result = app.test_cli_runner().invoke(args=["import-actors", str(write_csv(tmp_path / "people.csv", rows))])
    assert result.exit_code == 0, result.output
    after_import = scrape(app)
    assert one(after_import, "registry_import_rows_stored_total") == 7
    assert one(after_import, "registry_import_rows_processed_total") == 8
    assert one(after_import, "registry_import_rows_per_second") > 0  # finished just now
    assert one(after_import, "registry_registrations_active") == 8
    assert one(after_import, "registry_registrations_active_by_category", category="employee") == 7
    assert one(after_import, "registry_registrations_new_today") == 1  # the import's rows are dated 2024-12-20
    with app.app_context():  # the figures agree with a direct count
        assert db.session.scalar(sa.text("SELECT count(*) FROM actor WHERE status = 'active'")) == 8


def test_queue_depth_counts_batches_waiting_running_and_stalled(app: Flask, tmp_path: Path) -> None:
    now = clock.now()
    with app.app_context():
        ids = []
        for n in range(3):
            path = write_csv(tmp_path / f"batch-{n}.csv", [good(400 + n)])
            ids.append(create_batch(db.session, path, path.name, uploaded_by_id=None, province_code=None, now=now).id)
        db.session.commit()
        stale_after = timedelta(seconds=app.config["IMPORT_STALE_SECONDS"])
        claim(db.session, ids[1], now, stale_after)  # running, its heartbeat fresh
        claim(db.session, ids[2], now - 2 * stale_after, stale_after)  # running, silent since: stalled
    found = scrape(app)
    assert {state: one(found, "registry_import_queue_depth", state=state) for state in ("queued", "running", "stalled")} \
        == {"queued": 1, "running": 1, "stalled": 1}


def test_errors_are_counted_by_status_class_and_unhandled_exceptions(database_url: str) -> None:
    app = make_app(database_url, PROPAGATE_EXCEPTIONS=False)

    @app.get("/test-only/raises")
    def raises() -> str:
        raise RuntimeError("a failure")

    before = scrape(app)
    client = app.test_client()
    assert client.get("/no-such-page").status_code == 404
    assert client.get("/test-only/raises").status_code == 500
    after = scrape(app)
    assert one(after, "registry_http_requests_total", status_class="4xx") == \
        one(before, "registry_http_requests_total", status_class="4xx") + 1
    assert one(after, "registry_http_requests_total", status_class="5xx") == \
        one(before, "registry_http_requests_total", status_class="5xx") + 1
    assert one(after, "registry_http_exceptions_total") == one(before, "registry_http_exceptions_total") + 1
    assert one(after, "registry_http_request_duration_seconds_count", status_class="5xx") >= 1

