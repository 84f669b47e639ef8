"""An import killed half-way (SIGKILL, as a crash or an OOM kill) leaves no partial chunk and resumes."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from tests.helpers import make_app
from tests.import_files import good, write_csv

ROWS = 3000
CHUNK = 50


def batch_state(url: str) -> dict:  # type: ignore[type-arg]
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        batch = conn.execute(sa.text("SELECT id, status, rows, imported, duplicates, rejected, last_row FROM import_batch")).mappings().first()
        actors = conn.execute(sa.text("SELECT count(*) FROM actor")).scalar_one()
        problems = conn.execute(sa.text("SELECT count(*) FROM import_problem")).scalar_one()
    engine.dispose()
    return {"batch": dict(batch) if batch else None, "actors": actors, "problems": problems}


def test_killed_import_leaves_whole_chunks_and_resumes_to_the_same_result(database_url: str, tmp_path: Path) -> None:
    rows = [good(n) for n in range(ROWS)]
    rows[10] = good(10, gender="?")  # one rejected row
    rows[2500] = good(3)  # one duplicate, of row 5 (in an earlier chunk)
    path = write_csv(tmp_path / "big.csv", rows)
    env = {**os.environ, "REGISTRY_DATABASE_URL": database_url, "REGISTRY_IMPORT_CHUNK_ROWS": str(CHUNK)}
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "registry", "import-actors", str(path), "--json"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = batch_state(database_url)
        if state["batch"] and state["batch"]["rows"] >= 5 * CHUNK:
            break
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()

    state = batch_state(database_url)
    batch = state["batch"]
    assert batch["status"] == "running" and 0 < batch["rows"] < ROWS, "the kill must land mid-import"
    # Only whole write transactions (registry.imports.runner.Writes): the counts, the last
    # row, the stored people and the problem rows all agree.
    assert batch["last_row"] == batch["rows"] + 1  # header is row 1, no blank rows
    assert state["actors"] == batch["imported"]
    assert state["problems"] == batch["duplicates"] + batch["rejected"]

    # Another process may not take it over while its heartbeat is fresh; once stale, it resumes.
    app = make_app(database_url, IMPORT_STALE_SECONDS=0)
    result = app.test_cli_runner().invoke(args=["import-actors", "--resume", str(batch["id"]), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary == {"rows": ROWS, "imported": ROWS - 2, "duplicates": 1, "rejected": 1, "errors_file": None}
    final = batch_state(database_url)
    assert final["actors"] == ROWS - 2 and final["problems"] == 2
    assert final["batch"]["status"] == "done"


def test_a_running_batch_is_not_taken_over(database_url: str, tmp_path: Path) -> None:
    app = make_app(database_url)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["import-actors", str(write_csv(tmp_path / "a.csv", [good(1)]))]).exit_code == 0
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE import_batch SET status = 'running', heartbeat_at = CURRENT_TIMESTAMP"))
        batch_id = conn.execute(sa.text("SELECT id FROM import_batch")).scalar_one()
    result = runner.invoke(args=["import-actors", "--resume", str(batch_id)])
    assert result.exit_code != 0 and "another process" in result.output
    with engine.begin() as conn:  # once its heartbeat is stale, the same call takes it over
        conn.execute(sa.text("UPDATE import_batch SET heartbeat_at = :old"), {"old": datetime(2020, 1, 1)})
    engine.dispose()
    resumed = runner.invoke(args=["import-actors", "--resume", str(batch_id), "--json"])
    assert resumed.exit_code == 0, resumed.output
