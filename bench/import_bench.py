"""Bulk import speed on SQLite against the raw limit measured in the same run.

    .venv/bin/python bench/import_bench.py N        (e.g. 1000000)

1. Writes N valid, distinct registrations to a CSV (streamed).
2. Imports it through the same code path as `flask import-actors` (create_batch + run_import)
   into a freshly migrated SQLite database, in a child process.
3. Times the raw limit in another child process: plain csv + sqlite3.executemany of the same
   rows into a table with the same unique indexes, in one transaction.
Prints rows/s for both, the ratio, and each child's peak memory (max RSS).
"""
from __future__ import annotations

import csv
import json
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = ["category", "full_name", "gender", "date_of_birth", "national_id", "phone", "province",
          "district", "commune", "sector", "business_name", "workers", "registered_on"]
SECTORS = ["agriculture", "manufacturing", "construction", "trade", "transport", "food_service",
           "repair", "personal_services", "domestic_work", "other"]
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def write_rows(path: Path, n: int) -> None:
    """N distinct people across real communes; a third with national IDs."""
    sys.path.insert(0, str(ROOT))
    from registry import areas

    communes = [(c.province_code, c.district_code, c.code) for p in areas.provinces()
                for d in areas.districts(p.code) for c in areas.communes(d.code)]
    rng = random.Random(2024)
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(HEADER)
        for i in range(n):
            category = ("employee", "micro_enterprise", "self_employed")[i % 3]
            province, district, commune = communes[i % len(communes)]
            name = f"{LETTERS[i % 26]}{LETTERS[i // 26 % 26].lower()}{LETTERS[i // 676 % 26].lower()} {LETTERS[i // 17576 % 26]}ok"
            out.writerow([
                category, name, "female" if i % 2 else "male",
                f"{rng.randint(1950, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                f"{100000000 + i}" if i % 3 == 0 else "",
                f"0{(11, 12, 15, 17)[i // 1_000_000 % 4]} {i // 1000 % 1000:03d} {i % 1000:03d}",
                province, district, commune, SECTORS[i % 10],
                "Shop" if category == "micro_enterprise" else "", "2" if category == "micro_enterprise" else "",
                f"2024-12-{16 + i % 16:02d}",
            ])


def child_import(csv_path: str, db_path: str) -> dict:  # type: ignore[type-arg]
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("SECRET_KEY", "bench-only")
    from flask_migrate import upgrade

    from registry import clock, create_app
    from registry.extensions import db
    from registry.imports.runner import run_import
    from registry.imports.services import create_batch

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}"})
    with app.app_context():
        upgrade()
        start = time.perf_counter()
        batch = create_batch(db.session, Path(csv_path), "bench.csv", uploaded_by_id=None, province_code=None, now=clock.now())
        db.session.commit()
        batch = run_import(db.session, batch.id)
        elapsed = time.perf_counter() - start
        assert batch.imported == batch.rows, (batch.imported, batch.rows, batch.rejected, batch.duplicates)
    return {"rows": batch.rows, "seconds": elapsed}


def child_raw(csv_path: str, db_path: str) -> dict:  # type: ignore[type-arg]
    con = sqlite3.connect(db_path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute("""CREATE TABLE actor (id INTEGER PRIMARY KEY, registration_number TEXT NOT NULL UNIQUE,
        category TEXT, full_name TEXT, name_key TEXT, gender TEXT, date_of_birth TEXT, national_id TEXT,
        phone TEXT, province_code TEXT, district_code TEXT, commune_code TEXT, sector TEXT, business_name TEXT,
        workers INTEGER, channel TEXT, registered_on TEXT)""")
    con.execute("CREATE UNIQUE INDEX uq_nid ON actor (category, national_id) WHERE national_id IS NOT NULL")
    con.execute("CREATE UNIQUE INDEX uq_contact ON actor (category, phone, date_of_birth, name_key) WHERE national_id IS NULL")
    start = time.perf_counter()
    with open(csv_path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        next(reader)
        con.executemany(
            "INSERT INTO actor (registration_number, category, full_name, name_key, gender, date_of_birth, national_id, phone,"
            " province_code, district_code, commune_code, sector, business_name, workers, channel, registered_on)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'outreach', ?)",
            ((f"{i:010d}", r[0], r[1], r[1].lower(), r[2], r[3], r[4] or None, r[5], r[6], r[7], r[8], r[9],
              r[10] or None, r[11] or None, r[12]) for i, r in enumerate(reader)),
        )
    con.commit()
    rows = con.execute("SELECT count(*) FROM actor").fetchone()[0]
    return {"rows": rows, "seconds": time.perf_counter() - start}


def run_child(kind: str, csv_path: Path, db_path: Path) -> dict:  # type: ignore[type-arg]
    result = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(csv_path), str(db_path)],
        check=True, capture_output=True, text=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        kind, csv_path, db_path = sys.argv[2:5]
        figures = (child_import if kind == "import" else child_raw)(csv_path, db_path)
        figures["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        figures["worker_peak_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(json.dumps(figures))
        return
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "rows.csv"
        write_rows(csv_path, n)
        size_mb = csv_path.stat().st_size / 1e6
        raw = run_child("raw", csv_path, Path(tmp) / "raw.sqlite3")
        ours = run_child("import", csv_path, Path(tmp) / "registry.sqlite3")
    raw_rate, our_rate = raw["rows"] / raw["seconds"], ours["rows"] / ours["seconds"]
    print(f"rows: {n:,} ({size_mb:.0f} MB CSV)")
    print(f"raw limit (csv + sqlite3.executemany, same unique indexes, one transaction): "
          f"{raw_rate:,.0f} rows/s, {raw['seconds']:.1f} s, peak {raw['peak_mb']:.0f} MB")
    print(f"import-actors path (validation, duplicate checks, chunks, report rows): "
          f"{our_rate:,.0f} rows/s, {ours['seconds']:.1f} s, peak {ours['peak_mb']:.0f} MB"
          f" (reader/validator process: {ours['worker_peak_mb']:.0f} MB)")
    print(f"ratio to raw limit: {our_rate / raw_rate:.2f}")


if __name__ == "__main__":
    main()
