"""Rate limits that hold in every documented way of running the service: the real gunicorn
command of `make run`, several processes over Redis, a reverse proxy in front, uploads."""
from __future__ import annotations

import http.cookiejar
import io
import os
import re
import signal
import socket
import subprocess
import tempfile
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

from registry import PROJECT_ROOT
from tests.helpers import csrf_token, make_app, make_user, sign_in

GUNICORN = Path(sys.executable).with_name("gunicorn")
REDIS_TEST_DB = 11  # this test's own Redis database, emptied before and after


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_url() -> str | None:
    try:
        import redis

        client = redis.Redis.from_url(f"redis://127.0.0.1:6379/{REDIS_TEST_DB}", socket_connect_timeout=1)
        client.flushdb()
        return f"redis://127.0.0.1:6379/{REDIS_TEST_DB}"
    except Exception:  # noqa: BLE001 - no Redis here: those tests are skipped
        return None


def serve(database_url: str, **env: str) -> tuple[subprocess.Popen, str]:  # type: ignore[type-arg]
    """gunicorn exactly as `make run` starts it (gunicorn.conf.py), on a free port. Its output
    goes to a file (`stop` returns it): a pipe nobody reads fills at 64 KB, and the server
    would then block on a log line in the middle of a request, holding its locks."""
    port = free_port()
    environment = {**os.environ, "REGISTRY_DATABASE_URL": database_url, "REGISTRY_SECURE_COOKIES": "0",
                   "SECRET_KEY": "test-only-secret-key", "REGISTRY_BIND": f"127.0.0.1:{port}", **env}
    for name in ("REGISTRY_REDIS_URL", "REGISTRY_RATELIMIT_STORAGE_URI"):
        if name not in env:
            environment.pop(name, None)
    log = tempfile.TemporaryFile("w+", encoding="utf-8")
    process = subprocess.Popen([str(GUNICORN), "-c", "gunicorn.conf.py", "registry:create_app()"], cwd=PROJECT_ROOT,
                               env=environment, stdout=log, stderr=subprocess.STDOUT, text=True)
    process.log = log  # type: ignore[attr-defined]
    base = f"http://127.0.0.1:{port}"
    for _ in range(150):
        if process.poll() is not None:
            break
        try:
            urllib.request.urlopen(base + "/register", timeout=10)
            return process, base
        except OSError:  # not listening yet, or a first answer slower than the timeout on a busy machine
            time.sleep(0.1)
    process.kill()
    raise AssertionError("gunicorn did not start: " + stop(process)[-2000:])


def wrong_passwords(base: str, email: str, attempts: int) -> list[int]:
    """Each attempt from a new client (its own cookies and CSRF token), as an attacker would."""
    codes = []
    for _ in range(attempts):
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        page = opener.open(base + "/staff/login", timeout=30).read().decode()
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        body = urllib.parse.urlencode({"email": email, "password": "not the password!", "csrf_token": token}).encode()
        try:
            codes.append(opener.open(base + "/staff/login", data=body, timeout=30).status)
        except urllib.error.HTTPError as error:
            codes.append(error.code)
    return codes


@pytest.fixture
def account(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    make_user(app, "target@example.org", "ministry")
    yield "target@example.org"


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> str:  # type: ignore[type-arg]
    """Stop a server `serve` started (SIGTERM: a graceful stop) and return what it wrote."""
    process.send_signal(sig)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log = process.log  # type: ignore[attr-defined]
    log.seek(0)
    output = log.read()
    log.close()
    return output


def test_make_run_checks_at_most_five_of_thirty_wrong_passwords(database_url: str, account: str) -> None:
    process, base = serve(database_url)
    try:
        codes = wrong_passwords(base, account, 30)
        # A client that wrongly puts a secret in an address: the request's log line keeps the path only.
        try:
            urllib.request.urlopen(base + "/api/v1/stats?token=ier_0123456789ab_SECRET&q=Sok+Dara", timeout=30)
        except urllib.error.HTTPError:
            pass
    finally:
        log = stop(process)
    assert codes.count(401) == 5 and codes.count(429) == 25
    assert re.search(r"registry\.request \[[0-9a-f]{32}\] GET /api/v1/stats 400", log)
    assert "SECRET" not in log and "Sok" not in log


def test_several_processes_with_limits_in_memory_refuse_to_start(database_url: str) -> None:
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if k not in ("REGISTRY_REDIS_URL", "REGISTRY_RATELIMIT_STORAGE_URI")}
    result = subprocess.run(
        [str(GUNICORN), "-c", "gunicorn.conf.py", "--workers", "2", "--bind", f"127.0.0.1:{port}", "registry:create_app()"],
        cwd=PROJECT_ROOT, env={**environment, "REGISTRY_DATABASE_URL": database_url, "SECRET_KEY": "x"},
        capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "rate limits in memory" in result.stdout + result.stderr


def test_two_processes_share_their_limits_through_redis(database_url: str, account: str) -> None:
    url = redis_url()
    if url is None:
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    process, base = serve(database_url, REGISTRY_REDIS_URL=url, WEB_CONCURRENCY="2")
    try:
        codes = wrong_passwords(base, account, 30)
    finally:
        output = stop(process)
        import redis

        redis.Redis.from_url(url).flushdb()
    assert output.count("Booting worker") >= 2
    assert codes.count(401) == 5 and codes.count(429) == 25


def test_behind_a_proxy_the_client_address_is_the_forwarded_one(database_url: str) -> None:
    app = make_app(database_url, PROXY_HOPS=1, RATELIMIT_ENABLED=True)
    make_user(app, "a@example.org", "ministry")
    codes = []
    for n in range(25):  # 25 clients behind the proxy: each gets its own per-address allowance
        client = app.test_client()
        token = csrf_token(client, "/staff/login")
        response = client.post("/staff/login", data={"email": f"nobody{n}@example.org", "password": "x" * 12, "csrf_token": token},
                                headers={"X-Forwarded-For": f"203.0.113.{n}"})
        codes.append(response.status_code)
    assert codes == [401] * 25
    direct = make_app(database_url, PROXY_HOPS=0, RATELIMIT_ENABLED=True)
    codes = []
    for n in range(25):  # without a trusted proxy the header is ignored: one address, 20 a minute
        client = direct.test_client()
        token = csrf_token(client, "/staff/login")
        codes.append(client.post("/staff/login", data={"email": f"nobody{n}@example.org", "password": "x" * 12, "csrf_token": token},
                                 headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code)
    assert codes.count(429) == 5


def test_uploads_are_limited_per_account(database_url: str) -> None:
    app = make_app(database_url, RATELIMIT_ENABLED=True, UPLOAD_RATE_LIMIT="2 per hour")
    make_user(app, "out@example.org", "outreach")
    codes = []
    for _ in range(3):  # from three clients of the same account
        client = app.test_client()
        sign_in(client, "out@example.org")
        token = csrf_token(client, "/staff/imports")
        codes.append(client.post("/staff/imports", data={"csrf_token": token, "consent": "y",
                                                          "file": (io.BytesIO(b"\n"), "x.csv")},
                                 content_type="multipart/form-data").status_code)
    assert codes == [422, 422, 429]
