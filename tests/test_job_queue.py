"""Imports on the job queue (RQ): real Redis (database 10), real `flask worker` processes,
and a worker killed (SIGKILL) half-way whose import another worker finishes by itself."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

import pytest
import redis
import sqlalchemy as sa
from flask import Flask
from rq import Queue
from rq.job import Job
from rq.registry import FailedJobRegistry, FinishedJobRegistry, StartedJobRegistry

from tests.helpers import make_app, make_user, sign_in, upload_file
from tests.import_files import expected_outcomes, good, mixed_rows, write_csv

REDIS_URL = "redis://127.0.0.1:6379/10"  # this test file's own Redis database (test_serving has 11, test_deploy 12)


@pytest.fixture
def redis_url() -> Iterator[str]:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.flushdb()
    except redis.ConnectionError:
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    yield REDIS_URL
    client.flushdb()
    client.close()


@pytest.fixture
def queued_app(database_url: str, redis_url: str) -> Flask:
    return make_app(database_url, REDIS_URL=redis_url)


def worker_env(app: Flask, **extra: str) -> dict[str, str]:
    return {**os.environ, "REGISTRY_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "REGISTRY_REDIS_URL": REDIS_URL,
            "REGISTRY_IMPORT_UPLOAD_FOLDER": app.config["IMPORT_UPLOAD_FOLDER"], **extra}


def worker_command(name: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "flask", "--app", "registry", "worker", "--name", name, *args]


def run_burst_worker(app: Flask, name: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(worker_command(name, "--burst"), env=worker_env(app), capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def batch_row(url: str, engine: sa.Engine | None = None) -> dict[str, Any]:
    own = engine is None
    engine = engine or sa.create_engine(url)
    with engine.connect() as conn:
        batch = conn.execute(sa.text(
            "SELECT id, status, rows, imported, duplicates, rejected, last_row, worker, job_id, stored_path "
            "FROM import_batch ORDER BY id DESC")).mappings().first()
        actors = conn.execute(sa.text("SELECT count(*), count(DISTINCT source_row) FROM actor")).one()
        problems = conn.execute(sa.text("SELECT count(*) FROM import_problem")).scalar_one()
    if own:
        engine.dispose()
    return {**dict(batch or {}), "actors": actors[0], "distinct_rows": actors[1], "problems": problems}


def finished_jobs() -> list[str]:
    connection = redis.Redis.from_url(REDIS_URL)
    names = [Job.fetch(job_id, connection=connection).func_name
             for job_id in FinishedJobRegistry("imports", connection=connection).get_job_ids()]
    connection.close()
    return sorted(names)


def test_an_enqueued_file_is_imported_by_a_worker_with_exact_counts(queued_app: Flask, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "mixed.csv", [row for row, _, _ in mixed_rows()])
    result = queued_app.test_cli_runner().invoke(args=["import-actors", str(source), "--enqueue", "--json"])
    assert result.exit_code == 0, result.output
    queued = json.loads(result.output.strip().splitlines()[-1])
    waiting = batch_row(queued_app.config["SQLALCHEMY_DATABASE_URI"])
    assert waiting["id"] == queued["batch"] and waiting["status"] == "queued" and waiting["job_id"] == queued["job"]
    assert waiting["actors"] == 0  # the command returned at once; nothing ran in it
    copy = Path(waiting["stored_path"])
    assert copy.parent == Path(queued_app.config["IMPORT_UPLOAD_FOLDER"]) and copy.is_file()  # where every worker reads

    done = run_burst_worker(queued_app, "worker-a")
    assert "import batch" in done.stderr + done.stdout and "Person" not in done.stderr + done.stdout  # ids, no names
    batch = batch_row(queued_app.config["SQLALCHEMY_DATABASE_URI"])
    outcomes = list(expected_outcomes().values())
    assert (batch["status"], batch["worker"]) == ("done", "worker-a")
    assert (batch["imported"], batch["duplicates"], batch["rejected"]) == (
        outcomes.count("imported"), outcomes.count("duplicate"), outcomes.count("rejected"))
    assert batch["actors"] == batch["imported"] and batch["problems"] == batch["duplicates"] + batch["rejected"]
    assert not copy.exists() and source.is_file()  # the queue's copy goes with the batch; the operator's file stays
    # The search for duplicates ran after the import, as a job of its own.
    assert finished_jobs() == ["registry.imports.jobs.find_duplicates", "registry.imports.jobs.import_batch"]


def test_an_upload_waits_on_the_queue_and_its_page_names_the_worker(queued_app: Flask, tmp_path: Path) -> None:
    make_user(queued_app, "outreach@example.org", "outreach")
    client = queued_app.test_client()
    assert sign_in(client, "outreach@example.org").status_code == 303
    response = upload_file(client, write_csv(tmp_path / "ten.csv", [good(n) for n in range(10)]))
    assert response.status_code == 303
    page_url = response.headers["Location"]
    client.get(page_url + "?lang=en")  # the session's language from here on
    assert not queued_app.extensions.get("registry.import_threads")  # no thread in the web process
    waiting = client.get(page_url).get_data(as_text=True)
    assert "Waiting to start" in waiting and 'id="worker" hidden' in waiting
    assert client.get(page_url + "/progress").get_json()["status"] == "queued"
    with redis.Redis.from_url(REDIS_URL) as connection:
        assert Queue("imports", connection=connection).count == 1

    run_burst_worker(queued_app, "host-b.42")
    page = client.get(page_url).get_data(as_text=True)
    assert "Finished" in page and 'id="worker-name">host-b.42<' in page
    progress = client.get(page_url + "/progress").get_json()
    assert (progress["status"], progress["worker"], progress["imported"]) == ("done", "host-b.42", 10)


def test_a_batch_whose_job_was_lost_is_queued_again_by_a_worker(database_url: str, queued_app: Flask, tmp_path: Path) -> None:
    """Redis down when staff upload (the upload still succeeds), or restarted without its data:
    the batch waits, and the next worker's maintenance puts it on the queue again."""
    from tests.test_serving import free_port

    down = make_app(database_url, REDIS_URL=f"redis://127.0.0.1:{free_port()}/11",
                    IMPORT_UPLOAD_FOLDER=queued_app.config["IMPORT_UPLOAD_FOLDER"])
    make_user(down, "outreach@example.org", "outreach")
    client = down.test_client()
    assert sign_in(client, "outreach@example.org").status_code == 303
    response = upload_file(client, write_csv(tmp_path / "five.csv", [good(n) for n in range(5)]))
    assert response.status_code == 303
    waiting = batch_row(database_url)
    assert waiting["status"] == "queued" and waiting["job_id"]
    with redis.Redis.from_url(REDIS_URL) as connection:
        assert Queue("imports", connection=connection).count == 0  # that Redis never heard of it

    run_burst_worker(queued_app, "sweeper")
    done = batch_row(database_url)
    assert (done["status"], done["worker"], done["imported"], done["actors"]) == ("done", "sweeper", 5, 5)
    assert done["job_id"] != waiting["job_id"]


def test_a_stalled_batch_on_the_queue_is_left_to_the_workers_until_its_retries_are_spent(
        database_url: str, queued_app: Flask, tmp_path: Path) -> None:
    make_user(queued_app, "outreach@example.org", "outreach")
    client = queued_app.test_client()
    assert sign_in(client, "outreach@example.org").status_code == 303
    page_url = upload_file(client, write_csv(tmp_path / "two.csv", [good(1), good(2)])).headers["Location"]
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:  # as a worker killed mid-import leaves it
        conn.execute(sa.text("UPDATE import_batch SET status = 'running', heartbeat_at = :old, worker = 'lost.1'"),
                     {"old": datetime(2020, 1, 1)})
    page = client.get(page_url + "?lang=en").get_data(as_text=True)
    assert "another worker will resume it by itself" in page and "Resume the import" not in page
    assert client.get(page_url + "/progress").get_json()["taken_over"] is True
    with redis.Redis.from_url(REDIS_URL) as connection:  # its retries spent: RQ failed the job for good
        connection.flushdb()
    page = client.get(page_url).get_data(as_text=True)
    assert "Resume the import" in page and "by itself" not in page
    engine.dispose()


def test_the_queue_is_asked_for_only_when_configured(app: Flask, queued_app: Flask, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "one.csv", [good(1)])
    without = app.test_cli_runner()
    refused = without.invoke(args=["import-actors", str(path), "--enqueue"])
    assert refused.exit_code == 2 and "REGISTRY_REDIS_URL" in refused.output
    assert without.invoke(args=["worker", "--burst"]).exit_code == 1
    both = queued_app.test_cli_runner().invoke(args=["import-actors", str(path), "--enqueue", "--errors", str(tmp_path / "e.csv")])
    assert both.exit_code == 2 and "--errors" in both.output
    bad_name = queued_app.test_cli_runner().invoke(args=["worker", "--burst", "--name", "a:b"])
    assert bad_name.exit_code == 2 and "--name" in bad_name.output
    unmounted = make_app(queued_app.config["SQLALCHEMY_DATABASE_URI"], REDIS_URL=REDIS_URL,
                         IMPORT_UPLOAD_FOLDER=str(tmp_path / "not-mounted"))
    refused_worker = unmounted.test_cli_runner().invoke(args=["worker", "--burst"])
    assert refused_worker.exit_code == 1 and "not-mounted" in refused_worker.output
    with redis.Redis.from_url(REDIS_URL) as connection:
        assert Queue("imports", connection=connection).count == 0


# -- a worker killed mid-import ---------------------------------------------------------------

ROWS = 6000
CHUNK = 50
FAST = {  # seconds instead of minutes: heartbeats, maintenance rounds, a batch's stale heartbeat
    "REGISTRY_JOB_HEARTBEAT_SECONDS": "1", "REGISTRY_JOB_MAINTENANCE_SECONDS": "1",
    "REGISTRY_IMPORT_STALE_SECONDS": "3", "REGISTRY_IMPORT_CHUNK_ROWS": str(CHUNK),
    "REGISTRY_IMPORT_PARALLEL_MIN_ROWS": "1000",  # read by a reader process, which dies with its host too
}


def session_processes(leader: int) -> list[tuple[int, int]]:
    """(pid, parent pid) of every live process in `leader`'s session: a worker, its work
    horse (own process group) and the horse's reader process."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[3]) == leader:  # state, ppid, pgrp, session
            found.append((int(entry.name), int(fields[1])))
    return found


def orphans(leader: int) -> list[int]:
    """Processes of the session whose parent is gone (adopted by init)."""
    processes = session_processes(leader)
    alive = {pid for pid, _parent in processes}
    return [pid for pid, parent in processes if pid != leader and parent not in alive]


def kill(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.mark.slow
@pytest.mark.parametrize("killed", ["host", "horse"])
def test_a_killed_workers_import_is_finished_by_another_worker_with_exact_counts(
        queued_app: Flask, tmp_path: Path, killed: str) -> None:
    """`host`: the worker, its horse and the reader all SIGKILLed (a lost machine): RQ's
    abandoned-job cleanup in the other worker retries the job. `horse`: the work horse alone
    (the OOM killer): its worker retries the job at once. No button is pressed either way."""
    url = queued_app.config["SQLALCHEMY_DATABASE_URI"]
    rows = [good(n) for n in range(ROWS)]
    rows[10] = good(10, gender="?")  # one rejected row
    rows[4500] = good(3)  # one duplicate, of a row in an earlier chunk
    result = queued_app.test_cli_runner().invoke(args=["import-actors", str(write_csv(tmp_path / "big.csv", rows)), "--enqueue"])
    assert result.exit_code == 0, result.output
    logs = {name: (tmp_path / f"{name}.log").open("w") for name in ("worker-1", "worker-2")}
    workers = {name: subprocess.Popen(worker_command(name), env=worker_env(queued_app, **FAST), start_new_session=True,
                                      stdout=log, stderr=subprocess.STDOUT)
               for name, log in logs.items()}
    engine = sa.create_engine(url)
    try:
        deadline = time.monotonic() + 120
        state = batch_row(url, engine)
        while time.monotonic() < deadline and (
                state["status"] == "queued" or (state["status"] == "running" and state["rows"] < 5 * CHUNK)):
            time.sleep(0.01)
            state = batch_row(url, engine)
        assert state["status"] == "running", (state, *(Path(log.name).read_text()[-3000:] for log in logs.values()))
        first = workers[state["worker"]]
        processes = session_processes(first.pid)
        kill([pid for pid, parent in processes if killed == "host" or parent == first.pid])
        if killed == "host":
            first.wait(timeout=30)

        state = batch_row(url, engine)
        assert state["status"] == "running" and 0 < state["rows"] < ROWS, "the kill must land mid-import"
        assert state["rows"] % CHUNK == 0 and state["last_row"] == state["rows"] + 1  # whole chunks only
        assert state["actors"] == state["imported"] and state["problems"] == state["duplicates"] + state["rejected"]

        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and state["status"] != "done":
            time.sleep(0.2)
            state = batch_row(url, engine)
        if state["status"] != "done":  # what the workers and RQ saw, for the report
            for log in logs.values():
                print(Path(log.name).read_text())
            with redis.Redis.from_url(REDIS_URL) as connection:
                for job_id in FailedJobRegistry("imports", connection=connection).get_job_ids():
                    print(job_id, Job.fetch(job_id, connection=connection).latest_result())
                print("queued", Queue("imports", connection=connection).job_ids,
                      "started", StartedJobRegistry("imports", connection=connection).get_job_ids())
        assert state["status"] == "done", state
        assert (state["rows"], state["imported"], state["duplicates"], state["rejected"]) == (ROWS, ROWS - 2, 1, 1)
        assert state["actors"] == state["distinct_rows"] == ROWS - 2 and state["problems"] == 2  # no row twice
        if killed == "host":
            other = next(name for name in workers if name != first.args[-1])
            assert state["worker"] == other
        else:  # the killed horse's reader process does not outlive it (runner._Numbered)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and orphans(first.pid):
                time.sleep(0.2)
            assert orphans(first.pid) == []
        assert not Path(state["stored_path"]).exists()
    finally:
        for process in workers.values():
            kill([pid for pid, _parent in session_processes(process.pid)])
            process.wait(timeout=30)
        for log in logs.values():
            log.close()
        engine.dispose()
