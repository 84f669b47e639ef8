"""Statistics speed on SQLite with N registrations, against the raw limit measured in the same run.

    .venv/bin/python bench/stats_bench.py N        (e.g. 1000000)

1. Builds N registrations quickly: valid rows spread over 2023-2025, every province and
   commune, inserted with executemany, then the maintained tally counted from them by the
   app's own `rebuild` (the same code that keeps it in step with every registration).
2. Times, through the app (Flask test client, real SQLite file): GET /api/v1/stats for the
   country, a province, a province + category + gender, a district at a month end (public)
   and mid-month (staff: the public may not ask for a day); the signed-in dashboard page;
   and the public /stats page. Prints medians (ms), and the time the first anonymous
   request takes to build the public release (once per month end and data change).
3. The raw limit: the same national breakdown (total and by category) counted straight from
   the actor table with one GROUP BY (what every request would cost without the tally).
"""
from __future__ import annotations

import os
import random
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SECRET_KEY", "bench-only")

SECTORS = ["agriculture", "manufacturing", "construction", "trade", "transport", "food_service",
           "repair", "personal_services", "domestic_work", "other"]


def build(db_path: Path, n: int) -> float:
    from flask_migrate import upgrade

    from registry import create_app
    from registry import areas
    from registry.actors.numbers import registration_number
    from registry.extensions import db
    from registry.stats.tally import rebuild

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}"})
    with app.app_context():
        upgrade()
        app.test_cli_runner().invoke(args=["load-indicators"])
    communes = [(c.province_code, c.district_code, c.code) for p in areas.provinces()
                for d in areas.districts(p.code) for c in areas.communes(d.code)]
    rng = random.Random(2024)
    first, days = date(2023, 1, 1), 3 * 365
    con = sqlite3.connect(db_path)
    rows = []
    for i in range(1, n + 1):
        category = ("employee", "micro_enterprise", "self_employed")[i % 3]
        province, district, commune = communes[rng.randrange(len(communes))]
        rows.append((i, registration_number(i), category, f"Person {i}", f"person{i}", ("female", "male")[i % 2],
                     date(rng.randint(1950, 2005), rng.randint(1, 12), rng.randint(1, 28)).isoformat(), None,
                     f"+85512{i:07d}"[:12], province, district, commune, SECTORS[i % 10],
                     "Shop" if category == "micro_enterprise" else None, 2 if category == "micro_enterprise" else None,
                     ("self", "outreach")[i % 2], (first + timedelta(days=rng.randrange(days))).isoformat(),
                     "2025-01-01 00:00:00.000000", "2025-01-01 00:00:00.000000"))
    con.executemany(
        "INSERT INTO actor (id, registration_number, category, full_name, name_key, gender, date_of_birth, national_id,"
        " phone, province_code, district_code, commune_code, sector, business_name, workers, channel, registered_on,"
        " created_at, consented_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    con.commit()
    con.close()
    del rows
    start = time.perf_counter()
    with app.app_context():
        rebuild(db.session)
        db.session.commit()
    return time.perf_counter() - start


def median_ms(call, repeat: int = 25) -> float:  # type: ignore[no-untyped-def]
    call()  # warm
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    from registry import create_app
    from tests.helpers import make_user, sign_in

    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "registry.sqlite3"
        started = time.perf_counter()
        tally_seconds = build(db_path, n)
        print(f"registrations: {n:,} (built in {time.perf_counter() - started:.0f} s; tally counted in {tally_seconds:.1f} s)")
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}", "RATELIMIT_ENABLED": False})
        public = app.test_client()
        make_user(app, "bench@example.org", "ministry")
        staff = app.test_client()
        sign_in(staff, "bench@example.org")

        def get(client, url):  # type: ignore[no-untyped-def]
            def call() -> None:
                response = client.get(url)
                assert response.status_code == 200, (url, response.status_code)
            return call

        started = time.perf_counter()
        get(public, "/api/v1/stats")()
        cold = (time.perf_counter() - started) * 1000
        cases = [
            ("GET /api/v1/stats (country, today)", get(public, "/api/v1/stats")),
            ("GET /api/v1/stats?as_of=2024-12-31&province=12", get(public, "/api/v1/stats?as_of=2024-12-31&province=12")),
            ("GET /api/v1/stats?province=12&category=employee&gender=female", get(public, "/api/v1/stats?province=12&category=employee&gender=female")),
            ("GET /api/v1/stats?as_of=2024-06-30&district=1201 (month end)", get(public, "/api/v1/stats?as_of=2024-06-30&district=1201")),
            ("GET /api/v1/stats?as_of=2024-06-17&district=1201 (mid-month, signed-in ministry)",
             get(staff, "/api/v1/stats?as_of=2024-06-17&district=1201")),
            ("GET /api/v1/stats (signed-in ministry, exact)", get(staff, "/api/v1/stats?as_of=2025-03-14")),
            ("GET /dashboard?year=2024 (page render)", get(staff, "/dashboard?year=2024")),
            ("GET /stats?year=2024 (public page)", get(public, "/stats?year=2024")),
        ]
        figures = [(label, median_ms(call)) for label, call in cases]
        con = sqlite3.connect(db_path)
        raw = median_ms(lambda: con.execute(
            "SELECT category, count(*) FROM actor WHERE registered_on <= '2024-12-31' GROUP BY category").fetchall(), repeat=5)
        print(f"first anonymous request (builds the public release): {cold:.0f} ms")
        for label, ms in figures:
            print(f"{label}: median {ms:.1f} ms")
        print(f"raw limit: one GROUP BY over the actor table (national total by category, no tally): median {raw:.1f} ms")
        api = figures[0][1]
        print(f"ratio: the whole API answer (every breakdown) in {api / raw:.2f} of the time of that one raw count")
        print(f"peak memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
