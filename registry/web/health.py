"""Probes for load balancers and process managers (issue 14).

`/health`: this process answers (no database touched: a restart is the remedy only when it
does not). `/ready`: it can serve — the database answers `SELECT 1`, and Redis answers PING
when one is configured (rate limits, progress and the job queue live there). Both answer
JSON for machines, with `Cache-Control: no-store`, touch no session (no cookie is set) and
are not rate-limited. What failed is named by its role only: no address, user or message
of the driver reaches the answer; the log says which exception it was.
"""
from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Blueprint, Response, current_app, jsonify

from registry.extensions import db, limiter

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)
REDIS_TIMEOUT_SECONDS = 1.0


def _answer(body: dict[str, object], status: int) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/health")
@limiter.exempt
def health() -> Response:
    return _answer({"status": "ok"}, 200)


def database_reachable() -> bool:
    try:
        with db.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        return True
    except sa.exc.SQLAlchemyError as error:
        log.warning("readiness: the database did not answer (%s)", type(error).__name__)
        return False


def redis_reachable(url: str) -> bool:
    import redis  # only when configured

    client = redis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS)
    try:
        return bool(client.ping())
    except redis.RedisError as error:
        log.warning("readiness: Redis did not answer (%s)", type(error).__name__)
        return False
    finally:
        client.close()


@bp.get("/ready")
@limiter.exempt
def ready() -> Response:
    checks = {"database": database_reachable()}
    redis_url = current_app.config.get("REDIS_URL")
    if redis_url:
        checks["redis"] = redis_reachable(redis_url)
    ok = all(checks.values())
    return _answer({"status": "ready" if ok else "unavailable",
                    "checks": {name: "ok" if good else "unreachable" for name, good in checks.items()}},
                   200 if ok else 503)
