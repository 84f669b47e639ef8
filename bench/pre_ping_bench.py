"""What testing each pooled connection before use (`pool_pre_ping`, registry.database.
engine_options) costs on the registration POST, on PostgreSQL.

    .venv/bin/python bench/pre_ping_bench.py POSTGRESQL_URL [N]      (default 400 per side)

The URL's database is emptied and migrated (never point it at one that matters). The same
form is posted through the whole web path (form, validation, identity, tally, duplicate
queue, commit, redirect) by two apps on that database, one with the ping and one without,
in alternating rounds of 50 so that both see the same table sizes. Prints the median and
mean ms per POST of each, the difference, and the ping alone (2,000 of them).
"""
from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SECRET_KEY", "bench-only")

from flask_migrate import upgrade  # noqa: E402

from bench.databases import empty_postgres_schema  # noqa: E402
from registry import create_app  # noqa: E402
from registry.extensions import db  # noqa: E402

ROUND = 50


def form(n: int) -> dict[str, str]:
    return {"category": "self_employed", "full_name": f"Person {chr(65 + n % 26)}{chr(65 + n // 26 % 26)} Test",
            "gender": "female", "date_of_birth": "25/01/1990", "national_id": "", "phone": f"012 {n // 1000:03d} {n % 1000:03d}",
            "province": "12", "district": "1201", "commune": "120101", "sector": "trade", "business_name": "",
            "workers": "", "consent": "y"}


def app_for(url: str, pre_ping: bool):  # type: ignore[no-untyped-def]
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False, "WTF_CSRF_ENABLED": False,
                       "SQLALCHEMY_ENGINE_OPTIONS": {"hide_parameters": True, "pool_pre_ping": pre_ping}})


def main() -> None:
    url, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 400
    empty_postgres_schema(url)
    apps = {True: app_for(url, True), False: app_for(url, False)}
    with apps[True].app_context():
        upgrade()
    times: dict[bool, list[float]] = {True: [], False: []}
    clients = {side: app.test_client() for side, app in apps.items()}
    number = 0
    for _ in range(n // ROUND):
        for side in (False, True):
            for _ in range(ROUND):
                number += 1
                start = time.perf_counter()
                response = clients[side].post("/register", data=form(number))
                times[side].append(time.perf_counter() - start)
                assert response.status_code == 303, response.status_code
    with apps[True].app_context():  # the ping alone, as the pool sends it at each checkout
        with db.engine.connect() as connection:
            dbapi = connection.connection.dbapi_connection
            start = time.perf_counter()
            for _ in range(2000):
                db.engine.dialect.do_ping(dbapi)
            ping = (time.perf_counter() - start) / 2000
    for app in apps.values():
        with app.app_context():
            db.engine.dispose()
    for side, label in ((False, "without pre_ping"), (True, "with pre_ping")):
        ms = [t * 1000 for t in times[side]]
        print(f"{label:17} {len(ms)} POSTs: median {statistics.median(ms):.2f} ms, mean {statistics.mean(ms):.2f} ms")
    print(f"the ping alone: {ping * 1000:.3f} ms")
    difference = statistics.median(times[True]) - statistics.median(times[False])
    print(f"cost of the ping: {difference * 1000:+.2f} ms per POST "
          f"({difference / statistics.median(times[False]) * 100:+.1f} % of the median)")


if __name__ == "__main__":
    main()
