"""Bulk import speed against the raw limits measured in the same run.

    .venv/bin/python bench/import_bench.py N [--messy] [--skip-pg] [--skip-xlsx] [--breakdown]

1. Writes N valid, distinct registrations to a CSV (streamed); `--messy` writes them as
   field staff do: Khmer names and Khmer place names, dates as DD/MM/YYYY, YYYY-MM-DD and
   Excel's D/M/YYYY, phones as +855…, 0…, with spaces or dashes, every commune, registration
   dates over six months. Unless --skip-xlsx, the same rows as an XLSX (openpyxl write_only;
   with --messy a third of the dates as real date cells, as Excel stores them).
2. SQLite: imports the CSV, then the XLSX, through the same code path as `flask
   import-actors` (create_batch + run_import) into freshly migrated databases; the raw limit
   is plain csv + sqlite3.executemany of the same rows into a table with the same unique
   indexes, in one transaction.
3. PostgreSQL (127.0.0.1, unless --skip-pg): the same import into a freshly created database
   `bench_import_pg` migrated by the app; the raw limit is csv + psycopg COPY of the same rows
   into a table with the actor table's unique indexes, in the same database and run.
Every measurement runs in its own child process, one after another; each prints rows/s,
the ratio, and peak memory (max RSS of the child and of the reader process it started).
`--breakdown` also times the writer's parts (µs per row, wall time in this process,
including the waits on the database) and counts its statements per chunk.
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
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parent.parent
HEADER = ["category", "full_name", "gender", "date_of_birth", "national_id", "phone", "province",
          "district", "commune", "sector", "business_name", "workers", "registered_on"]
SECTORS = ["agriculture", "manufacturing", "construction", "trade", "transport", "food_service",
           "repair", "personal_services", "domestic_work", "other"]
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# Khmer syllables (consonant + dependent vowel, some with a final) to spell distinct names.
KHMER_SYLLABLES = ["សុ", "ផល", "ចាន់", "ដា", "រ៉ា", "វី", "សោ", "ភា", "គឹម", "ហេង", "លី", "ណា", "ស្រី", "មុំ",
                   "ពៅ", "ទេព", "បូ", "រ័ត្ន", "នី", "ស៊ីន", "ថា", "កែវ", "យ៉ា", "ម៉ៅ", "ឡុង", "ជា"]
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
PG_DATABASE = "bench_import_pg"
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


def _communes(messy: bool) -> list[tuple[str, str, str]]:
    """Every commune as the file writes it: codes, or (messy) its Khmer names where they
    name one place inside the parent (the English name, else the code, where they do not)."""
    sys.path.insert(0, str(ROOT))
    from registry import areas

    found = []
    for p in areas.provinces():
        for d in areas.districts(p.code):
            for c in areas.communes(d.code):
                if not messy:
                    found.append((c.province_code, c.district_code, c.code))
                    continue
                found.append((_name(areas.find_province, (), p), _name(areas.find_district, (p.code,), d),
                              _name(areas.find_commune, (d.code,), c)))
    return found


def _name(finder: Any, parent: tuple[str, ...], place: Any) -> str:
    for text in (place.name_kh, place.name_en):
        try:
            if text and finder(*parent, text).code == place.code:
                return str(text)
        except LookupError:
            pass
    return str(place.code)


def generate(n: int, messy: bool) -> Iterator[list[Any]]:
    """N distinct people across every commune; a third with national IDs. Messy rows carry
    some dates as `date` (a spreadsheet's date cell; the CSV writes D/M/YYYY as Excel does)."""
    communes = _communes(messy)
    rng = random.Random(2024)
    first_day = date(2024, 7, 1)
    for i in range(n):
        category = ("employee", "micro_enterprise", "self_employed")[i % 3]
        birth = date(rng.randint(1950, 2005), rng.randint(1, 12), rng.randint(1, 28))
        prefix, local = (11, 12, 15, 17)[i // 1_000_000 % 4], f"{i // 1000 % 1000:03d}{i % 1000:03d}"
        if not messy:
            province, district, commune = communes[i % len(communes)]
            name = f"{LETTERS[i % 26]}{LETTERS[i // 26 % 26].lower()}{LETTERS[i // 676 % 26].lower()} {LETTERS[i // 17576 % 26]}ok"
            yield [category, name, "female" if i % 2 else "male", birth.isoformat(), f"{100000000 + i}" if i % 3 == 0 else "",
                   f"0{prefix} {local[:3]} {local[3:]}", province, district, commune, SECTORS[i % 10],
                   "Shop" if category == "micro_enterprise" else "", "2" if category == "micro_enterprise" else "",
                   f"2024-12-{16 + i % 16:02d}"]
            continue
        province, district, commune = communes[(i * 7919) % len(communes)]
        s = KHMER_SYLLABLES
        name = f"{s[i % 26]}{s[i // 26 % 26]} {s[i // 676 % 26]}{s[i // 17576 % 26]}{s[i // 456976 % 26]}"
        registered = first_day + timedelta(days=rng.randrange(184))
        phone = (f"+855 {prefix} {local[:3]} {local[3:]}", f"0{prefix}-{local[:3]}-{local[3:]}", f"0{prefix}{local}",
                 f"(0{prefix}) {local}")[i % 4]
        yield [("Employee", "micro_enterprise", "self-employed")[i % 3], name, ("female", "male", "F", "M")[i % 4],
               _messy_date(birth, i), f"{100000000 + i}" if i % 3 == 0 else "", phone, province, district, commune,
               SECTORS[i % 10], "ហាងលក់ទំនិញ" if category == "micro_enterprise" else "",
               str(1 + i % 9) if category == "micro_enterprise" else "", _messy_date(registered, i // 3)]


def _messy_date(day: date, i: int) -> Any:
    return (f"{day.day:02d}/{day.month:02d}/{day.year}", day.isoformat(), day)[i % 3]


def _csv_cell(value: Any) -> Any:
    return f"{value.day}/{value.month}/{value.year}" if isinstance(value, date) else value


def write_csv(path: Path, n: int, messy: bool) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(HEADER)
        out.writerows([_csv_cell(v) for v in row] for row in generate(n, messy))


def write_xlsx(path: Path, n: int, messy: bool) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("registrations")
    sheet.append(HEADER)
    for row in generate(n, messy):
        sheet.append(row)
    book.save(path)


# ------------------------------------------------------------------ children (one measurement each)
def child_import(path: str, url: str, breakdown: bool) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("SECRET_KEY", "bench-only")
    from flask_migrate import upgrade

    from registry import create_app
    from registry.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        parts = _instrument(db) if breakdown else None
        batch, done, elapsed = timed_import(db, Path(path))
        assert batch.imported == batch.rows, (batch.imported, batch.rows, batch.rejected, batch.duplicates)
        figures: dict[str, Any] = {"rows": batch.rows, "seconds": elapsed, "done_seconds": done}
        if parts is not None:
            figures["parts"] = parts
        db.engine.dispose()
    return figures


def timed_import(db: Any, path: Path) -> tuple[Any, float, float]:
    """Import `path` as `flask import-actors` does (create_batch + run_import, inside an app
    context): the batch, the seconds until it was done (what staff wait for: the moment the
    after-import duplicate search starts) and the seconds of the whole run."""
    from registry import clock
    from registry.imports import runner
    from registry.imports.services import create_batch

    done_at: list[float] = []
    search = runner.queue_duplicates

    def timed_search(*args: Any, **kwargs: Any) -> None:
        done_at.append(time.perf_counter())
        search(*args, **kwargs)

    runner.queue_duplicates = timed_search
    try:
        start = time.perf_counter()
        batch = create_batch(db.session, path, path.name, uploaded_by_id=None, province_code=None, now=clock.now())
        db.session.commit()
        batch = runner.run_import(db.session, batch.id)
        ended = time.perf_counter()
    finally:
        runner.queue_duplicates = search
    return batch, (done_at[0] if done_at else ended) - start, ended - start


def _instrument(db: Any) -> dict[str, Any]:
    """Wall time of the writer's parts, and its statements, by wrapping the functions
    store_chunk calls (the benchmark's own process only; nothing else changes)."""
    from sqlalchemy import event

    from registry import database
    from registry.actors import name_index, services as actor_services
    from registry.imports import runner, services as import_services
    from registry.stats import tally

    parts: dict[str, Any] = {"seconds": {}, "statements": 0, "chunks": 0}
    seconds = parts["seconds"]

    def timed(module: Any, name: str, label: str) -> None:
        original = getattr(module, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            mark = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                seconds[label] = seconds.get(label, 0.0) + time.perf_counter() - mark

        setattr(module, name, wrapper)

    timed(import_services, "lock_identities", "advisory locks")
    timed(import_services, "find_existing", "duplicate look-ups")
    timed(actor_services, "allocate_ids", "ids (sequence)")
    timed(actor_services, "_copy_actors", "actor COPY / insert")
    timed(name_index, "index_new", "name index (SQLite)")
    timed(tally, "increments", "tally keys (Python)")
    timed(tally, "adjust", "tally (keys + upserts)")
    timed(import_services, "insert_actors", "insert_actors (all)")
    timed(import_services, "store_chunk", "store_chunk (all)")
    timed(runner, "find_after_import", "after-import duplicate search")
    timed(import_services, "inspect_upload", "create_batch's check")
    timed(runner, "check_rows", "validation in writer")
    timed(runner, "_commit_chunk", "chunk incl. commit")
    timed(database.PlannerStatistics, "added_rows", "ANALYZE between chunks")

    @event.listens_for(db.engine, "before_cursor_execute")
    def count(*_args: Any) -> None:
        parts["statements"] += 1

    original_store = import_services.store_chunk

    def counting(*args: Any, **kwargs: Any) -> Any:
        parts["chunks"] += 1
        return original_store(*args, **kwargs)

    runner.store_chunk = counting  # type: ignore[assignment]
    return parts


RAW_COLUMNS = ("registration_number, category, full_name, name_key, gender, date_of_birth, national_id, phone,"
               " province_code, district_code, commune_code, sector, business_name, workers, channel, registered_on")


def _raw_records(csv_path: str) -> Iterator[tuple[Any, ...]]:
    with open(csv_path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        next(reader)
        for i, r in enumerate(reader):
            yield (f"{i:010d}", r[0], r[1], r[1].lower(), r[2], r[3], r[4] or None, r[5], r[6], r[7], r[8], r[9],
                   r[10] or None, r[11] or None, "outreach", r[12])


def child_raw(csv_path: str, db_path: str) -> dict[str, Any]:
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
    con.executemany(f"INSERT INTO actor ({RAW_COLUMNS}) VALUES ({', '.join(['?'] * 16)})", _raw_records(csv_path))
    con.commit()
    rows = con.execute("SELECT count(*) FROM actor").fetchone()[0]
    return {"rows": rows, "seconds": time.perf_counter() - start}


def child_raw_pg(csv_path: str, dbname: str) -> dict[str, Any]:
    """COPY into a table with the actor table's primary key and unique indexes (the two
    identity indexes: partial, as in registry.actors.models), one transaction."""
    import psycopg

    with psycopg.connect(f"host=127.0.0.1 port=5432 user=postgres dbname={dbname}") as con:
        con.execute("""CREATE TABLE raw_actor (id bigserial PRIMARY KEY, registration_number text NOT NULL UNIQUE,
            category text, full_name text, name_key text, gender text, date_of_birth text, national_id text,
            phone text, province_code text, district_code text, commune_code text, sector text, business_name text,
            workers text, channel text, registered_on text, status text NOT NULL DEFAULT 'active')""")
        con.execute("CREATE UNIQUE INDEX raw_uq_nid ON raw_actor (category, national_id)"
                    " WHERE national_id IS NOT NULL AND status = 'active'")
        con.execute("CREATE UNIQUE INDEX raw_uq_contact ON raw_actor (category, phone, date_of_birth, name_key)"
                    " WHERE national_id IS NULL AND status = 'active'")
        con.commit()
        start = time.perf_counter()
        with con.cursor() as cursor, cursor.copy(f"COPY raw_actor ({RAW_COLUMNS}) FROM STDIN") as copy:
            for record in _raw_records(csv_path):
                copy.write_row(record)
        con.commit()
        elapsed = time.perf_counter() - start
        rows = con.execute("SELECT count(*) FROM raw_actor").fetchone()[0]  # type: ignore[index]
        con.execute("DROP TABLE raw_actor")
        con.commit()
    return {"rows": rows, "seconds": elapsed}


def run_child(*args: str) -> dict[str, Any]:
    result = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True)
    if result.returncode:
        sys.exit(f"{args[0]} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _recreate_pg_database() -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as con:
        con.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
        con.execute(f"CREATE DATABASE {PG_DATABASE}")


def _drop_pg_database() -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as con:
        con.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")


def child(kind: str, path: str, target: str, flags: str) -> None:
    if kind == "import":
        figures = child_import(path, target, "breakdown" in flags)
    elif kind == "raw":
        figures = child_raw(path, target)
    else:
        figures = child_raw_pg(path, target)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    figures["cpu_seconds"] = usage.ru_utime + usage.ru_stime
    figures["peak_mb"] = usage.ru_maxrss / 1024
    figures["worker_peak_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps(figures))


def _rate(figures: dict[str, Any]) -> float:
    return float(figures["rows"]) / float(figures["seconds"])


def _peak(figures: dict[str, Any]) -> str:
    return f"peak {figures['peak_mb']:.0f} MB + reader {figures['worker_peak_mb']:.0f} MB"


def _print_parts(label: str, figures: dict[str, Any]) -> None:
    parts = figures.get("parts")
    if not parts:
        return
    rows = figures["rows"]
    chunks = max(parts["chunks"], 1)
    seconds = dict(parts["seconds"])
    top = ("create_batch's check", "chunk incl. commit", "ANALYZE between chunks", "validation in writer", "after-import duplicate search")
    seconds["rest: waiting for the reader, batch bookkeeping"] = figures["seconds"] - sum(seconds.get(name, 0.0) for name in top)
    listed = ", ".join(f"{name} {value / rows * 1e6:.1f}" for name, value in sorted(seconds.items(), key=lambda item: -item[1]))
    print(f"  {label} writer, µs/row (wall): total {figures['seconds'] / rows * 1e6:.1f}; {listed}")
    cpu = figures["cpu_seconds"] / rows * 1e6  # this process's CPU, set-up and migration included
    print(f"  {label} writer process: CPU {cpu:.1f} µs/row (Python and the driver); the rest of the wall time it waited"
          " (on the database server, or on the reader)")
    print(f"  {label} statements: {parts['statements']} in {parts['chunks']} chunks ({parts['statements'] / chunks:.1f} per chunk)")


def _done(figures: dict[str, Any], raw_rate: float) -> str:
    """The import until its batch is done (what staff wait for), and the after-import search
    for possible duplicates that follows it (its own transaction; the rows are stored)."""
    done = float(figures["done_seconds"])
    rate = float(figures["rows"]) / done
    return (f"{rate:,.0f} rows/s, {done:.1f} s, ratio to raw {rate / raw_rate:.3f};"
            f" then the search for possible duplicates {float(figures['seconds']) - done:.1f} s")


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        child(*sys.argv[2:6])
        return
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    flags = {a for a in sys.argv[1:] if a.startswith("--")}
    unknown = flags - {"--messy", "--skip-pg", "--skip-xlsx", "--breakdown"}
    if unknown:
        sys.exit(f"unknown options {sorted(unknown)}; usage: import_bench.py N [--messy] [--skip-pg] [--skip-xlsx] [--breakdown]")
    n = int(args[0]) if args else 100_000
    messy = "--messy" in flags
    child_flags = "breakdown" if "--breakdown" in flags else "-"
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "rows.csv"
        write_csv(csv_path, n, messy)
        print(f"rows: {n:,}{' messy' if messy else ''} ({csv_path.stat().st_size / 1e6:.0f} MB CSV)", flush=True)
        raw = run_child("raw", str(csv_path), str(Path(tmp) / "raw.sqlite3"), "-")
        ours = run_child("import", str(csv_path), f"sqlite:///{Path(tmp) / 'registry.sqlite3'}", child_flags)
        raw_rate, csv_rate = _rate(raw), _rate(ours)
        print(f"SQLite raw limit (csv + executemany, same unique indexes): {raw_rate:,.0f} rows/s, {raw['seconds']:.1f} s, peak {raw['peak_mb']:.0f} MB")
        print(f"SQLite import CSV: {csv_rate:,.0f} rows/s, {ours['seconds']:.1f} s, ratio to raw {csv_rate / raw_rate:.2f}, {_peak(ours)}", flush=True)
        print(f"  of which until the batch is done: {_done(ours, raw_rate)}", flush=True)
        _print_parts("SQLite CSV", ours)
        if "--skip-xlsx" not in flags:
            xlsx_path = Path(tmp) / "rows.xlsx"
            write_xlsx(xlsx_path, n, messy)
            book = run_child("import", str(xlsx_path), f"sqlite:///{Path(tmp) / 'registry-xlsx.sqlite3'}", "-")
            print(f"SQLite import XLSX ({xlsx_path.stat().st_size / 1e6:.0f} MB): {_rate(book):,.0f} rows/s, {book['seconds']:.1f} s,"
                  f" ratio to CSV {_rate(book) / csv_rate:.2f}, ratio to raw {_rate(book) / raw_rate:.2f}, {_peak(book)}", flush=True)
            xlsx_path.unlink()
        if "--skip-pg" not in flags:
            _recreate_pg_database()
            try:
                raw_pg = run_child("raw_pg", str(csv_path), PG_DATABASE, "-")
                pg = run_child("import", str(csv_path), f"{PG_SERVER}/{PG_DATABASE}", child_flags)
            finally:
                _drop_pg_database()
            print(f"PostgreSQL raw limit (csv + COPY, same unique indexes): {_rate(raw_pg):,.0f} rows/s, {raw_pg['seconds']:.1f} s, peak {raw_pg['peak_mb']:.0f} MB")
            print(f"PostgreSQL import CSV: {_rate(pg):,.0f} rows/s, {pg['seconds']:.1f} s, ratio to COPY {_rate(pg) / _rate(raw_pg):.3f},"
                  f" to SQLite import {_rate(pg) / csv_rate:.2f}, {_peak(pg)}")
            print(f"  of which until the batch is done: {_done(pg, _rate(raw_pg))}")
            _print_parts("PostgreSQL", pg)


if __name__ == "__main__":
    main()
