"""`flask find-duplicates` at scale, against a raw read of the same rows in the same run.

    .venv/bin/python bench/duplicates_bench.py N [DATABASE_URL]     (default 1000000, SQLite)

1. Stores N synthetic registrations (bulk insert, as an import does): family + given names,
   60 % in Khmer script and 40 % in Latin letters, three categories, ~50 years of birth dates,
   phones of 8 or 9 digits after +855 (a few shared, as family phones are), national IDs on 40 %; after ~2 % of them a planted near-duplicate of the
   row before: the name in the other script, the same category and date of birth, and either
   the phone with one digit replaced, two neighbouring digits swapped, or the same national ID
   in another category.
2. In a child process: the raw limit, a plain SELECT of the columns the scan reads, every
   active row fetched (the least any scan must do).
3. In another child process: the scan of `flask find-duplicates` (registry.duplicates.scan).
Prints rows/s, seconds and peak memory of both, pairs found, the recall of the planted pairs
and the ratio to the raw read. PostgreSQL: pass its URL (the schema is dropped and migrated).
"""
from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SECRET_KEY", "bench-only")
os.environ.setdefault("REGISTRY_DISCLOSURE_KEY", "bench-only")

NOW = datetime(2026, 11, 30, 12, tzinfo=timezone.utc)
FAMILIES = [("សុខ", "Sok"), ("ចាន់", "Chan"), ("ហេង", "Heng"), ("គីម", "Kim"), ("លីម", "Lim"), ("លី", "Ly"),
            ("មាស", "Meas"), ("កែវ", "Keo"), ("ឆាយ", "Chhay"), ("ប្រាក់", "Prak"), ("សេង", "Seng"), ("ទូច", "Touch"),
            ("ហ៊ុន", "Hun"), ("អ៊ុក", "Ouk"), ("ទេព", "Tep"), ("ញឹម", "Nhem"), ("ជា", "Chea"), ("ម៉ៅ", "Mao"),
            ("ឡុង", "Long"), ("យឹម", "Yim"), ("អ៊ុំ", "Oum"), ("គង់", "Kong"), ("សែន", "Sen"), ("ឈុន", "Chhun")]
GIVEN = [("សុភា", "Sophea"), ("ដារ៉ា", "Dara"), ("វណ្ណ", "Vann"), ("រិទ្ធ", "Rith"), ("ស្រី", "Srey"), ("ពេជ្រ", "Pich"),
         ("បុប្ផា", "Bopha"), ("វុទ្ធី", "Vuthy"), ("ចិន្តា", "Chenda"), ("សុខា", "Sokha"), ("ចន្ថា", "Chantha"),
         ("ពិសិដ្ឋ", "Piseth"), ("រដ្ឋា", "Rotha"), ("កុសល", "Kosal"), ("នារី", "Nary"), ("មុន្នី", "Mony"),
         ("រតនា", "Ratana"), ("សីហា", "Seyha"), ("ធីតា", "Thida"), ("វាសនា", "Veasna"), ("សុភាព", "Sopheap"),
         ("សុវណ្ណ", "Sovann"), ("សម្បត្តិ", "Sambath"), ("ចាន់នី", "Channy"), ("លក្ខិណា", "Leakhena"), ("វណ្ណា", "Vanna"),
         ("សំណាង", "Samnang"), ("វិបុល", "Vibol"), ("ផល្លា", "Phalla"), ("ម៉ាលី", "Maly"), ("បូរ៉ា", "Bora"),
         ("ឧត្តម", "Oudom"), ("សុជាតិ", "Socheat"), ("ណារិទ្ធ", "Narith"), ("សុផល", "Sophal"), ("វិជ្ជា", "Vichea")]
CATEGORIES = ("employee", "self_employed", "micro_enterprise")
COMMUNES = ("120101", "120201", "170201", "080101", "010201")
CHUNK = 20_000


def people(n: int):  # type: ignore[no-untyped-def]
    """(registration, planted pair as row numbers or None), N of them."""
    from registry.actors.normalise import identity_name
    from registry.actors.romanise import roman_key
    from registry.actors.validation import Registration

    rng = random.Random(42)

    def registration(i: int, name: str, category: str, born: date, phone: str, national_id: str | None) -> Registration:
        commune = COMMUNES[i % len(COMMUNES)]
        micro = category == "micro_enterprise"
        return Registration(category=category, full_name=name, name_key=identity_name(name), roman_key=roman_key(name), gender=("female", "male")[i % 2],
                            date_of_birth=born, national_id=national_id, phone=phone, province_code=commune[:2],
                            district_code=commune[:4], commune_code=commune, sector="trade",
                            business_name="Shop" if micro else None, workers=2 if micro else None,
                            registered_on=date(2020, 1, 1) + timedelta(days=i % 2000))

    i = 0
    while i < n:
        family, given = rng.choice(FAMILIES), rng.choice(GIVEN)
        khmer = rng.random() < 0.6
        category = rng.choice(CATEGORIES)
        born = date(1955, 1, 1) + timedelta(days=rng.randrange(18000))
        digits = f"{(i * 7919) % 1_000_000:06d}"  # 8 or 9 digits after +855, as Cambodian numbers are
        phone = f"+855{rng.choice(('12', '15', '17', '89', '97'))}{digits}" + ("" if rng.random() < 0.5 else str(rng.randrange(10)))
        national_id = f"{100_000_000 + i}" if rng.random() < 0.4 else None
        plant = i + 1 < n and rng.random() < 0.02
        kind = rng.randrange(3)
        if plant and kind == 2 and national_id is None:
            national_id = f"{100_000_000 + i}"
        name = f"{family[0]} {given[0]}" if khmer else f"{family[1]} {given[1]}"
        yield registration(i, name, category, born, phone, national_id), None
        i += 1
        if not plant:
            continue
        other = f"{family[1]} {given[1]}" if khmer else f"{family[0]} {given[0]}"
        twin = list(phone[4:])
        twin_id, twin_category = None, category
        if kind == 0:  # one digit replaced (never the operator's first digit)
            k = rng.randrange(2, len(twin))
            twin[k] = rng.choice([d for d in "0123456789" if d != twin[k]])
        elif kind == 1:  # two neighbouring digits swapped
            k = rng.randrange(2, len(twin) - 1)
            if twin[k] == twin[k + 1]:
                twin[k + 1] = str((int(twin[k + 1]) + 1) % 10)
            twin[k], twin[k + 1] = twin[k + 1], twin[k]
        else:  # the same national ID in another category, another phone
            twin_id, twin_category = national_id, CATEGORIES[(CATEGORIES.index(category) + 1) % 3]
            twin[-1] = str((int(twin[-1]) + 5) % 10)
        yield registration(i, other, twin_category, born, "+855" + "".join(twin), twin_id), (i - 1, i)
        i += 1


def seed(n: int) -> list[tuple[int, int]]:
    """Store N registrations; the planted pairs as actor ids (ids are 1..N in a fresh database)."""
    from registry.actors.services import insert_actors
    from registry.extensions import db

    planted: list[tuple[int, int]] = []
    batch = []
    for reg, pair in people(n):
        batch.append(reg)
        if pair:
            planted.append((pair[0] + 1, pair[1] + 1))
        if len(batch) == CHUNK:
            insert_actors(db.session, batch, channel="outreach", now=NOW, consented_at=NOW)
            db.session.commit()
            batch = []
    if batch:
        insert_actors(db.session, batch, channel="outreach", now=NOW, consented_at=NOW)
        db.session.commit()
    return planted


def app_for(url: str):  # type: ignore[no-untyped-def]
    from registry import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False, "TESTING": True})


def child(kind: str, url: str) -> dict:  # type: ignore[type-arg]
    import sqlalchemy as sa

    from registry.extensions import db

    app = app_for(url)
    with app.app_context():
        start = time.perf_counter()
        if kind == "raw":
            rows = 0
            result = db.session.execute(sa.text(
                "SELECT id, category, date_of_birth, phone, national_id, name_key, full_name, province_code FROM actor"
                " WHERE status = 'active'").execution_options(yield_per=20_000))
            for _row in result:
                rows += 1
            figures = {"rows": rows}
        else:
            from registry import clock
            from registry.duplicates.scan import scan

            report = scan(db.session, now=clock.now())
            db.session.commit()
            figures = {"rows": report.read, "candidates": report.candidates, "found": report.found, "new": report.new,
                       "cut_blocks": report.cut_blocks}
        figures["seconds"] = time.perf_counter() - start
        db.engine.dispose()
    return figures


def run_child(kind: str, url: str) -> dict:  # type: ignore[type-arg]
    result = subprocess.run([sys.executable, __file__, "--child", kind, url], check=True, capture_output=True, text=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        figures = child(sys.argv[2], sys.argv[3])
        figures["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(figures))
        return
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from bench.databases import empty_postgres_schema
    from registry.extensions import db

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    given = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] != "sqlite" else None
    with tempfile.TemporaryDirectory() as tmp:
        if given:
            empty_postgres_schema(given)
        url = given or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        app = app_for(url)
        with app.app_context():
            upgrade()
            start = time.perf_counter()
            planted = seed(n)
            db.session.execute(sa.text("ANALYZE actor" if given else "ANALYZE"))
            db.session.commit()
            stored = db.session.execute(sa.text("SELECT count(*), min(id), max(id) FROM actor")).one()
            assert tuple(stored) == (n, 1, n), stored
            print(f"{n:,} registrations stored in {time.perf_counter() - start:.0f} s ({db.engine.dialect.name}),"
                  f" {len(planted):,} planted near-duplicates")
            db.engine.dispose()
        raw = run_child("raw", url)
        ours = run_child("scan", url)
        with app.app_context():
            found = {tuple(r) for r in db.session.execute(sa.text("SELECT first_actor_id, second_actor_id FROM duplicate_pair"))}
            reasons = dict(db.session.execute(sa.text("SELECT reasons, count(*) FROM duplicate_pair GROUP BY reasons")).all())
            db.engine.dispose()
    recall = sum(pair in found for pair in planted)
    print(f"raw limit (SELECT of the scanned columns, every active row fetched): {raw['rows'] / raw['seconds']:,.0f} rows/s,"
          f" {raw['seconds']:.1f} s, peak {raw['peak_mb']:.0f} MB")
    print(f"find-duplicates scan: {ours['rows'] / ours['seconds']:,.0f} rows/s, {ours['seconds']:.1f} s, peak {ours['peak_mb']:.0f} MB;"
          f" {ours['candidates']:,} candidate pairs, {ours['found']:,} pairs queued, {ours['cut_blocks']} blocks cut")
    print(f"planted pairs found: {recall:,}/{len(planted):,} ({recall / max(1, len(planted)):.1%})")
    print("pairs by reasons: " + ", ".join(f"{k} {v:,}" for k, v in sorted(reasons.items(), key=lambda kv: -kv[1])))
    print(f"ratio to raw read: {ours['seconds'] / raw['seconds']:.1f}x the time")


if __name__ == "__main__":
    main()
