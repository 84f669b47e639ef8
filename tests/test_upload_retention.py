"""Uploaded files are kept only while their import needs them, and privately (0600 / 0700)."""
from __future__ import annotations

import io
import multiprocessing
import os
import signal
import stat
import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from registry import clock
from registry.extensions import db
from registry.imports.models import FILE_GONE, STOPPED, ImportBatch
from tests.helpers import OPEN_APPS, count_actors, csrf_token, make_app, make_user, sign_in, upload_file
from tests.hostile_files import sheet_xml, workbook
from tests.import_files import HEADER, good, mixed_rows, write_csv
from tests.test_import_web import upload, wait_until_done


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "uploads"


@pytest.fixture
def officer(database_url, folder):  # type: ignore[no-untyped-def]
    """An app keeping uploads in `folder`, and a signed-in outreach officer (English pages)."""
    app = make_app(database_url, IMPORT_UPLOAD_FOLDER=str(folder), IMPORT_CHUNK_ROWS=100)
    make_user(app, "o@example.org", "outreach")
    client = app.test_client()
    sign_in(client, "o@example.org")
    client.get("/staff/imports?lang=en")
    return app, client


def test_the_upload_is_deleted_when_its_import_is_done_and_the_report_stays(officer, folder, tmp_path) -> None:  # type: ignore[no-untyped-def]
    app, client = officer
    response = upload(client, write_csv(tmp_path / "mixed.csv", [row for row, _, _ in mixed_rows()]))
    location = response.headers["Location"]
    progress = wait_until_done(client, location)
    assert progress["status"] == "done" and not progress["resumable"]
    assert list(folder.iterdir()) == []
    report = client.get(progress["report_url"]).get_data(as_text=True)
    assert report.count(",rejected,") == progress["rejected"] and report.count(",duplicate,") == progress["duplicates"]
    assert "Resume the import" not in client.get(location).get_data(as_text=True)


def test_a_file_that_fails_for_good_is_deleted_and_cannot_be_resumed(officer, folder, tmp_path) -> None:  # type: ignore[no-untyped-def]
    app, client = officer
    rows = [good(n) for n in range(300)]
    rows[250] = good(250, full_name="n" * 2001)
    response = upload(client, write_csv(tmp_path / "long-cell.csv", rows))
    location = response.headers["Location"]
    progress = wait_until_done(client, location)
    assert progress["status"] == "failed" and not progress["resumable"]
    assert list(folder.iterdir()) == []
    page = client.get(location).get_data(as_text=True)
    assert "Row 252 has a cell longer than 2000 characters" in page and "Resume the import" not in page
    token = csrf_token(client, "/staff/imports")
    assert client.post(location + "/resume", data={"csrf_token": token}).status_code == 303
    assert wait_until_done(client, location)["status"] == "failed"
    assert "Row 252 has a cell longer" in client.get(location).get_data(as_text=True)  # the reason is kept
    result = app.test_cli_runner().invoke(args=["import-actors", "--resume", location.rsplit("/", 1)[1]])
    assert result.exit_code == 1 and "finished" in result.output
    assert count_actors(app) == 200  # the whole chunks before row 252


def test_an_import_that_stops_unexpectedly_keeps_its_file_to_resume_then_deletes_it(officer, folder, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A workbook is read by a worker process; killing it (as a crash or an OOM kill would)
    stops the import unexpectedly: the file stays (0600) and Resume finishes the import."""
    app, client = officer
    path = tmp_path / "big.xlsx"
    path.write_bytes(workbook(sheet_xml([HEADER, *[good(n) for n in range(20_000)]])))
    location = upload_file(client, path).headers["Location"]
    deadline = time.monotonic() + 60
    while client.get(location + "/progress").get_json()["rows"] < 300:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    readers = multiprocessing.active_children()
    assert readers, "the workbook is read by a worker process"
    for reader in readers:
        os.kill(reader.pid, signal.SIGKILL)
    progress = wait_until_done(client, location)
    assert progress["status"] == "failed" and progress["resumable"] and progress["rows"] < 20_000
    [kept] = folder.iterdir()
    assert mode(kept) == 0o600 and mode(folder) == 0o700
    page = client.get(location).get_data(as_text=True)
    assert "stopped unexpectedly" in page and "Resume the import" in page
    assert client.post(location + "/resume", data={"csrf_token": csrf_token(client, location)}).status_code == 303
    while (progress := client.get(location + "/progress").get_json())["status"] != "done":
        assert time.monotonic() < deadline + 60 and progress["status"] in ("failed", "running"), progress
        time.sleep(0.05)
    assert progress["imported"] == 20_000 == count_actors(app)
    assert list(folder.iterdir()) == []


def test_a_file_given_to_the_cli_is_never_deleted(runner, app, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = write_csv(tmp_path / "operator.csv", [good(1), good(2, full_name="n" * 2001)])
    assert runner.invoke(args=["import-actors", str(path)]).exit_code == 1  # failed for good at row 3
    assert runner.invoke(args=["import-actors", str(write_csv(tmp_path / "ok.csv", [good(3)]))]).exit_code == 0
    assert path.exists() and (tmp_path / "ok.csv").exists()


def test_instance_files_are_private(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A fresh instance folder is 0700; the secret keys, the SQLite database (and its WAL,
    shared-memory and write queue files) and uploads in it are 0600; a folder left open is
    closed at start."""
    from flask_migrate import upgrade

    from registry import create_app
    from registry.imports.uploads import save_upload

    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("REGISTRY_DATABASE_URL", raising=False)
    monkeypatch.delenv("REGISTRY_IMPORT_UPLOAD_FOLDER", raising=False)
    os.umask(0o022)  # what a service usually runs with
    instance = tmp_path / "instance"
    app = create_app({"TESTING": True}, instance_path=str(instance))
    OPEN_APPS.append(app)
    with app.app_context():
        upgrade()
        db.session.execute(sa.text("SELECT count(*) FROM actor"))
        stored = save_upload(io.BytesIO(b"category\n"), Path(app.config["IMPORT_UPLOAD_FOLDER"]), "x.csv")
        database = instance / "registry.sqlite3"
        assert {p.name: mode(p) for p in instance.iterdir()} == {
            "secret_key": 0o600, "verification_key": 0o600, "registry.sqlite3": 0o600, "registry.sqlite3-wal": 0o600,
            "registry.sqlite3-shm": 0o600, "registry.sqlite3-queue": 0o600, "imports": 0o700,
        }, [database]
    assert mode(instance) == 0o700 and mode(stored) == 0o600 and stored.parent == instance / "imports"
    instance.chmod(0o755)
    make = create_app({"TESTING": True}, instance_path=str(instance))
    OPEN_APPS.append(make)
    assert mode(instance) == 0o700


def _batch(session, stored: Path, status: str, *, failure=None, age_days: float = 0) -> int:  # type: ignore[no-untyped-def]
    when = clock.now() - timedelta(days=age_days)
    batch = ImportBatch(
        uploaded_by_id=None, province_code=None, created_at=when, filename=stored.name, sha256="0" * 64,
        size_bytes=1, file_format="csv", stored_path=str(stored), header=HEADER, unknown_columns=[],
        status=status, last_row=1, rows=0, imported=0, duplicates=0, rejected=0, seconds_running=0.0,
        heartbeat_at=when if status != "queued" else None, failure=failure,
    )
    session.add(batch)
    session.flush()
    return batch.id


def test_purge_deletes_what_no_import_needs_and_keeps_what_can_be_resumed(database_url, folder, tmp_path) -> None:  # type: ignore[no-untyped-def]
    app = make_app(database_url, IMPORT_UPLOAD_FOLDER=str(folder))
    folder.mkdir()

    def stored(name: str, age_days: float = 0) -> Path:
        path = folder / name
        path.write_text("category\n")
        moment = time.time() - age_days * 86400
        os.utime(path, (moment, moment))
        return path

    operator_file = tmp_path / "operator.csv"
    operator_file.write_text("category\n")
    stopped = {"message": STOPPED, "params": {"row": 1}}
    with app.app_context():
        session = db.session
        ids = {
            "done": _batch(session, stored("done.csv"), "done"),  # left over from before the rule
            "refused": _batch(session, stored("refused.csv"), "failed", failure={"message": "x", "params": {}}),
            "stopped-recently": _batch(session, stored("recent.csv"), "failed", failure=stopped, age_days=2),
            "stopped-long-ago": _batch(session, stored("old.csv"), "failed", failure=stopped, age_days=40),
            "queued-long-ago": _batch(session, stored("queued.csv"), "queued", age_days=40),
            "running": _batch(session, stored("running.csv"), "running"),
            "operator": _batch(session, operator_file, "done"),
        }
        session.commit()
    stored("orphan-old.csv", age_days=2)
    stored("orphan-new.csv")
    result = app.test_cli_runner().invoke(args=["purge-uploads", "--days", "30"])
    assert result.exit_code == 0 and "Deleted 5 uploaded files" in result.output
    assert sorted(p.name for p in folder.iterdir()) == ["orphan-new.csv", "recent.csv", "running.csv"]
    assert operator_file.exists()
    with app.app_context():
        failures = {name: db.session.get(ImportBatch, i).failure for name, i in ids.items()}  # type: ignore[union-attr]
    assert failures["stopped-long-ago"] == failures["queued-long-ago"] == {"message": FILE_GONE, "params": {}}
    assert failures["stopped-recently"] == stopped
    resumed = app.test_cli_runner().invoke(args=["import-actors", "--resume", str(ids["stopped-long-ago"])])
    assert resumed.exit_code == 1 and "finished" in resumed.output
