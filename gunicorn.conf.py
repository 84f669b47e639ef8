"""gunicorn settings, read by `make run` and by any `gunicorn` started in this folder.

Rate limits must count in one place for every process that serves. With a shared store
(REGISTRY_REDIS_URL, or REGISTRY_RATELIMIT_STORAGE_URI) the server runs WEB_CONCURRENCY
worker processes (default 2); without one it runs a single process with threads, and it
refuses to start several processes (registry.config.check_workers).
"""
import os

from registry.config import check_workers, rate_limit_storage

_storage = rate_limit_storage()
_shared = not _storage.startswith("memory://")

bind = os.environ.get("REGISTRY_BIND", "127.0.0.1:5000")
workers = int(os.environ.get("WEB_CONCURRENCY", 2 if _shared else 1))
threads = int(os.environ.get("REGISTRY_THREADS", 8))
accesslog = "-"
# Path only: no query string and no referrer (a token or a search term wrongly put in an
# address by a client must not reach the log).
access_log_format = '%(h)s - - %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(L)ss'
control_socket_disable = True  # nothing written outside the project (gunicorn's default is a socket in ~/.gunicorn)


def on_starting(server):  # noqa: ANN001 - gunicorn's hook signature
    check_workers(server.cfg.workers, _storage)
