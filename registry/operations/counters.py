"""The counters every serving process adds to: requests by status class, their durations,
and unhandled exceptions.

Several gunicorn processes serve; each counts in its own memory-mapped file in the folder
named by PROMETHEUS_MULTIPROC_DIR (prometheus_client's multiprocess mode: gunicorn.conf.py
sets it and empties it at start), and /metrics adds up every file. Chosen over counting in
Redis or the database: no round trip on each request, and it works without Redis (one
machine, one process with threads). Without that variable (tests, `flask run`) the counters
live in this process's memory.
"""
from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.multiprocess import MultiProcessCollector

disable_created_metrics()  # no `_created` series (multiprocess mode has none): the same output either way
# Not on prometheus_client's global registry: /metrics builds its own for each scrape.
REQUESTS = Counter("registry_http_requests", "HTTP requests answered, by status class (2xx, 3xx, 4xx, 5xx)",
                   ["status_class"], registry=None)
DURATION = Histogram("registry_http_request_duration_seconds", "Time to answer a request, in the app",
                     ["status_class"], registry=None, buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
EXCEPTIONS = Counter("registry_http_exceptions", "Requests that raised an unhandled exception (answered 500)",
                     registry=None)
CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")
for _kind in CLASSES[1:]:  # every class present from the start, at 0, for rate() and alerts
    REQUESTS.labels(_kind)


def status_class(status: int) -> str:
    return f"{status // 100}xx" if 100 <= status < 600 else "5xx"


def count_request(status: int, seconds: float) -> None:
    kind = status_class(status)
    REQUESTS.labels(kind).inc()
    DURATION.labels(kind).observe(seconds)


def count_exception() -> None:
    EXCEPTIONS.inc()


def multiprocess_folder() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir") or None


def add_counters(registry: CollectorRegistry) -> None:
    """Every serving process's counters (their files), or this process's own."""
    folder = multiprocess_folder()
    if folder:
        MultiProcessCollector(registry, path=folder)
        return
    for metric in (REQUESTS, DURATION, EXCEPTIONS):
        registry.register(metric)
