"""Self-registration throughput on SQLite: validation core, and one-transaction-per-person
storage (as the web form does it) against the raw limit measured in the same run.

    .venv/bin/python bench/register_bench.py [N]      (default 2000)

The raw limit is plain sqlite3: one INSERT and one COMMIT per person into a table with the
same unique indexes, WAL and synchronous=NORMAL. Prints rows/s, ms per registration, ratio,
peak memory.
"""
from __future__ import annotations

import os
import random
import resource
import sqlite3
import sys
import tempfile
import time
from datetime import date, datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SECRET_KEY", "bench-only")

from flask_migrate import upgrade  # noqa: E402

from registry import create_app  # noqa: E402
from registry.actors.services import register_actor  # noqa: E402
from registry.actors.validation import validate_registration  # noqa: E402
from registry.extensions import db  # noqa: E402

TODAY = date(2026, 11, 25)
NOW = datetime(2026, 11, 25, tzinfo=timezone.utc)


def raw_rows(n: int) -> list[dict[str, str]]:
    rng = random.Random(7)
    categories = ["employee", "self_employed", "micro_enterprise"]
    rows = []
    for i in range(n):
        category = categories[i % 3]
        rows.append({
            "category": category, "full_name": f"Person {chr(65 + i % 26)}{chr(65 + i // 26 % 26)} Test",
            "gender": "female" if i % 2 else "male", "date_of_birth": f"{rng.randint(1950, 2005)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
            "national_id": f"{100000000 + i}", "phone": f"0{rng.choice([11, 12, 15, 17])} {i % 1000:03d} {i // 1000 % 1000:03d}",
            "province": "12", "district": "1201", "commune": "120101", "sector": "trade",
            "business_name": "Shop" if category == "micro_enterprise" else "", "workers": "2" if category == "micro_enterprise" else "",
        })
    return rows


def raw_limit(rows: list, path: Path) -> float:  # type: ignore[type-arg]
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute("CREATE TABLE actor (id INTEGER PRIMARY KEY, registration_number TEXT UNIQUE, category TEXT, full_name TEXT, name_key TEXT, gender TEXT, date_of_birth TEXT, national_id TEXT, phone TEXT, province_code TEXT, district_code TEXT, commune_code TEXT, sector TEXT, business_name TEXT, workers INT, channel TEXT, registered_on TEXT, created_at TEXT, consented_at TEXT)")
    con.execute("CREATE UNIQUE INDEX a ON actor (category, national_id) WHERE national_id IS NOT NULL")
    con.execute("CREATE UNIQUE INDEX b ON actor (category, phone, date_of_birth, name_key) WHERE national_id IS NULL")
    start = time.perf_counter()
    for i, r in enumerate(rows):
        con.execute("BEGIN IMMEDIATE")
        con.execute("INSERT INTO actor VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (i + 1, f"{i:010d}", r["category"], r["full_name"], r["full_name"].lower(), r["gender"], r["date_of_birth"], r["national_id"], r["phone"], "12", "1201", "120101", r["sector"], None, None, "self", "2026-11-25", "x", "x"))
        con.execute("COMMIT")
    elapsed = time.perf_counter() - start
    con.close()
    return len(rows) / elapsed


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    rows = raw_rows(n)
    with tempfile.TemporaryDirectory() as tmp:
        validate_registration(rows[0], today=TODAY)  # loads the gazetteer and catalogs once
        start = time.perf_counter()
        valid = [validate_registration(r, today=TODAY)[0] for r in rows]
        validate_rate = n / (time.perf_counter() - start)
        assert all(valid)

        url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        app = create_app({"SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            upgrade()
            start = time.perf_counter()
            for reg in valid:
                register_actor(db.session, reg, channel="self", consented_at=NOW, now=NOW)
                db.session.commit()
            store_rate = n / (time.perf_counter() - start)
        limit = raw_limit(rows, Path(tmp) / "raw.sqlite3")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"registrations: {n}")
    print(f"validation core: {validate_rate:,.0f} rows/s ({1000 / validate_rate:.3f} ms/row)")
    print(f"register (dup check + insert + commit each): {store_rate:,.0f} rows/s ({1000 / store_rate:.2f} ms each)")
    print(f"raw limit (sqlite3 insert + commit each): {limit:,.0f} rows/s")
    print(f"ratio to raw limit: {store_rate / limit:.2f}")
    print(f"peak memory: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
