"""Every request: an id, one log line when it ends, and the request counters of /metrics.

The id comes from the `X-Request-ID` header when it is a safe short token (nginx sends its
`$request_id`, 32 hex characters), else a new one; it is returned in the response's
`X-Request-ID` and carried by every log record of the request (registry.logs). The line
gives method, path (never the query string), status and duration; it replaces gunicorn's
access log (gunicorn.conf.py), which cannot know the id. The probes (/health, /ready,
/metrics), polled every few seconds, log at DEBUG when they succeed.
"""
from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from flask import Flask, Response, g, got_request_exception, request

from registry.logs import CURRENT_REQUEST
from registry.operations import counters

log = logging.getLogger("registry.request")
HEADER = "X-Request-ID"
# Letters, digits and ._- only, 8 to 64 of them: nothing a log reader could mistake for
# another field, nothing long enough to smuggle a document into every line of a request.
SAFE_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
PROBES = frozenset(("/health", "/ready", "/metrics"))


def request_id_from(header: str | None) -> str:
    """The caller's id when it is a safe token, else a new random one (32 hex characters)."""
    if header is not None and SAFE_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def _count_exception(_sender: Flask, **_extra: Any) -> None:
    counters.count_exception()


def register_request_tracking(app: Flask) -> None:
    got_request_exception.connect(_count_exception, app)

    @app.before_request
    def start() -> None:
        g.request_id = request_id_from(request.headers.get(HEADER))
        g.request_started = time.perf_counter()
        CURRENT_REQUEST.set({"request_id": g.request_id, "method": request.method, "path": request.path})

    @app.after_request
    def finish(response: Response) -> Response:
        request_id = g.get("request_id")
        if request_id is None:  # a response made before `start` ran
            g.request_id = request_id = request_id_from(request.headers.get(HEADER))
        response.headers[HEADER] = request_id
        started = g.get("request_started")
        seconds = time.perf_counter() - started if started is not None else 0.0
        counters.count_request(response.status_code, seconds)
        level = logging.DEBUG if request.path in PROBES and response.status_code < 400 else logging.INFO
        log.log(level, "%s %s %s", request.method, request.path, response.status_code,
                extra={"status": response.status_code, "duration_ms": round(seconds * 1000, 1)})
        # Registered last (after_request hooks run in reverse), so it runs after the other
        # callbacks on close, such as the receipt's.
        response.call_on_close(lambda: CURRENT_REQUEST.set(None))
        return response
