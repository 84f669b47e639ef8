"""Staff search and the record page at scale, against a primary-key read in the same run.

    .venv/bin/python bench/search_bench.py N [DATABASE_URL] [M]    (default 100000, SQLite, 50 timed)

Stores N registrations (bulk insert, as an import does: Khmer and Latin names made of
syllables, distinct phones and national IDs), then times M runs of each search through
registry.records.search (a results page of 50 with its capped count, as /staff/actors shows
it): by number, national ID, phone, part of a Khmer and of a Latin name, a name part found
nowhere (the worst case: every name looked at), and the record page through the test
client, signed in (history, audit event and commit included). Prints the median and
95th-percentile ms and the ratio to a primary-key SELECT of one actor. PostgreSQL: pass its
URL (the schema is dropped and migrated first); the targets are the issue's (1,000,000 rows:
number/ID/phone < 20 ms, name < 100 ms, record page < 50 ms).
"""
from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SECRET_KEY", "bench-only")
os.environ.setdefault("REGISTRY_DISCLOSURE_KEY", "bench-only")

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from bench.databases import empty_postgres_schema  # noqa: E402
from registry import create_app  # noqa: E402
from registry.actors.models import Actor  # noqa: E402
from registry.actors.normalise import identity_name  # noqa: E402
from registry.actors.romanise import roman_key  # noqa: E402
from registry.actors.services import insert_actors  # noqa: E402
from registry.actors.validation import Registration  # noqa: E402
from registry.extensions import db  # noqa: E402
from registry.records.search import Query, search  # noqa: E402

NOW = datetime(2025, 6, 30, 12, tzinfo=timezone.utc)
LATIN = ("sok", "dara", "chan", "srey", "vann", "pich", "rath", "nary", "bopha", "vuthy", "sophea", "kosal", "malis",
         "sina", "thida", "rithy", "chea", "heng", "keo", "lim", "meas", "noun", "oum", "prak", "roeun", "seng")
KHMER = ("សុខ", "ដារា", "ចាន់", "ស្រី", "វណ្ណ", "ពេជ្រ", "រ័ត្ន", "ណារី", "បុប្ផា", "វុទ្ធី", "សុភា", "កុសល", "ម្លិះ",
         "ស៊ីណា", "ធីតា", "ឫទ្ធី", "ជា", "ហេង", "កែវ", "លឹម", "មាស", "នួន", "អ៊ុំ", "ប្រាក់", "រឿន", "សេង")
COMMUNES = ("120101", "120201", "170201", "080101", "010201")


def person(i: int, rng: random.Random) -> Registration:
    syllables = KHMER if i % 2 else LATIN
    parts = [rng.choice(syllables) for _ in range(3)]
    name = f"{parts[0]} {parts[1]}{parts[2]}" if i % 2 else f"{parts[0].title()} {parts[1].title()}{parts[2]}"
    commune = COMMUNES[i % len(COMMUNES)]
    category = ("employee", "self_employed")[i % 2]
    return Registration(
        category=category, full_name=name, name_key=identity_name(name), roman_key=roman_key(name), gender=("female", "male")[i % 2],
        date_of_birth=date(1950 + i % 50, 1 + i % 12, 1 + i % 28), national_id=f"{100000000 + i}" if i % 3 else None,
        phone=f"+855{(12, 15, 17, 11)[i % 4]}{i % 1_000_000:06d}" + ("" if i < 1_000_000 else "9"),
        province_code=commune[:2], district_code=commune[:4], commune_code=commune, sector="trade",
        business_name=None, workers=None, registered_on=date(2020, 1, 1) + timedelta(days=i % 2000))


def timed(count: int, step: Callable[[int], object]) -> list[float]:
    times = []
    for i in range(count):
        start = time.perf_counter()
        step(i)
        times.append((time.perf_counter() - start) * 1000)
    return times


def seed(n: int) -> None:
    rng = random.Random(11)
    chunk = 20_000
    for first in range(0, n, chunk):
        regs = [person(i, rng) for i in range(first, min(first + chunk, n))]
        insert_actors(db.session, regs, channel="outreach", now=NOW, consented_at=NOW)
        db.session.commit()


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    url = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] != "sqlite" else None
    m = int(sys.argv[3]) if len(sys.argv) > 3 else 50
    with tempfile.TemporaryDirectory() as tmp:
        if url:
            empty_postgres_schema(url)
        kept = os.environ.get("SEARCH_BENCH_SQLITE")  # a file to keep for a look at the plans afterwards
        if kept and not url:
            Path(kept).unlink(missing_ok=True)
        database = url or f"sqlite:///{kept or Path(tmp) / 'bench.sqlite3'}"
        app = create_app({"SQLALCHEMY_DATABASE_URI": database, "RATELIMIT_ENABLED": False, "TESTING": True,
                          "IMPORT_UPLOAD_FOLDER": tmp})
        with app.app_context():
            upgrade()
            start = time.perf_counter()
            seed(n)
            if url:
                db.session.execute(sa.text("ANALYZE actor"))
            else:
                db.session.execute(sa.text("ANALYZE"))
            db.session.commit()
            print(f"{n:,} registrations stored in {time.perf_counter() - start:.0f} s ({db.engine.dialect.name})")
            rng = random.Random(5)
            sample = list(db.session.execute(sa.select(Actor.id, Actor.registration_number, Actor.national_id, Actor.phone)
                                             .where(Actor.id.in_([rng.randrange(1, n + 1) for _ in range(4 * m)]))))
            with_id = [row for row in sample if row.national_id]
            khmer = [f"{rng.choice(KHMER)}{rng.choice(KHMER)}" for _ in range(m)]
            latin = [f"{rng.choice(LATIN)}{rng.choice(LATIN)}" for _ in range(m)]

            def find(text: str) -> int:
                page = search(db.session, Query(text=text), viewer_province=None)
                db.session.rollback()
                return page.count

            def pk(i: int) -> None:
                db.session.execute(sa.text("SELECT * FROM actor WHERE id = :id"), {"id": sample[i % len(sample)].id}).one()
                db.session.rollback()

            results = {
                "primary-key SELECT (raw limit)": timed(m, pk),
                "search by number (dashes)": timed(m, lambda i: find(f"{sample[i].registration_number[:4]}-{sample[i].registration_number[4:8]}-{sample[i].registration_number[8:]}")),
                "search by national ID": timed(m, lambda i: find(with_id[i % len(with_id)].national_id)),
                "search by phone (+855 …)": timed(m, lambda i: find(f"+855 {sample[i].phone[4:6]} {sample[i].phone[6:9]} {sample[i].phone[9:]}")),
                "search by part of a Khmer name": timed(m, lambda i: find(khmer[i])),
                "search by part of a Latin name": timed(m, lambda i: find(latin[i])),
                "search by a name found nowhere": timed(m, lambda i: find(f"zzq{i}")),
            }
            counts = [find(khmer[0]), find(latin[0])]
        from tests.helpers import make_user, sign_in  # a signed-in member of staff, as the tests make one

        make_user(app, "bench@example.org", "ministry")
        client = app.test_client()
        assert sign_in(client, "bench@example.org").status_code == 303

        def record_page(i: int) -> None:
            answer = client.get(f"/staff/actors/{sample[i].registration_number}")
            assert answer.status_code == 200

        results["record page (test client, signed in)"] = timed(m, record_page)
        raw = statistics.median(results["primary-key SELECT (raw limit)"])
        print(f"{m} runs each; name searches matched e.g. {counts[0]} and {counts[1]} (count capped at 1000)")
        for label, times in results.items():
            median = statistics.median(times)
            p95 = sorted(times)[int(len(times) * 0.95) - 1]
            print(f"{label:42} median {median:8.2f} ms   p95 {p95:8.2f} ms   {median / raw:8.0f}× raw")
        with app.app_context():
            db.engine.dispose()


if __name__ == "__main__":
    main()
