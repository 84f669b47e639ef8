"""bench/load.py, the campaign load test: it loads this machine only, and a short run of the
real thing (two gunicorns, Redis, the database of the suite's kind) ends without an error."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
LOAD = ROOT / "bench" / "load.py"
REDIS_DB = 13  # the load test's own Redis database


def run(*args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(LOAD), *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def test_refuses_to_load_another_machine() -> None:
    result = run("--host", "192.0.2.1", "--seconds", "1")
    assert result.returncode != 0
    assert "refused: 192.0.2.1 is not a loopback address" in result.stderr


def redis_or_skip():  # type: ignore[no-untyped-def]
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(f"redis://127.0.0.1:6379/{REDIS_DB}", socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379: the load test shares rate limits between two workers there")
    return client


@pytest.mark.slow
def test_a_short_campaign_runs_without_errors(database_url: str) -> None:
    client = redis_or_skip()
    if database_url.startswith("postgresql"):
        admin = sa.make_url(database_url).set(database="postgres").render_as_string(hide_password=False)
        args = ["--database", "postgresql", "--postgres-admin-url", admin]
    else:
        args = ["--database", "sqlite"]
    result = run(*args, "--seconds", "8", "--pair-seconds", "4", "--rounds", "1", "--connections", "4")
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert re.search(r"ratio registration POST / minimal POST: 0\.\d{3}", out), out
    campaign = out.split("campaign mix")[1]
    for kind in ("form GET", "registration POST", "done GET", "status GET", "status POST", "stats page", "stats API"):
        line = re.search(rf"^  {kind} +(\d+) .*  (\S+)$", campaign, re.MULTILINE)
        assert line, f"no {kind} line:\n{out}"
        assert int(line.group(1)) > 0 and line.group(2) == "0", line.group(0)  # requests made, no error
    assert re.search(r"round 1: .* errors 0$", out, re.MULTILINE), out
    assert client.dbsize() == 0  # the rate-limit counters were cleaned up
    if database_url.startswith("postgresql"):  # the run's own database was dropped
        engine = sa.create_engine(admin)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM pg_database WHERE datname LIKE 'load_bench_%'")).scalar() == 0
        engine.dispose()
