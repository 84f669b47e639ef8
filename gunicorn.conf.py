"""gunicorn settings, read by `make run`, by deploy/systemd/registry-web.service and by any
`gunicorn` started in this folder. Everything comes from the environment (deploy/registry.env.example).

Rate limits must count in one place for every process that serves. With a shared store
(REGISTRY_REDIS_URL, or REGISTRY_RATELIMIT_STORAGE_URI) the server runs WEB_CONCURRENCY
worker processes (default 2); without one it runs a single process with threads, and it
refuses to start several processes (registry.config.check_workers).

Logs: gunicorn's own records go through the app's formatter (REGISTRY_LOG_FORMAT, json or
text: registry/logs.py). gunicorn's access log is off: the app writes one line per request
itself, with its request id, the path without the query string, the status and the duration
(registry/operations/requests.py).

Warm-up: the master indexes the gazetteer once (on_starting; every worker forked from it has it,
one started again after a kill too), and each worker compiles the templates before it accepts a
connection (post_worker_init: registry.warm_up); on its first request they cost a cold worker 6–8 s
under load.

Metrics: each worker counts requests in its own file in one folder (prometheus_client's
multiprocess mode) and /metrics adds them up. The folder is REGISTRY_METRICS_DIR (systemd:
/run/registry/metrics), else a temporary one removed at exit; it is emptied at start, so a
restart begins the counters again (Prometheus reads that as a counter reset). It must be
named before anything imports prometheus_client, hence here, at the top.
"""
import os
import shutil
import tempfile
from pathlib import Path


def _metrics_folder() -> tuple[str, bool]:
    """(folder, made here): the configured one, or the one an earlier load of this file made
    (gunicorn reads it again on SIGHUP), or a new temporary one."""
    configured = os.environ.get("REGISTRY_METRICS_DIR")
    if configured:
        Path(configured).mkdir(mode=0o700, parents=True, exist_ok=True)
        return configured, False
    if os.environ.get("REGISTRY_METRICS_DIR_MADE") and os.path.isdir(os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")):
        return os.environ["PROMETHEUS_MULTIPROC_DIR"], True
    made = tempfile.mkdtemp(prefix="registry-metrics-")
    os.environ["REGISTRY_METRICS_DIR_MADE"] = "1"
    return made, True


_metrics_dir, _metrics_dir_made = _metrics_folder()
os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir

from registry.config import check_workers, rate_limit_storage  # noqa: E402  (after the metrics folder is named)
from registry.logs import log_format, log_level  # noqa: E402

_storage = rate_limit_storage()
_shared = not _storage.startswith("memory://")

bind = os.environ.get("REGISTRY_BIND", "127.0.0.1:5000")
workers = int(os.environ.get("WEB_CONCURRENCY", 2 if _shared else 1))
threads = int(os.environ.get("REGISTRY_THREADS", 8))
# An idle kept-alive connection is closed by the client or the proxy, not here: gunicorn's 2 s
# default closed connections that nginx (upstream keepalive_timeout 60 s) or a client still
# counted on, and a POST sent as it closed failed (RemoteDisconnected in the mixed-load test;
# a 502 behind nginx, which does not resend a POST). Idle connections hold no thread (gthread).
keepalive = int(os.environ.get("REGISTRY_KEEPALIVE_SECONDS", 75))
accesslog = None
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"registry": {"()": f"registry.logs.{log_format()}_formatter"}},
    "handlers": {"stderr": {"class": "registry.logs.StderrHandler", "formatter": "registry"}},
    "root": {"level": log_level(), "handlers": ["stderr"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
        # The app's own request line replaces it (above); WARNING: gunicorn's INFO lines are dropped.
        "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
    },
}
control_socket_disable = True  # nothing written outside the project (gunicorn's default is a socket in ~/.gunicorn)


def on_starting(server):  # noqa: ANN001 - gunicorn's hook signature
    check_workers(server.cfg.workers, _storage)
    for stale in Path(_metrics_dir).glob("*.db"):  # an earlier run's counters would be added to this one's
        stale.unlink()
    # The gazetteer's index (3.5 s of CPU) built once, here: every worker forked from this
    # process has it, a worker started again after a crash or a kill as well as the first ones.
    import logging
    import time

    from registry.areas import gazetteer

    started = time.perf_counter()
    gazetteer()
    logging.getLogger("gunicorn.error").info("gazetteer indexed for every worker in %.1f s", time.perf_counter() - started)


def post_worker_init(worker):  # noqa: ANN001
    """Each worker builds what its first requests would otherwise build, before it accepts one."""
    from registry import warm_up

    warm_up(worker.wsgi)


def child_exit(server, worker):  # noqa: ANN001
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, _metrics_dir)


def on_exit(server):  # noqa: ANN001
    if _metrics_dir_made:
        shutil.rmtree(_metrics_dir, ignore_errors=True)
