"""Faults at scale (issue 14): PostgreSQL restarted in the middle of an import, and a gunicorn
worker SIGKILLed while registrations are in flight. Slow: `make test-slow`."""
from __future__ import annotations

import http.client
import http.cookiejar
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from registry import PROJECT_ROOT
from registry.extensions import db
from registry.imports.models import STOPPED
from registry.stats.queries import summary
from tests.helpers import make_app, valid_form
from tests.import_files import good, write_csv
from tests.private_postgres import PrivateCluster, private_cluster, private_database  # noqa: F401 (fixtures)
from tests.test_serving import GUNICORN, free_port

ROWS = 3000
CHUNK = 50


def read(url: str, statement: str) -> list[sa.Row]:  # type: ignore[type-arg]
    """Rows of `statement` on a connection of its own."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(sa.text(statement)))
    finally:
        engine.dispose()


def tally_equals_direct_count(url: str) -> tuple[int, int]:
    app = make_app(url)
    with app.app_context():
        counted = summary(db.session)["total"]
        direct = db.session.execute(sa.text("SELECT count(*) FROM actor WHERE status = 'active'")).scalar_one()
    return counted, direct


@pytest.mark.slow
def test_postgresql_restarted_mid_import_stops_cleanly_and_resumes_to_the_same_counts(
        private_cluster: PrivateCluster, private_database: str, tmp_path: Path) -> None:  # noqa: F811
    rows = [good(n) for n in range(ROWS)]
    rows[10] = good(10, gender="?")  # one rejected row
    rows[2500] = good(3)  # one duplicate of row 5
    path = write_csv(tmp_path / "big.csv", rows)
    env = {**os.environ, "REGISTRY_DATABASE_URL": private_database, "REGISTRY_IMPORT_CHUNK_ROWS": str(CHUNK)}
    process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "registry", "import-actors", str(path), "--json"],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    done_before = 0
    while time.monotonic() < deadline and process.poll() is None:
        found = read(private_database, "SELECT rows FROM import_batch")
        if found and found[0].rows >= 10 * CHUNK:
            done_before = found[0].rows
            break
        time.sleep(0.05)
    assert 0 < done_before < ROWS, "the restart must land in the middle of the import"
    private_cluster.restart()
    out, err = process.communicate(timeout=120)

    batch = read(private_database, "SELECT id, status, failure, rows, imported, duplicates, rejected, last_row "
                                   "FROM import_batch")[0]
    if process.returncode == 0:  # the restart fell between two chunks: the pool reconnected, nothing failed
        assert batch.status == "done", err[-2000:]
        print(f"\nrestart after {done_before} rows: no chunk met it")
    else:  # it met a chunk: that chunk rolled back whole, the batch says where to resume
        assert batch.status == "failed", err[-2000:]
        failure = batch.failure if isinstance(batch.failure, dict) else json.loads(batch.failure)
        assert failure == {"message": STOPPED, "params": {"row": batch.last_row}}
        assert batch.rows % CHUNK == 0 and batch.rows >= done_before
        assert read(private_database, "SELECT count(*) AS n FROM actor")[0].n == batch.imported
        assert "Traceback" not in out
        print(f"\nrestart after {done_before} rows: stopped at row {batch.last_row}, resumed")
        resumed = subprocess.run([sys.executable, "-m", "flask", "--app", "registry", "import-actors", "--resume",
                                  str(batch.id), "--json"], env=env, capture_output=True, text=True, timeout=300)
        assert resumed.returncode == 0, resumed.stderr[-2000:]
        out = resumed.stdout
    assert json.loads(out.strip().splitlines()[-1]) == {"rows": ROWS, "imported": ROWS - 2, "duplicates": 1,
                                                       "rejected": 1, "errors_file": None}
    # No row stored twice, every imported row once; the maintained tally equals a direct count.
    stored = read(private_database, "SELECT count(*) AS n, count(DISTINCT source_row) AS rows_, "
                                    "count(DISTINCT phone) AS phones FROM actor")[0]
    assert stored.n == stored.rows_ == stored.phones == ROWS - 2
    assert read(private_database, "SELECT count(*) AS n FROM import_problem")[0].n == 2
    assert tally_equals_direct_count(private_database) == (ROWS - 2, ROWS - 2)


# --------------------------------------------------------------------------- worker SIGKILL
PEOPLE = 240
CLIENTS = 12
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None  # a 303 is the answer we want to see, not follow


def phone_of(n: int) -> str:
    return f"012 {600 + n // 1000:03d} {n % 1000:03d}"


def register(base: str, n: int) -> str:
    """One person's registration as a browser would send it: its outcome ("303", another
    status, or "dropped" when the connection died with the worker)."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect)
    try:
        page = opener.open(base + "/register?lang=en", timeout=60).read().decode()
        token = CSRF.search(page).group(1)  # type: ignore[union-attr]
    except (OSError, http.client.HTTPException, AttributeError):
        return "no form"  # never sent
    form = valid_form(phone=phone_of(n), full_name=f"Sok {'ABCDEFGHIJKLMNOP'[n % 16]}{'abcdefghij'[n // 16 % 10]}ra")
    body = urllib.parse.urlencode({**form, "csrf_token": token}).encode()
    try:
        return str(opener.open(base + "/register", data=body, timeout=60).status)
    except urllib.error.HTTPError as error:
        return str(error.code)
    except (OSError, http.client.HTTPException):
        return "dropped"


def workers_of(master: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == master:
                children.append(int(entry.name))
    return children


@pytest.mark.slow
def test_a_worker_killed_mid_registration_stores_each_person_once_or_not_at_all(database_url: str,
                                                                               tmp_path: Path) -> None:
    port = free_port()
    log = (tmp_path / "gunicorn.log").open("w")
    # Two processes as in production; rate limits off (they are not what is tested, and two
    # processes need a shared store for them, which gunicorn.conf.py insists on): a config of
    # the test's own, the same threads.
    config = tmp_path / "gunicorn.conf.py"
    config.write_text(f"bind = '127.0.0.1:{port}'\nworkers = 2\nthreads = 4\ngraceful_timeout = 5\n")
    env = {**os.environ, "REGISTRY_DATABASE_URL": database_url, "REGISTRY_SECURE_COOKIES": "0",
           "REGISTRY_RATELIMIT_ENABLED": "0", "SECRET_KEY": "test-only-secret-key"}
    env.pop("REGISTRY_REDIS_URL", None)
    server = subprocess.Popen([str(GUNICORN), "-c", str(config), "registry:create_app()"],
                              cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/health", timeout=5)
                break
            except OSError:
                time.sleep(0.1)
        killed: list[int] = []
        started = [0]  # registrations begun so far

        def killer() -> None:
            for mark in (PEOPLE // 4, PEOPLE // 2):  # twice, while the clients are busy posting
                while started[0] < mark:
                    time.sleep(0.005)
                victim = workers_of(server.pid)[0]
                os.kill(victim, signal.SIGKILL)
                killed.append(victim)

        def one(n: int) -> str:
            started[0] += 1
            return register(base, n)

        thread = threading.Thread(target=killer)
        thread.start()
        with ThreadPoolExecutor(CLIENTS) as pool:
            outcomes = dict(zip(range(PEOPLE), pool.map(one, range(PEOPLE))))
        thread.join(timeout=60)
        before_retry = stored_phones(database_url)
        # Whoever saw no 303 sends the form once more, as a person would: a new record, or
        # "already registered" (409) for one stored without an answer — never a second one.
        retried = {n: register(base, n) for n, outcome in outcomes.items() if outcome != "303"}
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    assert len(killed) == 2
    stored_of = {n: before_retry.get(phone_key(n), 0) for n in range(PEOPLE)}
    answered = [n for n, outcome in outcomes.items() if outcome == "303"]
    assert all(stored_of[n] == 1 for n in answered)
    assert all(stored_of[n] <= 1 for n in retried)
    assert sum(before_retry.values()) == sum(stored_of.values())  # nobody else
    assert len(answered) >= PEOPLE // 2, outcomes  # most got through: the kills cost only those in flight
    assert all(retried[n] == ("409" if stored_of[n] else "303") for n in retried), retried
    final = stored_phones(database_url)
    assert sorted(final) == sorted(phone_key(n) for n in range(PEOPLE)) and set(final.values()) == {1}
    assert tally_equals_direct_count(database_url) == (PEOPLE, PEOPLE)
    print(f"\nworker SIGKILL x2: {len(answered)} stored with a 303, "
          f"{sum(1 for n in retried if stored_of[n])} stored without an answer, "
          f"{sum(1 for n in retried if not stored_of[n])} not stored; first outcomes {sorted(set(outcomes.values()))}")


def phone_key(n: int) -> str:
    return "+855" + phone_of(n).replace(" ", "")[1:]


def stored_phones(url: str) -> dict[str, int]:
    return {row.phone: row.n for row in read(url, "SELECT phone, count(*) AS n FROM actor GROUP BY phone")}
