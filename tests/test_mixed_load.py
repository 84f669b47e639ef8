"""Exact under mixed load (issue 14): the real gunicorn (2 worker processes, as `make run`
starts it with Redis) serves registrations, status look-ups and statistics while two
overlapping imports run beside it on two job-queue workers (`flask worker`, RQ), for REGISTRY_MIXED_LOAD_SECONDS
(60 by default), on SQLite and on PostgreSQL.

Eight clients register people (two of them the same people at the same moment), one reads
the statistics and looks up registrations, one member of staff corrects records. Afterwards every 303 is exactly one stored
person, nobody is stored twice, both imports ended with exact counts, the maintained tally
equals a recount, nothing answered 5xx, and registrations kept p99 < 500 ms with none
past the client's 2 s timeout. On PostgreSQL a sampler watches pg_locks: no registration
waits 100 ms or more on a lock an import holds. Every request carries its own id: the slowest
and the unanswered are found again in the server's request log (when its app began, how long
it took), which tells a wait in the server's queues from one in the app.

Rate limits are off for this run only (every client is 127.0.0.1: the per-address limits
would refuse the campaign itself); they still count in Redis, as in production.
"""
from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy as sa

from registry import PROJECT_ROOT, clock
from tests.helpers import POSTGRES_URL, make_app, make_user, tally_matches_a_recount
from tests.import_files import HEADER, good, write_csv
from tests.test_serving import serve, stop

pytestmark = pytest.mark.slow

SECONDS = float(os.environ.get("REGISTRY_MIXED_LOAD_SECONDS", 60))
CLIENTS = 8
TIMEOUT = 2.0  # the client's timeout: a registration slower than this failed for its person
IMPORT_ROWS = int(os.environ.get("REGISTRY_MIXED_LOAD_IMPORT_ROWS", 60_000))
FLASK = Path(sys.executable).with_name("flask")
IMPORTER = "registry-import"  # application_name of the import workers' connections
REDIS_URL = "redis://127.0.0.1:6379/14"  # this test's own Redis database
REASONS = re.compile(r'class="field-error" id="([a-z_]+)-error">([^<]+)')


@dataclass
class Tally:
    """What the clients saw."""

    created: Counter[str] = field(default_factory=Counter)  # phone -> 303s
    refused_as_duplicate: Counter[str] = field(default_factory=Counter)  # phone -> 409s
    unanswered: set[str] = field(default_factory=set)  # phones whose POST timed out
    # request id -> (wall-clock second sent, seconds waited, what failed): the requests (POSTs,
    # receipts, reads) that timed out or failed, found again in the server's request log (`server_view`)
    failed: dict[str, tuple[float, float, str]] = field(default_factory=dict)
    slowest: list[tuple[float, str, float]] = field(default_factory=list)  # (seconds, request id, sent at)
    latencies: list[float] = field(default_factory=list)  # registration POSTs only, seconds
    statuses: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Client:
    """A phone's browser: keeps its session cookie and the form's CSRF token."""

    opened: list["Client"] = []  # closed by the test once its threads are done

    def __init__(self, base: str) -> None:
        Client.opened.append(self)
        url = urllib.parse.urlsplit(base)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        self.cookie = ""
        self.connection = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT)

    def request(self, method: str, path: str, body: dict[str, str] | None = None,
                request_id: str | None = None) -> tuple[int, str, dict[str, str]]:
        headers = {"Accept-Language": "km"}
        if request_id:
            headers["X-Request-ID"] = request_id  # the server logs it with its own duration
        if self.cookie:
            headers["Cookie"] = self.cookie
        data = None
        if body is not None:
            data = urllib.parse.urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.connection.request(method, path, body=data, headers=headers)
            response = self.connection.getresponse()
            text = response.read().decode("utf-8", "replace")
        except Exception:
            self.connection.close()  # a new connection for the next request
            self.connection = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT)
            raise
        cookie = response.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        return response.status, text, dict(response.getheaders())

    def token(self) -> str:
        """The form's token, fetched before the clock starts (a worker's first page is slow)."""
        self.connection.timeout = 30
        try:
            status, token = form_token(self, "/register")
        finally:
            self.connection.close()
            self.connection = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT)
        assert status == 200 and token, f"the form answered {status}, token {bool(token)}"
        return token


def born(n: int) -> date:
    """Dates of birth spread over 40 years, as a campaign's people are (the duplicate search
    compares people born the same day: one shared birthday would make every pair a candidate)."""
    return date(1966, 1, 1) + timedelta(days=n * 7919 % 14_600)


def person(phone: str, name: str, n: int) -> dict[str, str]:
    return {"category": "self_employed", "full_name": name, "gender": "male", "date_of_birth": born(n).strftime("%d/%m/%Y"),
            "national_id": "", "phone": phone, "province": "12", "district": "1201", "commune": "120101",
            "sector": "trade", "business_name": "", "workers": "", "consent": "y"}


def name_of(n: int) -> str:
    return "Web " + chr(65 + n % 26) + chr(65 + n // 26 % 26) + chr(65 + n // 676 % 26)


def registering(base: str, client_no: int, deadline: float, seen: Tally, pair: threading.Barrier | None) -> None:
    """Register new people until the deadline; clients 0 and 1 post the same people together."""
    client = Client(base)
    token = client.token()
    n = 0
    while time.monotonic() < deadline:
        shared = pair is not None
        number = n if shared else client_no * 100_000 + n
        phone = f"097 {number // 1000 % 1000:03d} {number % 1000:03d}" if not shared else f"092 {n // 1000 % 1000:03d} {n % 1000:03d}"
        key = phone.replace(" ", "")
        n += 1
        if pair is not None:
            try:
                pair.wait(timeout=10 if n > 1 else 60)  # the first: the partner may still be fetching its form
            except threading.BrokenBarrierError:
                return
        request_id = f"mixed-load-{client_no}-{n:06d}"
        sent_at, started = time.time(), time.perf_counter()
        try:
            status, page, headers = client.request("POST", "/register", {**person(phone, name_of(number), number), "csrf_token": token},
                                                   request_id)
        except (TimeoutError, OSError) as error:
            with seen.lock:
                seen.unanswered.add(key)
                seen.failed[request_id] = (sent_at, time.perf_counter() - started, type(error).__name__)
                seen.errors.append(f"client {client_no}: POST timed out or failed: {type(error).__name__}")
            continue
        elapsed = time.perf_counter() - started
        with seen.lock:
            seen.slowest = sorted([*seen.slowest, (elapsed, request_id, sent_at)], reverse=True)[:5]
            seen.latencies.append(elapsed)
            seen.statuses[status] += 1
            if status == 303:
                seen.created[key] += 1
            elif status == 409:
                seen.refused_as_duplicate[key] += 1
            else:
                seen.errors.append(f"POST answered {status}: {REASONS.findall(page)[:2]}")
        if status == 303:
            receipt = f"{request_id}-receipt"
            sent_at, started = time.time(), time.perf_counter()
            try:
                client.request("GET", headers.get("Location", "/register/done").replace(base, ""), request_id=receipt)
            except (TimeoutError, OSError) as error:
                with seen.lock:
                    seen.failed[receipt] = (sent_at, time.perf_counter() - started, type(error).__name__)
                    seen.errors.append(f"the receipt page timed out or failed: {type(error).__name__}")


def server_view(server_log: str, requests: dict[str, tuple[float, float, str]]) -> list[str]:
    """How the server saw each request (its JSON request line: when its app began and how long
    it took) beside how the client saw it: where a slow or unanswered request spent its time."""
    lines = {}
    for line in server_log.splitlines():
        if '"request_id"' in line and '"duration_ms"' in line:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("request_id") in requests:
                lines[entry["request_id"]] = entry
    views = []
    for request_id, (sent_at, waited, outcome) in sorted(requests.items(), key=lambda item: item[1][0]):
        entry = lines.get(request_id)
        client = f"{request_id} ({outcome}, the client waited {waited * 1000:.0f} ms)"
        if entry is None:
            views.append(f"{client}: no request line from the server")
            continue
        ended = datetime.fromisoformat(entry["time"]).timestamp()
        began = ended - entry["duration_ms"] / 1000
        views.append(f"{client}: the app began {(began - sent_at) * 1000:.0f} ms after it was sent and took "
                     f"{entry['duration_ms']:.0f} ms ({entry.get('status')})")
    return views


def reading(base: str, deadline: float, seen: Tally) -> None:
    """Statistics (the public page and the API) and status look-ups, as the public does."""
    client = Client(base)
    paths = ["/stats", "/api/v1/stats", "/api/v1/stats?province=12", "/status"]
    i = 0
    while time.monotonic() < deadline:
        path = paths[i % len(paths)]
        i += 1
        request_id = f"mixed-load-reader-{i:06d}"
        sent_at, started = time.time(), time.perf_counter()
        try:
            status, _page, _headers = client.request("GET", path, request_id=request_id)
        except (TimeoutError, OSError) as error:
            with seen.lock:
                seen.failed[request_id] = (sent_at, time.perf_counter() - started, type(error).__name__)
                seen.errors.append(f"GET {path} failed: {type(error).__name__}")
            continue
        with seen.lock:
            seen.statuses[status] += 1
            if status not in (200, 401):  # 401: the API without a token
                seen.errors.append(f"GET {path} answered {status}")


STAFF = "outreach.lead@example.org"


def day(value: date | str) -> str:
    """A stored date (SQLite gives text) as the form writes it."""
    return (date.fromisoformat(value) if isinstance(value, str) else value).strftime("%d/%m/%Y")


def form_token(client: Client, path: str) -> tuple[int, str]:
    status, page, _headers = client.request("GET", path)
    found = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)
    return status, found.group(1) if found else ""


def correcting(base: str, app, deadline: float, seen: Tally, corrected: Counter[str]) -> None:  # type: ignore[no-untyped-def]
    """A member of outreach staff signed in (password, then the authenticator's code)
    corrects the sector of people registered minutes ago, as the record page does."""
    from tests.helpers import PASSWORD, mfa_code

    client = Client(base)
    client.connection.timeout = 30
    _status, token = form_token(client, "/staff/login")
    client.request("POST", "/staff/login", {"email": STAFF, "password": PASSWORD, "csrf_token": token})
    _status, token = form_token(client, "/staff/login/code")
    status, _page, _headers = client.request("POST", "/staff/login/code", {"code": mfa_code(app, STAFF), "csrf_token": token})
    assert status == 303, f"the staff sign-in answered {status}"
    client.connection.timeout = TIMEOUT
    engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    done: set[str] = set()
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            rows = connection.execute(sa.text(
                "SELECT registration_number, category, full_name, gender, date_of_birth, phone, province_code,"
                " district_code, commune_code, registered_on FROM actor WHERE channel = 'self' AND sector = 'trade'"
                " ORDER BY id DESC LIMIT 5")).all()
        rows = [row for row in rows if row[0] not in done]
        if not rows:
            time.sleep(0.2)
            continue
        number, category, name, gender, born, phone, province, district, commune, registered = rows[0]
        done.add(number)
        path = f"/staff/actors/{number}/correct"
        try:
            _status, token = form_token(client, path)
            status, _page, _headers = client.request("POST", path, {
                "category": category, "full_name": name, "gender": gender, "date_of_birth": day(born),
                "national_id": "", "phone": phone, "province": province, "district": district, "commune": commune,
                "sector": "transport", "business_name": "", "workers": "", "registered_on": day(registered),
                "kind": "correction", "effective": "", "reason": "Sector written wrongly", "csrf_token": token})
        except (TimeoutError, OSError) as error:
            with seen.lock:
                seen.errors.append(f"a correction timed out or failed: {type(error).__name__}")
            continue
        with seen.lock:
            seen.statuses[status] += 1
            if status == 303:
                corrected[phone] += 1
            else:
                seen.errors.append(f"a correction answered {status}")
    engine.dispose()


@dataclass
class LockWaits:
    """PostgreSQL: the longest wait of a web connection on a lock an import connection holds."""

    longest: float = 0.0
    samples: int = 0
    seen: list[str] = field(default_factory=list)
    by_kind: dict[str, float] = field(default_factory=dict)  # lock kind -> longest wait, seconds

    def summary(self) -> str:
        return ", ".join(f"{kind} {seconds * 1000:.0f} ms" for kind, seconds in sorted(self.by_kind.items()))


def sample_lock_waits(url: str, stop_at: threading.Event, waits: LockWaits) -> None:
    engine = sa.create_engine(url, connect_args={"application_name": "lock-sampler"})
    query = sa.text(
        "SELECT extract(epoch FROM clock_timestamp() - l.waitstart),"
        " (SELECT string_agg(DISTINCT b.application_name || ' ' || b.state || ': ' || left(b.query, 50), ',')"
        "  FROM pg_stat_activity b WHERE b.pid = ANY(pg_blocking_pids(w.pid))), l.locktype"
        " FROM pg_locks l JOIN pg_stat_activity w ON w.pid = l.pid"
        " WHERE NOT l.granted AND w.datname = current_database() AND w.application_name = 'registry-web'"
        " AND l.waitstart IS NOT NULL")
    with engine.connect() as connection:
        while not stop_at.is_set():
            for seconds, blockers, kind in connection.execute(query):
                if blockers and IMPORTER in blockers:
                    waits.longest = max(waits.longest, float(seconds))
                    waits.by_kind[kind] = max(waits.by_kind.get(kind, 0.0), float(seconds))
                    waits.seen.append(f"{float(seconds) * 1000:.0f} ms on a {kind} lock behind {blockers}")
            connection.rollback()
            waits.samples += 1
            stop_at.wait(0.01)
    engine.dispose()


def write_import(path: Path, first: int, count: int) -> Path:
    today = clock.today().isoformat()
    return write_csv(path, [good(n, registered_on=today, date_of_birth=born(n).isoformat()) for n in range(first, first + count)], HEADER)


def importer_environment(database_url: str, queue: str, uploads: Path) -> dict[str, str]:
    url = database_url
    if url.startswith("postgresql"):
        url = str(sa.make_url(url).update_query_dict({"application_name": IMPORTER}))
    return {**os.environ, "REGISTRY_DATABASE_URL": url, "SECRET_KEY": "test-only-secret-key",
            "REGISTRY_REDIS_URL": queue, "REGISTRY_IMPORT_UPLOAD_FOLDER": str(uploads)}


def enqueue(environment: dict[str, str], path: Path) -> None:
    """`import-actors PATH --enqueue`: the batch is created and put on the queue at once."""
    done = subprocess.run([str(FLASK), "--app", "registry", "import-actors", str(path), "--enqueue", "--json"],
                          cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def start_worker(environment: dict[str, str], name: str, log: Path) -> subprocess.Popen:  # type: ignore[type-arg]
    """`flask worker --burst`: runs the queued imports (and their duplicate searches), then
    quits. Its output goes to a file (a pipe read only at the end could fill and block it)."""
    with log.open("w") as out:
        return subprocess.Popen([str(FLASK), "--app", "registry", "worker", "--burst", "--name", name],
                                cwd=PROJECT_ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT)


def web_url(database_url: str) -> str:
    if database_url.startswith("postgresql"):
        return str(sa.make_url(database_url).update_query_dict({"application_name": "registry-web"}))
    return database_url


@pytest.fixture
def shared_store() -> Iterator[str]:
    """This test's own Redis database (14): rate limits and the job queue, emptied before and after."""
    try:
        import redis

        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
        client.flushdb()
    except Exception as error:  # noqa: BLE001 - no Redis here
        pytest.skip(f"Redis is not running ({type(error).__name__}): two gunicorn workers and the job queue need it")
    yield REDIS_URL
    client.flushdb()
    client.close()


def test_registrations_imports_and_statistics_at_once_stay_exact(database_url: str, shared_store: str, tmp_path: Path) -> None:
    overlap = IMPORT_ROWS // 4
    first = write_import(tmp_path / "first.csv", 0, IMPORT_ROWS)
    second = write_import(tmp_path / "second.csv", IMPORT_ROWS - overlap, IMPORT_ROWS)
    people_in_files = 2 * IMPORT_ROWS - overlap

    app = make_app(database_url)
    make_user(app, STAFF, "outreach")
    corrected: Counter[str] = Counter()
    server, base = serve(web_url(database_url), REGISTRY_REDIS_URL=shared_store, WEB_CONCURRENCY="2",
                         REGISTRY_RATELIMIT_ENABLED="0", REGISTRY_LOG_FORMAT="json")
    seen, waits, stop_sampling = Tally(), LockWaits(), threading.Event()
    sampler = None
    if POSTGRES_URL:
        sampler = threading.Thread(target=sample_lock_waits, args=(database_url, stop_sampling, waits))
        sampler.start()
    importing = importer_environment(database_url, shared_store, tmp_path / "uploads")
    enqueue(importing, first)
    enqueue(importing, second)
    try:
        workers = [start_worker(importing, name, tmp_path / f"{name}.log") for name in ("import-1", "import-2")]
        deadline = time.monotonic() + SECONDS
        pair = threading.Barrier(2)
        threads = [threading.Thread(target=registering, args=(base, n, deadline, seen, pair if n < 2 else None))
                   for n in range(CLIENTS)]
        threads.append(threading.Thread(target=reading, args=(base, deadline, seen)))
        threads.append(threading.Thread(target=correcting, args=(base, app, deadline, seen, corrected)))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        pair.abort()
        with app.app_context():  # how far the imports got meanwhile (they share the cores)
            from registry.extensions import db

            imported_meanwhile = db.session.execute(sa.text("SELECT coalesce(sum(rows), 0) FROM import_batch")).scalar_one()
            db.session.rollback()
        while Client.opened:
            Client.opened.pop().connection.close()
        for worker in workers:
            worker.wait(timeout=600)
        outputs = [(tmp_path / f"{name}.log").read_text() for name in ("import-1", "import-2")]
    finally:
        stop_sampling.set()
        if sampler is not None:
            sampler.join()
        server_log = stop(server)

    latencies = sorted(seen.latencies) or [float("inf")]
    p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)]
    print(f"\n{len(latencies)} registrations, p50 {latencies[len(latencies) // 2] * 1000:.0f} ms, "
          f"p99 {p99 * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms, {len(seen.unanswered)} unanswered; "
          f"longest lock wait behind an import {waits.longest * 1000:.0f} ms ({waits.samples} samples"
          f"{'; ' + max(waits.seen, key=lambda w: float(w.split()[0])) if waits.seen else ''}; "
          f"longest by lock kind: {waits.summary() or '-'}); {imported_meanwhile} rows imported meanwhile; "
          f"statuses {dict(seen.statuses)}; errors {Counter(seen.errors).most_common(12)}")
    slowest = {request_id: (sent_at, seconds, "answered") for seconds, request_id, sent_at in seen.slowest}
    timings = server_view(server_log, {**slowest, **seen.failed})
    print("\n".join(["the slowest and the unanswered POSTs, client and server:", *timings]))
    # Exact first: whatever the timings, nothing is lost, doubled or miscounted.
    assert all(worker.returncode == 0 for worker in workers), [output[-3000:] for output in outputs]
    assert "Traceback" not in server_log, server_log[-3000:]
    assert '"stack"' not in server_log, server_log[-3000:]  # an exception the app logged (JSON lines)
    assert not [status for status in seen.statuses if status >= 500], seen.statuses
    # The pair: each shared person stored once, by exactly one of the two posts.
    assert any(phone.startswith("092") for phone in seen.created), "the pair registered nobody"
    for phone in set(seen.created) | set(seen.refused_as_duplicate):
        if phone.startswith("092"):
            assert seen.created[phone] == 1 and seen.refused_as_duplicate[phone] in (0, 1), phone
        else:
            assert seen.created[phone] == 1, phone
    with app.app_context():
        from registry.extensions import db

        web = dict(db.session.execute(sa.text(
            "SELECT phone, count(*) FROM actor WHERE channel = 'self' GROUP BY phone")).all())
        assert set(web.values()) <= {1}  # nobody stored twice
        stored = {phone.replace("+855", "0") for phone in web}
        # Every 303 is a stored person; a POST the client gave up on may have been stored (once).
        assert set(seen.created) <= stored <= set(seen.created) | seen.unanswered
        imported = db.session.execute(sa.text("SELECT count(*) FROM actor WHERE channel = 'outreach'")).scalar_one()
        assert imported == people_in_files
        batches = db.session.execute(sa.text(
            "SELECT status, imported, duplicates, rejected, worker FROM import_batch ORDER BY id")).all()
        assert [b.status for b in batches] == ["done", "done"], batches
        assert sum(b.imported for b in batches) == people_in_files
        assert sum(b.duplicates for b in batches) == overlap and sum(b.rejected for b in batches) == 0
        assert {b.worker for b in batches} <= {"import-1", "import-2"}
        moved = dict(db.session.execute(sa.text(
            "SELECT phone, count(*) FROM actor WHERE channel = 'self' AND sector = 'transport' GROUP BY phone")).all())
        assert moved == dict(corrected) and len(corrected) > 0  # every correction answered 303 is stored
        tally_matches_a_recount(db.session)

    # Then the service the clients got: no timeout, p99 < 500 ms, no wait behind an import.
    assert seen.errors == [], (seen.errors[:20], timings)
    assert seen.unanswered == set(), timings
    assert len(latencies) > 100 and p99 < 0.5, f"{len(latencies)} registrations, p99 {p99 * 1000:.0f} ms"
    if POSTGRES_URL:
        assert waits.samples > 100
        assert waits.longest < 0.1, waits.seen[:20]
