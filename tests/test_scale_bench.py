"""bench/scale_bench.py, the registry at national scale: a small run of the real thing (COPY,
the tally rebuilt, every request measured on it and on an empty registry) ends without an
error and reports every figure beside its target. PostgreSQL only (what it measures)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
SCALE = ROOT / "bench" / "scale_bench.py"


@pytest.mark.slow
def test_a_small_scale_run_reports_every_figure_beside_its_target() -> None:
    url = os.environ.get("REGISTRY_TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        pytest.skip("the scale benchmark measures PostgreSQL: set REGISTRY_TEST_DATABASE_URL")
    server = url.split("?")[0].rsplit("/", 1)[0]  # the server: the benchmark makes its own databases there
    name = f"{sa.make_url(url).database}_scale"  # beside this test database: runs on other databases go on
    result = subprocess.run([sys.executable, str(SCALE), "3000", "--posts", "5", "--import-rows", "300",
                             "--breakdown", "--server", server, "--database", name],
                            capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert re.search(r"built 3,000 registrations in \d+ s: COPY", out), out
    for label in ("stats: country, today", "dashboard page", "registration POST (median)",
                  "import 300 rows: until done (s)", "search: phone", "raw: GROUP BY category"):
        line = next((line for line in out.splitlines() if line.startswith(label)), None)
        assert line is not None and re.search(r"\d+\.\d (ms|s)\s+\d+\.\d (ms|s)", line), (label, out)
    assert "< 10 ms" in out and "≤ 1.20× empty" in out
    assert "duplicate look-ups" in out  # the import's parts
    engine = sa.create_engine(sa.make_url(url).set(database="postgres"))
    with engine.connect() as connection:  # nothing left behind without --reuse
        left = connection.scalars(sa.text("SELECT datname FROM pg_database WHERE datname LIKE :name"),
                                  {"name": f"{name}%"}).all()
    engine.dispose()
    assert f"{name}_3000" not in left and f"{name}_empty" not in left
