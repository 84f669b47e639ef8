"""How long a /metrics scrape takes when the tally is full: every day of YEARS years holds
registrations in every category and gender (the country's rows are as many as they will ever
be, whatever the number of people), plus BATCHES import batches.

    python bench/metrics_bench.py [YEARS] [BATCHES] [DATABASE_URL]

An empty SQLite file by default; a PostgreSQL URL must name an empty database (it is migrated).
Prints the tally's rows, the rows a scrape reads, and the scrape time (median of 20).
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from registry import clock, create_app, vocab  # noqa: E402
from registry.extensions import db  # noqa: E402
from registry.stats.tally import adjust, fine_key  # noqa: E402


def main() -> None:
    years = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    batches = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    url = sys.argv[3] if len(sys.argv) > 3 else f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "RATELIMIT_ENABLED": False, "LOG_LEVEL": "WARNING"})
    with app.app_context():
        upgrade()
        today = clock.today()
        first = today - timedelta(days=365 * years)
        changes: Counter = Counter()
        day = first
        while day <= today:
            for category in vocab.CATEGORIES:
                for gender in vocab.GENDERS:
                    changes[("arrived", fine_key(day, "120101", category, gender, "trade", "self", day - timedelta(days=30 * 365)))] += 3
            day += timedelta(days=1)
        adjust(db.session, changes)
        now = clock.now()
        db.session.execute(sa.text(
            "INSERT INTO import_batch (created_at, filename, sha256, size_bytes, file_format, stored_path, header,"
            " unknown_columns, status, total_rows, last_row, rows, imported, duplicates, rejected, started_at,"
            " heartbeat_at, finished_at, seconds_running) VALUES (:at, 'f.csv', :sha, 1, 'csv', '/x', '[]', '[]',"
            " 'done', 1000, 1001, 1000, 990, 5, 5, :at, :at, :at, 2.5)"),
            [{"at": now - timedelta(minutes=i), "sha": f"{i:064d}"} for i in range(batches)])
        db.session.commit()
        tally_rows = db.session.scalar(sa.text("SELECT count(*) FROM actor_tally"))
    client = app.test_client()
    assert client.get("/metrics").status_code == 200
    times = []
    for _ in range(20):
        started = time.perf_counter()
        response = client.get("/metrics")
        times.append(time.perf_counter() - started)
        assert response.status_code == 200
    dialect = sa.make_url(url).get_backend_name()
    print(f"{dialect}: {years} years of days x {len(vocab.CATEGORIES)} categories x {len(vocab.GENDERS)} genders, "
          f"{tally_rows:,} tally rows, {batches:,} import batches")
    print(f"scrape: median {statistics.median(times) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms (20 scrapes)")


if __name__ == "__main__":
    main()
