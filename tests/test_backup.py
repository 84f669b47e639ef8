"""Backups that restore: backup -> restore into an empty database -> every table's row count,
the tally, the statistics and a sample of records are the same; damaged files and databases
that are not empty are refused; a backup taken while people register is consistent.
On SQLite files, or on PostgreSQL (pg_dump/pg_restore) when REGISTRY_TEST_DATABASE_URL is set."""
from __future__ import annotations

import json
import tarfile
import threading
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask import Flask
from flask_migrate import upgrade

from registry import clock, vocab
from registry.actors import lifecycle
from registry.actors.models import Actor
from registry.actors.services import register_actor
from registry.actors.validation import validate_registration
from registry.backup import archive
from registry.backup.postgres import client
from registry.extensions import db
from tests.helpers import OPEN_APPS, POSTGRES_URL, close_app, csrf_token, make_app, make_user, valid_form
from tests.import_files import good, write_csv
from tests.test_stats import known_rows

KHMER_NAME = "សុខ ដារ៉ា"
SAMPLED = {"actor": "id", "actor_change": "id", "event": "id", "actor_segment": "id", "staff_user": "id",
           "import_batch": "id", "actor_tally": "key", "certificate_verification": "actor_id"}


def _server(url: sa.URL, *statements: str) -> None:
    engine = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        for statement in statements:
            connection.execute(sa.text(statement))
    engine.dispose()


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """Makes empty databases: a SQLite file not yet there, or a new PostgreSQL database named
    after the test database (wt_backup_restore, …), dropped after the test."""
    made: list[str] = []

    def make(name: str) -> str:
        if not POSTGRES_URL:
            return f"sqlite:///{tmp_path / f'{name}.sqlite3'}"
        url = sa.make_url(POSTGRES_URL)
        target = f"{url.database}_{name}"
        _server(url, f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)', f'CREATE DATABASE "{target}"')
        made.append(target)
        return url.set(database=target).render_as_string(hide_password=False)

    yield make
    while OPEN_APPS:
        close_app(OPEN_APPS.pop())
    for target in made:
        _server(sa.make_url(POSTGRES_URL), f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')  # type: ignore[arg-type]


def _register(app: Flask, n: int, **values: str) -> None:
    raw = {"category": "self_employed", "full_name": f"Worker {chr(65 + n % 26)}{chr(65 + n // 26 % 26)}{chr(65 + n // 676 % 26)}",
           "gender": "male", "date_of_birth": "1988-03-04", "national_id": "", "phone": f"097 {n // 1000 % 1000:03d} {n % 1000:03d}",
           "province": "12", "district": "1201", "commune": "120101", "sector": "trade", "registered_on": "2025-01-15", **values}
    reg, errors = validate_registration(raw, today=clock.today())
    assert reg is not None, errors
    register_actor(db.session, reg, channel="outreach", consented_at=clock.now(), now=clock.now())
    db.session.commit()


def seed(app: Flask, runner: Any, tmp_path: Path, rows: int = 300) -> None:
    """A few hundred people through the real doors: an import, the web form, corrections,
    changes, a deactivation and an erasure; a staff account; the events all that writes."""
    make_user(app, "admin@example.org", "admin")
    people = known_rows(rows) + [good(9000, full_name=KHMER_NAME, phone="011 900 900")]
    result = runner.invoke(args=["import-actors", str(write_csv(tmp_path / "people.csv", people)), "--json"])
    assert result.exit_code == 0 and json.loads(result.output.splitlines()[-1])["imported"] == rows + 1, result.output
    client = app.test_client()
    token = csrf_token(client, "/register")
    assert client.post("/register", data={**valid_form(), "csrf_token": token}).status_code == 303
    with app.app_context():
        s = db.session
        actors = list(s.scalars(sa.select(Actor).order_by(Actor.id).limit(6)))
        mover = next(a for a in actors[1:] if a.commune_code == "120101")
        rest = [a for a in actors[1:] if a is not mover]
        lifecycle.correct(s, actors[0], {"phone": "012 999 111"}, "Typo in the phone", None, via="cli")
        lifecycle.correct(s, mover, {"commune": "120109"}, "Moved", None, effective=date(2025, 2, 1), via="cli")
        sector = next(code for code in vocab.SECTORS if code != rest[0].sector)
        lifecycle.correct(s, rest[0], {"sector": sector}, "Opened a stall", None, effective=date(2025, 3, 1), via="cli")
        lifecycle.deactivate(s, rest[1], "left", date(2025, 4, 1), None, via="cli")
        lifecycle.deactivate(s, rest[2], "consent_withdrawn", date(2025, 5, 1), None, via="cli")
        lifecycle.deactivate(s, rest[3], "error", date(2025, 1, 5), None, via="cli")
        s.commit()
    erased = runner.invoke(args=["purge"])
    assert erased.exit_code == 0 and erased.output.startswith("Erased 1 registrations"), erased.output


def table_counts(app: Flask) -> dict[str, int]:
    with app.app_context(), db.engine.connect() as connection:
        return {name: connection.execute(sa.text(f'SELECT count(*) FROM "{name}"')).scalar_one()
                for name in sa.inspect(connection).get_table_names()}


def sample(app: Flask) -> dict[str, list[dict[str, Any]]]:
    """Every 7th row of the tables people's records live in (all of the smaller ones), every field."""
    with app.app_context(), db.engine.connect() as connection:
        return {table: [dict(row._mapping) for i, row in enumerate(connection.execute(
                    sa.text(f"SELECT * FROM {table} ORDER BY {key}"))) if i % 7 == 0 or table != "actor"]
                for table, key in SAMPLED.items()}


def stats(app: Flask, as_of: str = "2025-06-30") -> dict[str, Any]:
    result = app.test_cli_runner().invoke(args=["stats", "--json", "--as-of", as_of])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def events_of(app: Flask, kind: str) -> list[dict[str, Any]]:
    with app.app_context():
        rows = db.session.execute(sa.text("SELECT subject, detail FROM event WHERE kind = :k"), {"k": kind}).all()
    return [{"subject": r.subject, "detail": r.detail if isinstance(r.detail, dict) else json.loads(r.detail)} for r in rows]


def test_backup_then_restore_gives_the_same_tables_tally_statistics_and_records(app, runner, tmp_path, empty_database) -> None:  # type: ignore[no-untyped-def]
    seed(app, runner, tmp_path)
    counts, records, figures, today = table_counts(app), sample(app), stats(app), stats(app, clock.today().isoformat())
    assert counts["actor"] == 302 and counts["actor_change"] >= 6 and counts["event"] >= 8

    path = tmp_path / "registry.backup"
    made = runner.invoke(args=["backup", str(path)])
    assert made.exit_code == 0, made.output
    assert path.stat().st_mode & 0o777 == 0o600
    assert f"{counts['actor']} actors" in made.output and "Back them up apart" in made.output
    assert KHMER_NAME not in made.output and "Person" not in made.output
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left
    backed_up = events_of(app, "backup_made")
    assert len(backed_up) == 1 and backed_up[0]["detail"]["file"] == "registry.backup"

    restored = make_app(empty_database("restore"))
    result = restored.test_cli_runner().invoke(args=["restore", str(path)])
    assert result.exit_code == 0, result.output
    assert f"Checked: {len(counts)} tables hold the backup's row counts" in result.output
    assert "Checked: the tally equals a recount of the actors" in result.output

    # The backup was taken before its own event; the restore adds one event, its own.
    assert table_counts(restored) == {**counts, "event": counts["event"] + 1}
    assert events_of(restored, "backup_made") == []
    assert [e["detail"]["file"] for e in events_of(restored, "backup_restored")] == ["registry.backup"]
    assert stats(restored) == figures and stats(restored, clock.today().isoformat()) == today
    again = sample(restored)
    again["event"] = [row for row in again["event"] if row["kind"] != "backup_restored"]
    assert again == records  # every field of the sampled rows, Khmer and erased ones included
    with restored.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).where(Actor.full_name == KHMER_NAME)) == 1
        assert db.session.scalar(sa.select(sa.func.count()).where(Actor.erased_at.is_not(None))) == 1


def test_the_restored_database_keeps_its_rules_and_serves(app, runner, tmp_path, empty_database) -> None:  # type: ignore[no-untyped-def]
    seed(app, runner, tmp_path, rows=30)
    path = tmp_path / "registry.backup"
    assert runner.invoke(args=["backup", str(path)]).exit_code == 0
    restored = make_app(empty_database("restore"))
    assert restored.test_cli_runner().invoke(args=["restore", str(path)]).exit_code == 0

    with restored.app_context():
        for statement in ("UPDATE event SET kind = 'sign_in'", "DELETE FROM event", "DELETE FROM actor_change",
                          "UPDATE actor_change SET reason = 'rewritten'", "UPDATE actor SET gender = 'x'"):
            with pytest.raises(sa.exc.DBAPIError):  # the append-only triggers and the CHECKs came back
                with db.engine.begin() as connection:
                    connection.execute(sa.text(statement))
        if POSTGRES_URL:
            with pytest.raises(sa.exc.DBAPIError):
                with db.engine.begin() as connection:
                    connection.execute(sa.text("TRUNCATE event"))
    before = stats(restored, clock.today().isoformat())["total"]
    client = restored.test_client()
    token = csrf_token(client, "/register")
    form = valid_form(full_name="Chan Thida", phone="015 444 555")
    assert client.post("/register", data={**form, "csrf_token": token}).status_code == 303  # ids, numbers go on
    assert client.post("/register", data={**form, "csrf_token": token}).status_code != 303  # identity rule holds
    assert stats(restored, clock.today().isoformat())["total"] == before + 1


def test_restore_refuses_a_database_that_is_not_empty(app, runner, tmp_path, empty_database) -> None:  # type: ignore[no-untyped-def]
    seed(app, runner, tmp_path, rows=20)
    path = tmp_path / "registry.backup"
    assert runner.invoke(args=["backup", str(path)]).exit_code == 0
    counts = table_counts(app)

    over_itself = runner.invoke(args=["restore", str(path)])  # the live database, rows and all
    assert over_itself.exit_code == 1 and "the database is not empty" in over_itself.output, over_itself.output
    assert table_counts(app) == counts

    schema_only = empty_database("schema")
    migrated = make_app(schema_only)
    with migrated.app_context():
        upgrade()  # tables, no registrations: a database someone meant for something else
    untouched = table_counts(migrated)
    refused = migrated.test_cli_runner().invoke(args=["restore", str(path)])
    assert refused.exit_code == 1 and f"holds {len(counts)} tables" in refused.output, refused.output
    assert table_counts(migrated) == untouched and untouched["actor"] == 0  # nothing restored


def test_backup_never_replaces_a_file_unless_forced(app, runner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "registry.backup"
    path.write_text("last night's backup")
    refused = runner.invoke(args=["backup", str(path)])
    assert refused.exit_code == 1 and "exists" in refused.output and "--force" in refused.output
    assert path.read_text() == "last night's backup"
    assert runner.invoke(args=["backup", str(tmp_path)]).exit_code == 1  # a folder
    forced = runner.invoke(args=["backup", str(path), "--force", "--json"])
    assert forced.exit_code == 0, forced.output
    manifest = json.loads(forced.output)
    assert manifest["database"] == ("postgresql" if POSTGRES_URL else "sqlite") and manifest["revision"]
    assert runner.invoke(args=["check-backup", str(path)]).exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("registry.sqlite3")) == ["registry.backup"]


def _payload_span(path: Path) -> tuple[int, int]:
    with tarfile.open(path) as tar:
        member = tar.getmembers()[1]
        return member.offset_data, member.size


def _truncated(path: Path) -> None:
    start, size = _payload_span(path)
    path.write_bytes(path.read_bytes()[: start + size // 2])


def _flipped(path: Path) -> None:
    start, size = _payload_span(path)
    data = bytearray(path.read_bytes())
    data[start + size // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _cut_in_the_manifest(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:700])


def _not_a_backup(path: Path) -> None:
    path.write_bytes(b"SQLite format 3\x00" + bytes(4000))


@pytest.mark.parametrize(("damage", "reason"), [
    (_truncated, "truncated"), (_flipped, "damaged"), (_cut_in_the_manifest, "damaged or truncated"),
    (_not_a_backup, "not a registry backup"),
])
def test_a_damaged_backup_is_refused_and_nothing_is_restored(app, runner, tmp_path, empty_database, damage, reason) -> None:  # type: ignore[no-untyped-def]
    seed(app, runner, tmp_path, rows=20)
    path = tmp_path / "registry.backup"
    assert runner.invoke(args=["backup", str(path)]).exit_code == 0
    damage(path)
    checked = runner.invoke(args=["check-backup", str(path)])
    assert checked.exit_code == 1 and reason in checked.output, checked.output
    target = make_app(empty_database("restore"))
    result = target.test_cli_runner().invoke(args=["restore", str(path)])
    assert result.exit_code == 1 and reason in result.output and "Traceback" not in result.output, result.output
    assert table_counts(target) == {}  # the database is as empty as before


def test_a_payload_that_breaks_half_way_leaves_the_database_empty(app, runner, tmp_path, empty_database) -> None:  # type: ignore[no-untyped-def]
    """A payload cut short *before* its digest was taken (a dump that died, say): the archive
    checks out, and the restore itself must fail whole (PostgreSQL: one transaction)."""
    seed(app, runner, tmp_path, rows=20)
    path = tmp_path / "registry.backup"
    assert runner.invoke(args=["backup", str(path)]).exit_code == 0
    with tarfile.open(path) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        name = manifest.pop("payload")["name"]
        whole = tar.extractfile(name).read()  # type: ignore[union-attr]
    (tmp_path / "cut").mkdir()
    (tmp_path / "cut" / name).write_bytes(whole[: len(whole) * 2 // 3])
    broken = tmp_path / "broken.backup"
    archive.write(broken, manifest, tmp_path / "cut" / name, force=False)
    assert runner.invoke(args=["check-backup", str(broken)]).exit_code == 0  # its digest is its own
    target = make_app(empty_database("restore"))
    result = target.test_cli_runner().invoke(args=["restore", str(broken)])
    assert result.exit_code == 1 and "nothing was restored" in result.output, result.output
    assert "Traceback" not in result.output and "Person" not in result.output
    assert table_counts(target) == {}


def test_a_backup_of_the_other_kind_of_database_is_refused(app, runner, tmp_path, empty_database) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "registry.backup"
    assert runner.invoke(args=["backup", str(path)]).exit_code == 0
    with tarfile.open(path) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        payload = manifest.pop("payload")["name"]
        tar.extract(payload, tmp_path / "unpacked", filter="data")
    other = "sqlite" if POSTGRES_URL else "postgresql"
    archive.write(tmp_path / "other.backup", {**manifest, "database": other}, tmp_path / "unpacked" / payload, force=False)
    target = make_app(empty_database("restore"))
    refused = target.test_cli_runner().invoke(args=["restore", str(tmp_path / "other.backup")])
    assert refused.exit_code == 1 and f"this is a {other} backup" in refused.output, refused.output
    assert table_counts(target) == {}


def test_a_backup_taken_while_people_register_is_consistent(app, runner, tmp_path, empty_database) -> None:  # type: ignore[no-untyped-def]
    rows = known_rows(2000)
    assert runner.invoke(args=["import-actors", str(write_csv(tmp_path / "people.csv", rows))]).exit_code == 0
    stop, registered, failures = threading.Event(), [0], []

    def keep_registering() -> None:
        try:
            with app.app_context():
                while not stop.is_set():
                    _register(app, registered[0])
                    registered[0] += 1
        except Exception as error:  # noqa: BLE001  (reported by the assertion below)
            failures.append(error)

    writer = threading.Thread(target=keep_registering)
    writer.start()
    try:
        while registered[0] < 5:
            stop.wait(0.01)
        before = registered[0]
        made = runner.invoke(args=["backup", str(tmp_path / "busy.backup"), "--json"])
        during = registered[0] - before
        stop.wait(0.2)
    finally:
        stop.set()
        writer.join(timeout=60)
    assert made.exit_code == 0 and not failures, (made.output, failures)
    assert during > 0  # people were registering while the backup ran
    manifest = json.loads(made.output)
    assert 2000 + before <= manifest["tables"]["actor"] <= 2000 + before + during
    restored = make_app(empty_database("restore"))
    result = restored.test_cli_runner().invoke(args=["restore", str(tmp_path / "busy.backup")])
    assert result.exit_code == 0, result.output  # every count the manifest's, the tally a recount
    assert "the tally equals a recount" in result.output
    assert table_counts(restored)["actor"] == manifest["tables"]["actor"]
    assert stats(restored, clock.today().isoformat())["total"] == manifest["active"]["total"]


def test_a_backup_made_before_an_upgrade_restores_and_says_to_upgrade(empty_database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    old = make_app(empty_database("old"))
    with old.app_context():
        upgrade(revision="0020_import_mappings")  # `flask backup` comes first, then `flask db upgrade`
    made = old.test_cli_runner().invoke(args=["backup", str(tmp_path / "old.backup")])
    assert made.exit_code == 0 and "revision 0020_import_mappings" in made.output, made.output
    restored = make_app(empty_database("restore"))
    result = restored.test_cli_runner().invoke(args=["restore", str(tmp_path / "old.backup")])
    assert result.exit_code == 0 and "Next: flask --app registry db upgrade" in result.output, result.output
    with restored.app_context():
        upgrade()
        head = ScriptDirectory.from_config(restored.extensions["migrate"].migrate.get_config()).get_current_head()
        assert db.session.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one() == head


def test_a_backup_from_a_newer_version_is_refused(app, runner, tmp_path, empty_database) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        db.session.execute(sa.text("UPDATE alembic_version SET version_num = '0099_from_the_future'"))
        db.session.commit()
    path = tmp_path / "future.backup"
    assert runner.invoke(args=["backup", str(path)]).exit_code == 0
    with app.app_context():
        db.session.execute(sa.text("UPDATE alembic_version SET version_num = '0021_import_formats'"))
        db.session.commit()
    target = make_app(empty_database("restore"))
    refused = target.test_cli_runner().invoke(args=["restore", str(path)])
    assert refused.exit_code == 1 and "newer version" in refused.output, refused.output
    assert table_counts(target) == {}


def test_the_database_password_goes_in_the_environment_never_on_the_command_line() -> None:
    uri, env = client(sa.make_url("postgresql+psycopg://registry:s3cr%40t@db.internal:6432/registry?sslmode=require"))
    assert uri == "postgresql://registry@db.internal:6432/registry?sslmode=require"
    assert env["PGPASSWORD"] == "s3cr@t" and "s3cr" not in uri
