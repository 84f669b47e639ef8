"""The locks registrations and imports share. Identity locks (lock_identities): the same person
written twice at the same moment is stored once; a registration waits only for a writer of
the same phone, never for an import of other people; writers never deadlock; one transaction
locks a bounded number of people (PostgreSQL's shared lock table is finite). The tally rows
every writer of the day adds to: an import transaction writes them last, right before its
COMMIT."""
from __future__ import annotations

import threading
import time
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from registry.actors.identity import MOST_LOCKED, lock_identities, phone_lock_key
from registry.actors.services import DuplicateRegistration, register_actor
from registry.actors.validation import validate_registration
from registry.extensions import db
from registry.imports.runner import Writes
from tests.helpers import POSTGRES_URL, count_actors, make_app
from tests.import_files import good, write_csv

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=timezone.utc)
postgresql_only = pytest.mark.skipif(not POSTGRES_URL, reason="advisory locks are PostgreSQL's; SQLite's writers run one at a time")


def registration(phone: str, national_id: str = ""):  # type: ignore[no-untyped-def]
    raw = {
        "category": "employee", "full_name": "Chan Sophea", "gender": "F", "date_of_birth": "1995-03-08",
        "national_id": national_id, "phone": phone, "province": "02", "district": "0203", "commune": "020301",
        "sector": "repair",
    }
    reg, errors = validate_registration(raw, today=date(2026, 11, 25))
    assert not errors, errors
    return reg


def people(first: int, count: int) -> list:  # type: ignore[type-arg]
    return [registration(f"012 {n // 1000:03d} {n % 1000:03d}") for n in range(first, first + count)]


def advisory_locks_held(session: Session) -> int:
    return session.execute(sa.text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted")).scalar_one()


def waiting_on_an_advisory_lock(session: Session) -> bool:
    return session.execute(sa.text(
        "SELECT count(*) > 0 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")).scalar_one()


def test_one_transaction_locks_at_most_a_bounded_number_of_people(session) -> None:  # type: ignore[no-untyped-def]
    crowd = people(0, MOST_LOCKED + 1)
    with pytest.raises(ValueError):
        lock_identities(session, crowd)
    lock_identities(session, crowd[:MOST_LOCKED])
    if POSTGRES_URL:  # one lock a phone, no more
        assert advisory_locks_held(session) == len({phone_lock_key(p.phone) for p in crowd[:MOST_LOCKED]}) == MOST_LOCKED
    session.rollback()
    # An import's write transactions stay within the bound, whatever the chunk and the pace.
    for writes in (Writes(0, 5000), Writes(0.05, 5000)):
        for _ in range(10):
            writes.took(writes.size, 0.001)  # very fast: it would grow to the whole chunk
        assert max(len(part) for part in writes.slices(list(range(5000)))) == MOST_LOCKED


@pytest.mark.parametrize("first_has_id", [True, False])
def test_the_same_person_with_and_without_a_national_id_at_once_is_stored_once(app, first_has_id: bool) -> None:  # type: ignore[no-untyped-def]
    """The race the unique indexes cannot see (one row in each partial index): the second
    writer waits for the first's commit, then finds the person."""
    with_id, without = registration("011 222 333", national_id="123456789"), registration("011 222 333")
    first, second = (with_id, without) if first_has_id else (without, with_id)
    outcome: list[object] = []

    def second_writer() -> None:
        with app.app_context():
            try:
                register_actor(db.session, second, channel="self", consented_at=NOW, now=NOW)
                db.session.commit()
                outcome.append("stored")
            except DuplicateRegistration:
                db.session.rollback()
                outcome.append("duplicate")

    with app.app_context():
        register_actor(db.session, first, channel="self", consented_at=NOW, now=NOW)
        thread = threading.Thread(target=second_writer)
        thread.start()
        deadline = time.monotonic() + 5
        if POSTGRES_URL:  # it waits on the identity lock (with a connection of our own to look)
            with Session(db.engine) as observer:
                while not waiting_on_an_advisory_lock(observer) and time.monotonic() < deadline:
                    observer.rollback()
                    time.sleep(0.01)
                assert waiting_on_an_advisory_lock(observer)
        else:  # it waits for the write lock
            thread.join(0.3)
        assert thread.is_alive() and outcome == []
        db.session.commit()
        thread.join(10)
        assert outcome == ["duplicate"]
        assert db.session.execute(sa.text("SELECT count(*) FROM actor")).scalar_one() == 1


@postgresql_only
def test_a_registration_does_not_wait_for_an_import_of_other_people(app) -> None:  # type: ignore[no-untyped-def]
    """An import transaction holds the locks of its MOST_LOCKED people until it commits: a
    registration of someone else goes through at once; one of the same phone waits."""
    with app.app_context():
        importing = Session(db.engine)
        crowd = people(0, MOST_LOCKED)
        lock_identities(importing, crowd)
        try:
            db.session.execute(sa.text("SET LOCAL lock_timeout = '100ms'"))
            register_actor(db.session, registration("097 555 444"), channel="self", consented_at=NOW, now=NOW)
            db.session.commit()
            db.session.execute(sa.text("SET LOCAL lock_timeout = '100ms'"))
            with pytest.raises(OperationalError, match="lock timeout"):
                register_actor(db.session, registration(crowd[-1].phone), channel="self", consented_at=NOW, now=NOW)
            db.session.rollback()
        finally:
            importing.close()
        assert db.session.execute(sa.text("SELECT count(*) FROM actor")).scalar_one() == 1


@postgresql_only
def test_writers_locking_overlapping_people_in_opposite_orders_never_deadlock(app) -> None:  # type: ignore[no-untyped-def]
    overlapping = (people(0, 600), list(reversed(people(400, 600))))
    start = threading.Barrier(2)
    failures: list[BaseException] = []
    rounds = 50

    def writer(engine: sa.Engine, crowd: list) -> None:  # type: ignore[type-arg]
        with Session(engine) as session:
            try:
                for _ in range(rounds):
                    session.execute(sa.text("SET LOCAL deadlock_timeout = '20ms'"))
                    session.execute(sa.text("SET LOCAL lock_timeout = '5s'"))  # a bug fails, never hangs
                    start.wait(timeout=10)
                    lock_identities(session, crowd)
                    session.commit()
            except BaseException as error:  # noqa: BLE001 - reported below
                start.abort()
                failures.append(error)

    with app.app_context():
        threads = [threading.Thread(target=writer, args=(db.engine, crowd)) for crowd in overlapping]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []


def test_an_import_transaction_adds_to_the_tally_last_before_its_commit(database_url: str, tmp_path: Path) -> None:
    """Registrations of the day wait for the tally rows an import transaction adds to until
    it commits: no statement of the import runs between its tally and its COMMIT."""
    app = make_app(database_url, IMPORT_WORKERS=0, IMPORT_CHUNK_ROWS=7)
    rows = [good(n) for n in range(20)] + [good(3)]  # a duplicate too: a problem row in the last transaction
    transactions: list[list[str]] = [[]]  # the statements of each transaction, in order
    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", lambda _c, _cur, statement, *_a: transactions[-1].append(statement.strip()))
    sa.event.listen(engine, "commit", lambda _c: transactions.append([]))
    result = app.test_cli_runner().invoke(args=["import-actors", str(write_csv(tmp_path / "people.csv", rows)), "--json"])
    assert result.exit_code == 0, result.output
    assert count_actors(app) == 20
    writing = [t for t in transactions if any(s.startswith("INSERT INTO actor_tally") for s in t)]
    assert len(writing) == 3  # 7 + 7 + 7 rows
    assert [t[-1].split(" (")[0] for t in writing] == ["INSERT INTO actor_tally"] * 3, [t[-1][:60] for t in writing]


def test_an_import_reads_and_checks_its_file_outside_any_transaction(database_url: str, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """No transaction of the import stays open while its next chunk is read and checked (on
    SQLite every transaction holds the write lock that registrations wait for): a write
    transaction begins with its first statement, not with a read of the batch's counts."""
    from registry.imports import runner

    app = make_app(database_url, IMPORT_WORKERS=0, IMPORT_CHUNK_ROWS=7)
    open_while_checking: list[bool] = []
    check = runner.check_rows

    def checking(*args, **kwargs):  # type: ignore[no-untyped-def]
        open_while_checking.append(db.session().in_transaction())
        return check(*args, **kwargs)

    monkeypatch.setattr(runner, "check_rows", checking)
    result = app.test_cli_runner().invoke(args=["import-actors", str(write_csv(tmp_path / "people.csv", [good(n) for n in range(20)])),
                                                "--json"])
    assert result.exit_code == 0, result.output
    assert count_actors(app) == 20
    assert open_while_checking == [False, False, False]  # 7 + 7 + 6 rows
