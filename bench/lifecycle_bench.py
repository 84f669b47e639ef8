"""Cost of a correction against the cost of a registration, on SQLite with a full registry.

    .venv/bin/python bench/lifecycle_bench.py [N] [M] [URL]      (default 100000 stored, 300 timed, SQLite)

URL: a PostgreSQL database to use instead (`postgresql+psycopg://…`; its schema is dropped
and migrated first).

Stores N registrations (bulk insert, as an import does), then times M registrations through
`register_actor` and M operations of each kind through registry.actors.lifecycle (a phone
correction, a category correction, a change of commune from a date, a deactivation as
`left`), each in its own transaction with its commit, as the form and the command do.
Prints the median and 95th-percentile ms of each and the ratio to a registration, and
checks that the maintained tally equals a rebuild at the end.
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SECRET_KEY", "bench-only")

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from bench.databases import empty_postgres_schema  # noqa: E402
from registry import create_app  # noqa: E402
from registry.actors import lifecycle  # noqa: E402
from registry.actors.models import Actor  # noqa: E402
from registry.actors.services import insert_actors, register_actor  # noqa: E402
from registry.actors.validation import validate_registration  # noqa: E402
from registry.extensions import db  # noqa: E402
from registry.stats.tally import rebuild  # noqa: E402

NOW = datetime(2025, 6, 30, 12, tzinfo=timezone.utc)
COMMUNES = ("120101", "120201", "080101", "010201")


def raw(i: int, **overrides: str) -> dict[str, str]:
    commune = COMMUNES[i % len(COMMUNES)]
    row = {"category": ("employee", "self_employed")[i % 2], "full_name": f"Person {chr(65 + i % 26)}{chr(65 + i // 26 % 26)}",
           "gender": ("female", "male")[i % 2], "date_of_birth": f"{1950 + i % 50}-0{1 + i % 9}-1{i % 10}",
           "national_id": f"{100000000 + i}", "phone": f"0{(11, 12, 15, 17)[i % 4]} {i % 1000:03d} {i // 1000 % 1000:03d}",
           "province": commune[:2], "district": commune[:4], "commune": commune, "sector": "trade",
           "registered_on": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}"}
    row.update(overrides)
    return row


def timed(count: int, step: Callable[[int], None]) -> list[float]:
    times = []
    for i in range(count):
        start = time.perf_counter()
        step(i)
        db.session.commit()
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    m = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    url = sys.argv[3] if len(sys.argv) > 3 else None
    with tempfile.TemporaryDirectory() as tmp:
        if url:
            empty_postgres_schema(url)
        app = create_app({"SQLALCHEMY_DATABASE_URI": url or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"})
        with app.app_context():
            upgrade()
            regs = [validate_registration(raw(i), today=NOW.date())[0] for i in range(n + m)]
            assert all(regs)
            for first in range(0, n, 10_000):
                insert_actors(db.session, regs[first:min(first + 10_000, n)], channel="outreach", now=NOW, consented_at=NOW)  # type: ignore[arg-type]
                db.session.commit()
            if url:
                db.session.execute(sa.text("ANALYZE"))
                db.session.commit()
            ids = list(db.session.scalars(sa.select(Actor.id).order_by(Actor.id).limit(4 * m)))

            def actor(i: int) -> Actor:
                return db.session.get(Actor, ids[i])  # type: ignore[return-value]

            results = {
                "registration": timed(m, lambda i: register_actor(db.session, regs[n + i], channel="self",  # type: ignore[arg-type]
                                                                   consented_at=NOW, now=NOW)),
                "correction (phone)": timed(m, lambda i: lifecycle.correct(
                    db.session, actor(i), {"phone": f"097 {i % 1000:03d} {i // 1000:03d}"}, "typo", None, now=NOW)),
                "correction (category)": timed(m, lambda i: lifecycle.correct(
                    db.session, actor(m + i), {"category": ("self_employed", "employee")[(m + i) % 2]}, "misread", None, now=NOW)),
                "change of commune from a date": timed(m, lambda i: lifecycle.correct(
                    db.session, actor(2 * m + i), {"commune": "170101"}, "moved", None, effective=date(2025, 3, 1), now=NOW)),
                "deactivation (left)": timed(m, lambda i: lifecycle.deactivate(
                    db.session, actor(3 * m + i), "left", date(2025, 4, 1), None, now=NOW)),
            }
            maintained = sorted(map(tuple, db.session.execute(sa.text("SELECT key, n FROM actor_tally WHERE n <> 0"))))
            rebuild(db.session)
            rebuilt = sorted(map(tuple, db.session.execute(sa.text("SELECT key, n FROM actor_tally WHERE n <> 0"))))
            db.session.rollback()
    base = statistics.median(results["registration"])
    print(f"{'PostgreSQL' if url else 'SQLite'}, {n:,} registrations stored, {m} timed operations of each kind (each its own transaction)")
    for name, times in results.items():
        p95 = sorted(times)[int(len(times) * 0.95) - 1]
        print(f"{name:32s} median {statistics.median(times):6.2f} ms  p95 {p95:6.2f} ms  x{statistics.median(times) / base:.2f}")
    print(f"tally == rebuild: {maintained == rebuilt}")


if __name__ == "__main__":
    main()
