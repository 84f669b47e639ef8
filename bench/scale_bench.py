"""The registry at national scale on PostgreSQL: N registrations (10,000,000 in the README)
against the same requests on an empty registry, measured in the same run.

    .venv/bin/python bench/scale_bench.py N [--reuse] [--posts 200] [--import-rows 100000]
                                            [--skip-empty] [--stats-only] [--database scale_bench]
                                            [--server postgresql+psycopg://postgres@127.0.0.1:5432]

1. Builds database `<database>_<N>` (`--database`: default `scale_bench`): migrated by the app, the ministry's indicators loaded,
   then N registrations COPYed in the app's bulk layout (`BULK_COLUMNS`, as insert_actors
   writes them; the secondary indexes dropped and built again after, as any bulk load does),
   the tally counted by the app's own `rebuild`, then ANALYZE (as autovacuum would). The people look like the country's:
   the ministry's category shares (14 % employees, 13 % micro-enterprises, 73 % self-employed),
   every commune, Khmer (60 %) and Latin (40 %) names made of common family and given names
   (about 30,000 distinct names, so many people share one, as in life), births 1950-2008,
   national IDs on 40 %, registrations spread over 2023-01-01 .. 2026-11-30, self and outreach.
   `--reuse` keeps the database between runs (it is built once if missing or smaller than N);
   without it the database is built again and dropped at the end.
2. On the N registry and on an empty one (`<database>_empty`, created and dropped), through
   the app (Flask test client, signed in as ministry staff where the exact figures are asked):
   - GET /api/v1/stats: the country today, as of 2024-12-31, a province, a province + category +
     gender, a district mid-month, a six-month window (exact, staff); the country and a province
     as the public sees them (the release); the dashboard page; medians of 25.
   - Registration POSTs (GET the form for its CSRF token, then POST; the POST is timed) of
     `--posts` new people with common names: median and p95.
   - A `--import-rows` CSV import of new people through create_batch + run_import (what `flask
     import-actors` runs): seconds until the batch is done, then the after-import duplicate search.
   - Staff search by registration number, phone and part of a name (registry.records.search).
   `--stats-only` measures the statistics and the dashboard alone (no POST, import or search).
3. The raw limit: one `GROUP BY category` over the actor table (what every statistics request
   would cost without the tally). Prints every figure, the N/empty ratio and the targets
   (statistics median < 10 ms, dashboard < 100 ms, registration and import within 20 % of empty).
"""
from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SECRET_KEY", "bench-only")
os.environ.setdefault("REGISTRY_DISCLOSURE_KEY", "bench-only")
os.environ.setdefault("REGISTRY_LOG_LEVEL", "WARNING")  # not a line per request

import sqlalchemy as sa  # noqa: E402

from bench.databases import fresh_postgres_database  # noqa: E402
from bench.duplicates_bench import FAMILIES, GIVEN  # noqa: E402
from bench.import_bench import HEADER, _instrument, timed_import  # noqa: E402

NOW = datetime(2026, 11, 30, 12, tzinfo=timezone.utc)
FIRST_DAY, DAYS = date(2023, 1, 1), (date(2026, 11, 30) - date(2023, 1, 1)).days + 1
SECTORS = ("agriculture", "manufacturing", "construction", "trade", "transport", "food_service",
           "repair", "personal_services", "domestic_work", "other")
# The ministry's shares at the end of 2024 (168 employees, 159 micro-enterprises, 858 self-employed of 1,185).
CATEGORY_WEIGHTS = (("employee", 168), ("micro_enterprise", 159), ("self_employed", 858))
STATS_TARGET_MS, DASHBOARD_TARGET_MS, SAME_AS_EMPTY = 10.0, 100.0, 1.20


# --------------------------------------------------------------------------- the people
class People:
    """Registrations of the country's shape; person i is always the same person (so a
    rebuilt database holds the same people), and `phone_prefix` keeps sets apart."""

    def __init__(self, phone_prefix: str) -> None:
        from registry import areas

        self.phone_prefix = phone_prefix
        self.communes = [(c.province_code, c.district_code, c.code) for p in areas.provinces()
                         for d in areas.districts(p.code) for c in areas.communes(d.code)]
        self.categories = [c for c, weight in CATEGORY_WEIGHTS for _ in range(weight)]
        self._keys: dict[str, tuple[str, str]] = {}

    def name(self, rng: random.Random) -> str:
        family, given = rng.choice(FAMILIES), rng.choice(GIVEN)
        second = rng.choice(GIVEN) if rng.random() < 0.9 else None
        if rng.random() < 0.6:
            return f"{family[0]} {given[0]}{second[0] if second else ''}"
        return f"{family[1]} {given[1]}{second[1].lower() if second else ''}"

    def row(self, i: int) -> dict[str, Any]:
        rng = random.Random(i)
        category = self.categories[rng.randrange(len(self.categories))]
        province, district, commune = self.communes[rng.randrange(len(self.communes))]
        born = date(1950, 1, 1) + timedelta(days=rng.randrange(59 * 365))
        return {
            "category": category, "full_name": self.name(rng), "gender": ("female", "male")[rng.randrange(2)],
            "date_of_birth": born, "national_id": f"{100_000_000 + i}" if rng.random() < 0.4 else None,
            "phone": f"+855{self.phone_prefix}{i % 10_000_000:07d}", "province": province, "district": district, "commune": commune,
            "sector": SECTORS[rng.randrange(len(SECTORS))],
            "business_name": "ហាងលក់ទំនិញ" if category == "micro_enterprise" else None,
            "workers": 1 + rng.randrange(9) if category == "micro_enterprise" else None,
            "registered_on": FIRST_DAY + timedelta(days=rng.randrange(DAYS)),
        }

    def registration(self, i: int):  # type: ignore[no-untyped-def]
        from registry.actors.normalise import identity_name
        from registry.actors.romanise import roman_key
        from registry.actors.validation import Registration

        r = self.row(i)
        keys = self._keys.get(r["full_name"])
        if keys is None:
            keys = self._keys[r["full_name"]] = (identity_name(r["full_name"]), roman_key(r["full_name"]))
        return Registration(
            category=r["category"], full_name=r["full_name"], name_key=keys[0], roman_key=keys[1], gender=r["gender"],
            date_of_birth=r["date_of_birth"], national_id=r["national_id"], phone=r["phone"],
            province_code=r["province"], district_code=r["district"], commune_code=r["commune"], sector=r["sector"],
            business_name=r["business_name"], workers=r["workers"], registered_on=r["registered_on"])

    def form(self, i: int) -> dict[str, str]:
        """Person i as a phone's browser posts the self-registration form (registered today)."""
        r = self.row(i)
        born = r["date_of_birth"]
        local = r["phone"][4:]
        return {"category": r["category"], "full_name": r["full_name"], "gender": r["gender"],
                "date_of_birth": f"{born.day:02d}/{born.month:02d}/{born.year}", "national_id": r["national_id"] or "",
                "phone": f"0{local[:2]} {local[2:5]} {local[5:]}", "province": r["province"], "district": r["district"],
                "commune": r["commune"], "sector": r["sector"], "business_name": r["business_name"] or "",
                "workers": str(r["workers"] or ""), "consent": "y"}


# --------------------------------------------------------------------------- building
def make_app(url: str, upload_folder: str):  # type: ignore[no-untyped-def]
    from registry import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False,
                       "IMPORT_UPLOAD_FOLDER": upload_folder})


def migrate(app) -> None:  # type: ignore[no-untyped-def]
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()
    result = app.test_cli_runner().invoke(args=["load-indicators"])
    assert result.exit_code == 0, result.output


def build(app, n: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """N registrations COPYed into the actor table (its secondary indexes dropped first and
    built again after, as any bulk load does), then the tally counted by the app's own
    `rebuild` (the repair that recounts it from the actors) and ANALYZE; seconds by step."""
    from registry.actors.numbers import registration_number
    from registry.actors.services import BULK_COLUMNS
    from registry.extensions import db
    from registry.stats.tally import rebuild

    people, seconds = People("97"), {}
    with app.app_context():
        connection = db.session.connection()
        indexes = connection.execute(sa.text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'actor'"
            " AND indexname NOT IN (SELECT conname FROM pg_constraint)")).all()
        for name, _ in indexes:
            connection.execute(sa.text(f'DROP INDEX "{name}"'))
        started = time.perf_counter()
        with connection.connection.dbapi_connection.cursor() as cursor:  # type: ignore[union-attr]
            with cursor.copy(f"COPY actor ({', '.join(BULK_COLUMNS)}) FROM STDIN") as copy:
                for i in range(1, n + 1):
                    copy.write_row((i, registration_number(i), *people.registration(i),
                                    ("self", "outreach")[i % 2], NOW, NOW, None, None, None))
                    if i % 1_000_000 == 0:
                        print(f"  {i:,} copied, {i / (time.perf_counter() - started):,.0f} rows/s", flush=True)
        connection.execute(sa.text("SELECT setval('actor_id_seq', :n)"), {"n": max(n, 1)})
        seconds["COPY"] = time.perf_counter() - started
        started = time.perf_counter()
        for _, definition in indexes:
            connection.execute(sa.text(definition))
        seconds["indexes"] = time.perf_counter() - started
        started = time.perf_counter()
        rebuild(db.session)
        seconds["tally"] = time.perf_counter() - started
        db.session.commit()
        started = time.perf_counter()
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
        seconds["ANALYZE"] = time.perf_counter() - started
    return seconds


def stored(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT count(*) FROM actor")).scalar_one()
    except sa.exc.DBAPIError:
        return -1
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- measuring
def median_ms(call: Callable[[], object], repeat: int = 25) -> float:
    call()  # warm
    return statistics.median(timed(call, repeat))


def timed(call: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return times


def p95(times: list[float]) -> float:
    return sorted(times)[max(0, int(len(times) * 0.95) - 1)]


STATS_CASES = [  # (label, url, exact: asked by signed-in staff)
    ("stats: country, today", "/api/v1/stats", True),
    ("stats: country as of 2024-12-31", "/api/v1/stats?as_of=2024-12-31", True),
    ("stats: province 12", "/api/v1/stats?province=12", True),
    ("stats: province 12 + employee + female", "/api/v1/stats?province=12&category=employee&gender=female", True),
    ("stats: district 1201 on 2024-06-17", "/api/v1/stats?as_of=2024-06-17&district=1201", True),
    ("stats: six months (since 2024-01-01)", "/api/v1/stats?since=2024-01-01&as_of=2024-06-30", True),
    ("stats: country (public release)", "/api/v1/stats?as_of=2024-12-31", False),
    ("stats: province 12 (public release)", "/api/v1/stats?as_of=2024-12-31&province=12", False),
    ("dashboard page (2026, signed in)", "/dashboard?year=2026", True),
]


def measure(app, url: str, posts: int, import_rows: int, folder: Path, stats_only: bool = False) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    from tests.helpers import csrf_token, make_user, sign_in

    figures: dict[str, Any] = {"stored": stored(url)}
    staff, public = app.test_client(), app.test_client()
    email = f"bench{time.time_ns()}@example.org"
    make_user(app, email, "ministry")
    assert sign_in(staff, email).status_code == 303

    for label, address, exact in STATS_CASES:
        client = staff if exact else public

        def get(client=client, address=address) -> None:  # type: ignore[no-untyped-def]
            answer = client.get(address)
            assert answer.status_code == 200, (address, answer.status_code)

        figures[label] = median_ms(get)
    if stats_only:
        return figures

    # Registration POSTs of new people (phones of their own prefix: 096; the import 088; the registry 097); the POST alone is timed.
    people, visitor = People("96"), app.test_client()
    first = figures["stored"] + 1
    times = []
    for i in range(first, first + posts):
        data = dict(people.form(i), csrf_token=csrf_token(visitor, "/register"))
        start = time.perf_counter()
        answer = visitor.post("/register", data=data)
        times.append((time.perf_counter() - start) * 1000)
        assert answer.status_code == 303, (answer.status_code, answer.get_data(as_text=True)[:300])
    figures["registration POST (median)"] = statistics.median(times)
    figures["registration POST (p95)"] = p95(times)

    figures.update(import_file(app, folder, People("88"), first + posts, import_rows))  # other national IDs
    figures.update(searches(app, people, first, posts))

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        figures["raw: GROUP BY category over the actor table"] = median_ms(
            lambda: conn.execute(sa.text("SELECT category, count(*) FROM actor GROUP BY category")).all(), repeat=3)
    engine.dispose()
    return figures


BREAKDOWN: dict[str, Any] = {}  # with --breakdown: import_bench's timed parts of the import (instrumented once)


def import_file(app, folder: Path, people: People, first: int, rows: int) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    from registry.extensions import db

    path = folder / f"import-{first}.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(HEADER)
        for i in range(first, first + rows):
            r = people.row(i)
            out.writerow([r["category"], r["full_name"], r["gender"], r["date_of_birth"].isoformat(), r["national_id"] or "",
                          r["phone"], r["province"], r["district"], r["commune"], r["sector"], r["business_name"] or "",
                          r["workers"] or "", "2026-11-30"])
    with app.app_context():
        if BREAKDOWN.get("wanted") and "parts" not in BREAKDOWN:
            BREAKDOWN["parts"] = _instrument(db)
        if "parts" in BREAKDOWN:
            BREAKDOWN["parts"]["seconds"].clear()
        batch, done, elapsed = timed_import(db, path)
        assert batch.imported == rows, (batch.imported, batch.rows, batch.duplicates, batch.rejected)
    path.unlink(missing_ok=True)  # the import deletes its upload when done (retention)
    if "parts" in BREAKDOWN:
        BREAKDOWN.setdefault("runs", []).append(dict(BREAKDOWN["parts"]["seconds"]))
    return {f"import {rows:,} rows: until done (s)": done, "import: the after-import duplicate search (s)": elapsed - done}


def searches(app, people: People, first: int, count: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    from registry.actors.models import Actor
    from registry.extensions import db
    from registry.records.search import Query, search

    with app.app_context():
        numbers = db.session.execute(sa.select(Actor.registration_number).where(Actor.phone.like("+85596%"))
                                     .limit(count)).scalars().all()
        rng = random.Random(3)
        names = [people.name(rng).split(" ")[1][:4] for _ in range(25)]

        def find(texts: list[str]) -> Callable[[], object]:
            cycle = iter(texts * 100)
            return lambda: (search(db.session, Query(text=next(cycle)), viewer_province=None), db.session.rollback())

        return {
            "search: registration number": median_ms(find(numbers)),
            "search: phone": median_ms(find([people.form(first + i)["phone"] for i in range(count)])),
            "search: part of a name": median_ms(find(names)),
        }


# --------------------------------------------------------------------------- the run
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("n", type=int)
    parser.add_argument("--reuse", action="store_true", help="keep the N database between runs")
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--import-rows", type=int, default=100_000)
    parser.add_argument("--skip-empty", action="store_true")
    parser.add_argument("--breakdown", action="store_true", help="time the import's parts (bench/import_bench.py)")
    parser.add_argument("--stats-only", action="store_true", help="measure the statistics and the dashboard only")
    parser.add_argument("--database", default="scale_bench",
                        help="names the databases: <database>_<N> and <database>_empty (dropped and created)")
    parser.add_argument("--server", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    BREAKDOWN["wanted"] = args.breakdown
    admin_url = f"{args.server}/postgres"
    if not args.database.isidentifier():
        parser.error(f"--database: not a plain name: {args.database!r}")
    big_name = f"{args.database}_{args.n}"
    big_url = f"{args.server}/{big_name}"

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        results: dict[str, dict[str, Any]] = {}
        if not args.skip_empty:
            with fresh_postgres_database(admin_url, f"{args.database}_empty") as url:
                app = make_app(url, tmp)
                migrate(app)
                results["empty"] = measure(app, url, args.posts, args.import_rows, folder, args.stats_only)
                with app.app_context():
                    from registry.extensions import db
                    db.engine.dispose()

        have = stored(big_url)
        if not args.reuse or have < args.n:
            admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{big_name}" WITH (FORCE)'))
                conn.execute(sa.text(f'CREATE DATABASE "{big_name}"'))
            admin.dispose()
            app = make_app(big_url, tmp)
            migrate(app)
            steps = build(app, args.n)
            print(f"built {args.n:,} registrations in {sum(steps.values()):.0f} s: "
                  + ", ".join(f"{step} {took:.0f} s" for step, took in steps.items())
                  + f" (COPY {args.n / steps['COPY']:,.0f} rows/s)")
        else:
            app = make_app(big_url, tmp)
            print(f"reusing {big_name}: {have:,} registrations")
        with app.app_context():
            from registry.extensions import db
            size = db.session.execute(sa.text("SELECT pg_size_pretty(pg_database_size(current_database())),"
                                              " (SELECT count(*) FROM actor_tally)")).one()
        print(f"database size {size[0]}, tally rows {size[1]:,}")
        results["n"] = measure(app, big_url, args.posts, args.import_rows, folder, args.stats_only)
        with app.app_context():
            db.engine.dispose()
        if not args.reuse:
            admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{big_name}" WITH (FORCE)'))
            admin.dispose()

    report(results, args.n)
    runs = BREAKDOWN.get("runs", [])
    if runs:
        print("\nthe import's parts (s; nested parts are included in the ones that call them):")
        for label in sorted(set().union(*runs), key=lambda k: -runs[-1].get(k, 0)):
            print(f"  {label:40} " + "  ".join(f"{run.get(label, 0):8.2f}" for run in runs))
    print(f"peak memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; load {os.getloadavg()[0]:.1f}")


def report(results: dict[str, dict[str, Any]], n: int) -> None:
    big, empty = results["n"], results.get("empty", {})
    stored_n = f"{big['stored']:,}"
    print(f"\n{'':52} {'empty':>10} {stored_n:>12} {'ratio':>7}  target")
    for label, value in big.items():
        if label == "stored":
            continue
        before = empty.get(label)
        unit = "s" if "(s)" in label else "ms"
        target = ""
        if label.startswith("stats:"):
            target = f"< {STATS_TARGET_MS:.0f} ms {'✓' if value < STATS_TARGET_MS else '✗'}"
        elif label.startswith("dashboard"):
            target = f"< {DASHBOARD_TARGET_MS:.0f} ms {'✓' if value < DASHBOARD_TARGET_MS else '✗'}"
        elif before and (label.startswith("registration") or label.startswith("import")):
            target = f"≤ {SAME_AS_EMPTY:.2f}× empty {'✓' if value <= SAME_AS_EMPTY * before else '✗'}"
        ratio = f"{value / before:.2f}" if before else ""
        shown_before = f"{before:.1f} {unit}" if before is not None else "—"
        print(f"{label:52} {shown_before:>10} {f'{value:.1f} {unit}':>12} {ratio:>7}  {target}")
    raw = big.get("raw: GROUP BY category over the actor table")
    if raw:
        print(f"the country's whole answer in {big['stats: country, today'] / raw:.3f} of one raw count ({n:,} registrations)")


if __name__ == "__main__":
    main()
