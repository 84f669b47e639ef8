"""`/metrics`: Prometheus's text exposition of the registry's figures and request counters.

Who may read it: a program with an API token that has the `metrics` scope (a national
figure: not a token of an account limited to one province), or a scraper on this machine
talking to the app directly — the peer is loopback and no proxy header came with the
request (nginx adds X-Forwarded-For, so nothing that came through it counts as local, and
with REGISTRY_PROXY_HOPS the peer is read from before ProxyFix rewrote it). Anyone else
gets 401 (no token, or one that does not work) or 403 (a token without the scope), and no
figure. Not rate-limited, no session, no cookie; a successful scrape only notes the token's
last use (at most once a minute), as an event for every scrape would flood the event log; a
refused known token is recorded like the API's.
"""
from __future__ import annotations

import ipaddress
from datetime import timedelta

from flask import Blueprint, Response, current_app, jsonify, request
from flask_babel import gettext as _
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from registry import clock
from registry.api.bearer import challenge, refusal_message
from registry.events.services import record
from registry.extensions import db, limiter
from registry.tokens.access import bearer_token
from registry.tokens.services import TokenRefused, TokenUse, authenticate, mark_used
from registry.operations.counters import add_counters
from registry.operations.figures import RegistryFigures

bp = Blueprint("metrics", __name__)
SCOPE = "metrics"
PROXY_HEADERS = ("X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Real-IP", "Forwarded")


def _refuse(status: int, message: str, authenticate_with: str) -> Response:
    response = jsonify({"error": {"field": "Authorization", "message": message}})
    response.status_code = status
    response.headers["WWW-Authenticate"] = authenticate_with
    return response


def direct_peer() -> str:
    """The address of whoever opened the connection, before any proxy rewrite (ProxyFix)."""
    original = request.environ.get("werkzeug.proxy_fix.orig") or {}
    return original.get("REMOTE_ADDR") or request.environ.get("REMOTE_ADDR") or ""


def is_local_scrape() -> bool:
    """Loopback peer, and no sign of a proxy in between."""
    if any(name in request.headers for name in PROXY_HEADERS):
        return False
    try:
        return ipaddress.ip_address(direct_peer()).is_loopback
    except ValueError:  # a unix socket, or nothing: not known to be this machine
        return False


def check_token(header: str) -> Response | None:
    """None when the bearer token may read the metrics; else the 401 or 403 to send."""
    presented = bearer_token(header)
    if presented is None:
        return _refuse(401, refusal_message("malformed"), challenge("invalid_request"))
    now = clock.now()
    try:
        found: TokenUse = authenticate(db.session, presented, now=now)
    except TokenRefused as refused:
        if refused.token_id is not None:
            record(db.session, "api_token_refused", now=now, by_id=refused.creator_id, ip=request.remote_addr,
                   subject=f"api_token {refused.token_id}",
                   detail={"endpoint": request.path, "status": 401, "reason": refused.reason})
            db.session.commit()
        return _refuse(401, refusal_message(refused.reason), challenge("invalid_token"))
    if SCOPE not in found.scopes or found.province is not None:
        return _refuse(403, _("This API token may not read the metrics: make one with the “metrics” scope, from an "
                              "account not limited to a province, at /staff/tokens."),
                       challenge("insufficient_scope", scope=SCOPE))
    mark_used(db.session, found.token_id, now=now)
    db.session.commit()
    return None


@bp.get("/metrics")
@limiter.exempt
def metrics() -> Response:
    header = request.headers.get("Authorization")
    if header is not None:
        refusal = check_token(header)
        if refusal is not None:
            return refusal
    elif not is_local_scrape():
        return _refuse(401, _("Send an API token with the “metrics” scope (Authorization: Bearer …), or scrape "
                              "from this machine without a proxy."), challenge())
    registry = CollectorRegistry()
    add_counters(registry)
    stale_after = timedelta(seconds=current_app.config["IMPORT_STALE_SECONDS"])
    registry.register(RegistryFigures(db.session, now=clock.now(), today=clock.today(), stale_after=stale_after))
    # Classic metric names only, so the text format every Prometheus version reads (0.0.4).
    response = Response(generate_latest(registry), content_type=CONTENT_TYPE_PLAIN_0_0_4)
    response.headers["Cache-Control"] = "no-store"
    return response

