"""Log records as one JSON object a line (production) or one plain line (a terminal).

`REGISTRY_LOG_FORMAT=json|text` (default text; deploy/registry.env sets json) and
`REGISTRY_LOG_LEVEL` (default INFO) choose; `configure` puts one handler on the root logger,
so the app's loggers and gunicorn's (gunicorn.conf.py's `logconfig_dict` names the same
classes) write alike. A record made while a request is served carries its request id,
method and path (never the query string); registry.operations.requests adds the status and the
duration to the one line it writes per request.

No personal data: the app's messages name records by id, never by name, phone or national
ID; SQL parameters are hidden (config.py); and an exception is logged by its type and stack
only, never its message, which may quote a value someone typed.
"""
from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Any

FORMATS = ("json", "text")
# Fields a record may carry besides the standard ones (set by RequestContext or `extra=`).
REQUEST_FIELDS = ("request_id", "method", "path", "status", "duration_ms")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
# The request being served by this thread: its id, method and path, from its first hook until
# its response is closed (so the receipt sent after the page has gone is logged with its id).
CURRENT_REQUEST: ContextVar[dict[str, str] | None] = ContextVar("registry_current_request", default=None)


def log_format() -> str:
    """REGISTRY_LOG_FORMAT, checked (an unknown value stops the start, rather than logging unread)."""
    chosen = (os.environ.get("REGISTRY_LOG_FORMAT") or "text").strip().lower()
    if chosen not in FORMATS:
        raise ValueError(f"REGISTRY_LOG_FORMAT must be one of {', '.join(FORMATS)}; got {chosen!r}")
    return chosen


def log_level() -> str:
    level = (os.environ.get("REGISTRY_LOG_LEVEL") or "INFO").strip().upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ValueError(f"REGISTRY_LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL; got {level!r}")
    return level


def stack_of(exc_info: Any) -> str:
    """The traceback's frames and the exception's type: not its message (it may quote a value)."""
    kind, _value, tb = exc_info
    return "".join(traceback.format_tb(tb)) + (kind.__qualname__ if kind else "")


class RequestContext(logging.Filter):
    """Adds the request's id, method and path (no query) to a record made while serving one."""

    def filter(self, record: logging.LogRecord) -> bool:
        current = CURRENT_REQUEST.get()
        if current is not None:
            for name, value in current.items():
                if not hasattr(record, name):
                    setattr(record, name, value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object, one line: time (UTC, ms), level, logger, message, the request fields
    present, and `exception` (type) with `stack` when the record carries one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in REQUEST_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info and record.exc_info[0] is not None:
            entry["exception"] = record.exc_info[0].__qualname__
            entry["stack"] = stack_of(record.exc_info)
        elif record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """A plain line for a terminal; an exception as its type and stack, as in JSON."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            record.request_id = "-"
        exc_info, record.exc_info, record.exc_text = record.exc_info, None, None
        try:
            line = super().format(record)
        finally:
            record.exc_info = exc_info
        if exc_info and exc_info[0] is not None:
            line += "\n" + stack_of(exc_info)
        return line


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to the process's standard error (file descriptor 2: journald under systemd),
    not to whatever `sys.stderr` is swapped for: a command's captured output (click's test
    runner, `--json` read by a program) stays the command's own."""

    def __init__(self, level: int = logging.NOTSET) -> None:
        super().__init__(sys.__stderr__ or sys.stderr)
        self.setLevel(level)
        self.addFilter(RequestContext())


def formatter_for(chosen: str) -> logging.Formatter:
    return JsonFormatter() if chosen == "json" else TextFormatter()


def json_formatter() -> logging.Formatter:
    """For dictConfig's `()` (gunicorn.conf.py)."""
    return JsonFormatter()


def text_formatter() -> logging.Formatter:
    return TextFormatter()


def configure(chosen: str | None = None, level: str | None = None) -> None:
    """One StderrHandler on the root logger with the chosen formatter (again: replaced, not
    added). The werkzeug development server's request lines, which carry query strings, are
    left out: registry.operations.requests writes one line per request instead."""
    chosen = chosen or log_format()
    root = logging.getLogger()
    ours = [h for h in root.handlers if isinstance(h, StderrHandler)]
    handler = ours[0] if ours else StderrHandler()
    handler.setFormatter(formatter_for(chosen))
    if not ours:
        root.addHandler(handler)
    root.setLevel(level or log_level())
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
