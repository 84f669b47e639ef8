"""Settings read from the environment when the app is created (never at import time)."""
from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import Any

from registry.i18n import DEFAULT_LOCALE
from registry.logs import log_format, log_level


def _secret_key(instance_path: Path, variable: str = "SECRET_KEY", file_name: str = "secret_key") -> str:
    """A key from the environment, else one generated once and kept in instance/ (mode 600)."""
    key = os.environ.get(variable)
    if key:
        return key
    key_file = instance_path / file_name
    if key_file.exists():
        return key_file.read_text().strip()
    key = secrets.token_urlsafe(48)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def private_folder(path: Path) -> Path:
    """`path` created if missing and kept to this user (0700): the instance folder holds the
    secret key, the SQLite database and uploaded files, whatever their own modes."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    status = path.stat()
    if status.st_uid == os.geteuid() and status.st_mode & 0o077:
        path.chmod(0o700)
    return path


def _import_limits() -> dict[str, int]:
    """`REGISTRY_IMPORT_LIMIT_<NAME>` variables (names and defaults in imports/limits.py)."""
    prefix = "REGISTRY_IMPORT_LIMIT_"
    return {name[len("REGISTRY_"):]: int(value) for name, value in os.environ.items() if name.startswith(prefix)}


def parse_key_ids(text: str) -> tuple[int, ...]:
    """"3 2" or "3,2" -> (3, 2): the current certificate-verification key id first, then those
    still accepted (registry/verification/keys.py)."""
    parts = [part for part in re.split(r"[\s,]+", text.strip()) if part]
    ids = tuple(int(part) for part in parts if part.isdigit())
    if not ids or len(ids) != len(parts) or any(not 1 <= i <= 255 for i in ids) or len(set(ids)) != len(ids):
        raise ValueError(f"REGISTRY_VERIFICATION_KEY_IDS must list distinct key ids 1-255, current first; got {text!r}")
    return ids


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def from_environment(instance_path: Path) -> dict[str, Any]:
    """The app's configuration, built from environment variables."""
    private_folder(instance_path)
    database_url = os.environ.get(
        "REGISTRY_DATABASE_URL", f"sqlite:///{instance_path / 'registry.sqlite3'}"
    )
    return {
        "SECRET_KEY": _secret_key(instance_path),
        # Draws the public statistics' perturbation (registry.stats.release). Kept apart from
        # SECRET_KEY, which may be rotated freely: rotating this one redraws every public
        # figure, handing anyone who kept the old ones a second noisy copy of the same data.
        "DISCLOSURE_KEY": _secret_key(instance_path, "REGISTRY_DISCLOSURE_KEY", "disclosure_key"),
        "SQLALCHEMY_DATABASE_URI": database_url,
        # Bound values (names, phones, national IDs) never appear in error messages or logs.
        "SQLALCHEMY_ENGINE_OPTIONS": {"hide_parameters": True},
        "SESSION_COOKIE_SECURE": _flag("REGISTRY_SECURE_COOKIES", True),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Staff sessions end after 30 minutes unused and 12 hours after sign-in, whatever
        # happens (registry/staff/access.py); no signed cookie is accepted after 12 hours.
        "STAFF_IDLE_SECONDS": 30 * 60,
        "STAFF_SESSION_SECONDS": 12 * 3600,
        "PERMANENT_SESSION_LIFETIME": 12 * 3600,
        # Between the password and the MFA code (or enrolment, or a forced password change).
        "STAFF_HALF_SIGNED_IN_SECONDS": 10 * 60,
        "REMEMBER_COOKIE_SECURE": _flag("REGISTRY_SECURE_COOKIES", True),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": int(os.environ.get("REGISTRY_MAX_UPLOAD_BYTES", 64 * 1024 * 1024)),
        # One Redis for everything shared between processes (rate limits, and the job queue
        # that runs imports: registry/jobs); REGISTRY_RATELIMIT_STORAGE_URI overrides it for
        # the limits alone. Unset: imports run in a thread of the process that started them.
        "REDIS_URL": os.environ.get("REGISTRY_REDIS_URL") or None,
        # The job queue's timings (registry/jobs/worker.py): a worker proves it is alive every
        # HEARTBEAT seconds while it runs a job, and the job of a worker silent for three
        # heartbeats is given to another worker at the next MAINTENANCE round (default: within
        # about 2.5 minutes of a host's death). A job that runs longer than TIMEOUT is stopped
        # (and resumed, up to RETRIES times, as after a crash).
        "JOB_HEARTBEAT_SECONDS": int(os.environ.get("REGISTRY_JOB_HEARTBEAT_SECONDS", 30)),
        "JOB_MAINTENANCE_SECONDS": int(os.environ.get("REGISTRY_JOB_MAINTENANCE_SECONDS", 60)),
        "JOB_TIMEOUT_SECONDS": int(os.environ.get("REGISTRY_JOB_TIMEOUT_SECONDS", 12 * 3600)),
        "JOB_RETRIES": int(os.environ.get("REGISTRY_JOB_RETRIES", 3)),
        "RATELIMIT_STORAGE_URI": rate_limit_storage(),
        # Reverse proxies in front of the app whose X-Forwarded-For/-Proto are trusted (0: none).
        "PROXY_HOPS": int(os.environ.get("REGISTRY_PROXY_HOPS", 0)),
        "UPLOAD_RATE_LIMIT": os.environ.get("REGISTRY_UPLOAD_RATE_LIMIT", "20 per hour"),
        # Assisted registrations per staff account (posts, with the no-JavaScript area
        # buttons): one person a minute is a brisk day; the public limits do not apply.
        "ASSISTED_RATE_LIMIT": os.environ.get("REGISTRY_ASSISTED_RATE_LIMIT", "600 per hour;3000 per day"),
        "RATELIMIT_ENABLED": _flag("REGISTRY_RATELIMIT_ENABLED", True),
        "IMPORT_CHUNK_ROWS": int(os.environ.get("REGISTRY_IMPORT_CHUNK_ROWS", 5000)),
        "IMPORT_STALE_SECONDS": int(os.environ.get("REGISTRY_IMPORT_STALE_SECONDS", 60)),
        # Seconds one write transaction of an import should take (imports/runner.py Writes):
        # registrations wait behind at most one; 0: a whole chunk per transaction. At most
        # 1,000 rows each either way (identity.MOST_LOCKED: PostgreSQL's shared lock table).
        "IMPORT_WRITE_SECONDS": float(os.environ.get("REGISTRY_IMPORT_WRITE_SECONDS", 0.05)),
        # How much lower than web requests an import's reader process runs (nice steps; 0: the
        # same). Its writer keeps its priority: it holds locks registrations wait for.
        "IMPORT_NICE": int(os.environ.get("REGISTRY_IMPORT_NICE", 10)),
        # 1: CSV files of at least MIN_ROWS rows are read and validated in a second process
        # while this one writes (2 cores); 0: CSV files are read inline. A workbook is always
        # read in a second process, with a memory limit (imports/runner.py).
        "IMPORT_WORKERS": int(os.environ.get("REGISTRY_IMPORT_WORKERS", 1)),
        "IMPORT_PARALLEL_MIN_ROWS": int(os.environ.get("REGISTRY_IMPORT_PARALLEL_MIN_ROWS", 20000)),
        # Uploaded files, kept until their import ends (imports/uploads.py). With workers on
        # several hosts, a shared mount at this same path on each (README "Job queue").
        "IMPORT_UPLOAD_FOLDER": os.environ.get("REGISTRY_IMPORT_UPLOAD_FOLDER", str(instance_path / "imports")),
        **_import_limits(),
        # Days a registration deactivated as consent_withdrawn is kept whole (and may be
        # reactivated) after its effective date before `flask purge` erases it (actors/erasure.py).
        "ERASURE_RETENTION_DAYS": int(os.environ.get("REGISTRY_ERASURE_RETENTION_DAYS", 0)),
        # Certificate verification (registry/verification/keys.py, README "Certificate
        # verification"): its own master secret, apart from SECRET_KEY, so that rotating the
        # session key never voids a printed certificate; key ids derived from it, current first.
        "VERIFICATION_SECRET": _secret_key(instance_path, "REGISTRY_VERIFICATION_SECRET", "verification_key"),
        "VERIFICATION_KEY_IDS": parse_key_ids(os.environ.get("REGISTRY_VERIFICATION_KEY_IDS", "1")),
        # The site's address as people reach it (https://registry.example.gov.kh): links on
        # certificates and in text messages. Unset: the request's own host (set it in production:
        # a link sent by SMS must never come from a request's Host header).
        "PUBLIC_URL": (os.environ.get("REGISTRY_PUBLIC_URL") or "").rstrip("/") or None,
        # The receipt by text message (registry/sms): console (logs it, masked) or http (a gateway).
        "SMS_BACKEND": os.environ.get("REGISTRY_SMS_BACKEND", "console"),
        "SMS_HTTP_URL": os.environ.get("REGISTRY_SMS_HTTP_URL") or None,
        "SMS_HTTP_TOKEN": os.environ.get("REGISTRY_SMS_HTTP_TOKEN") or None,
        "SMS_SENDER": os.environ.get("REGISTRY_SMS_SENDER", "MISTI"),
        "SMS_HTTP_TIMEOUT": float(os.environ.get("REGISTRY_SMS_HTTP_TIMEOUT", 3)),
        "SMS_HTTP_RETRIES": int(os.environ.get("REGISTRY_SMS_HTTP_RETRIES", 2)),
        # Logs (registry/logs.py): one JSON object a line, or plain text for a terminal.
        "LOG_FORMAT": log_format(),
        "LOG_LEVEL": log_level(),
        "BABEL_DEFAULT_LOCALE": DEFAULT_LOCALE,
        "BABEL_DEFAULT_TIMEZONE": "Asia/Phnom_Penh",
    }


def rate_limit_storage() -> str:
    """Where rate limits count: REGISTRY_RATELIMIT_STORAGE_URI, else REGISTRY_REDIS_URL, else
    this process's memory."""
    return os.environ.get("REGISTRY_RATELIMIT_STORAGE_URI") or os.environ.get("REGISTRY_REDIS_URL") or "memory://"


class UnsharedRateLimits(RuntimeError):
    """Several server processes would each count rate limits alone (memory storage)."""


def check_workers(workers: int, storage_uri: str) -> None:
    """Refuse to serve from several processes when rate limits are kept in memory: each
    process would count alone, so 5 sign-in attempts a minute would become 5 per process."""
    if workers > 1 and storage_uri.startswith("memory://"):
        raise UnsharedRateLimits(
            f"{workers} worker processes with rate limits in memory: each would count alone. "
            "Set REGISTRY_REDIS_URL (or REGISTRY_RATELIMIT_STORAGE_URI) to a shared store, "
            "or serve from one process (WEB_CONCURRENCY=1, with threads).")
