"""SQLite's writers in one queue (registry.write_queue): turns are taken in the order asked
for, by threads and processes alike; a turn ends with its transaction, however it ends,
and with its process; a writer that gives up waiting keeps its place for those behind it."""
from __future__ import annotations

import fcntl
import os
import signal
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from registry import write_queue
from registry.write_queue import Place, queue_path
from tests.helpers import POSTGRES_URL

pytestmark = pytest.mark.skipif(not write_queue.SUPPORTED, reason="open file description locks are Linux's")


def tickets_taken(path: Path) -> int:
    raw = path.read_bytes()[:8]
    return int.from_bytes(raw, "little") if raw else 0


def queue_behind(places: list[Place], path: Path, taken: list[str]) -> list[threading.Thread]:
    """Each place asks for its turn in its own thread, one after the other (each has its
    ticket before the next asks); `taken` records the order in which turns come."""
    threads = []
    for number, place in enumerate(places):
        before = tickets_taken(path)
        thread = threading.Thread(target=lambda p=place, n=number: (p.take_turn(30), taken.append(f"place {n}")))
        thread.start()
        threads.append(thread)
        while tickets_taken(path) == before:  # its ticket is taken: the next one asks after it
            time.sleep(0.001)
    return threads


def test_turns_come_in_the_order_asked_and_one_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "queue"
    first, *waiting = [Place(str(path)) for _ in range(4)]
    assert first.take_turn(30)
    taken: list[str] = []
    threads = queue_behind(waiting, path, taken)
    for expected in range(len(waiting)):
        time.sleep(0.05)  # a writer out of turn would have come by now
        assert taken == [f"place {n}" for n in range(expected)]  # nobody behind has overtaken
        (first if expected == 0 else waiting[expected - 1]).leave()
        threads[expected].join(timeout=10)
    assert taken == ["place 0", "place 1", "place 2"]
    waiting[-1].leave()
    for place in [first, *waiting]:
        place.close()


def turn_in_thread(place: Place) -> tuple[threading.Thread, threading.Event]:
    """`place` waits for its turn in a thread of its own; the event is set when it comes."""
    came = threading.Event()
    thread = threading.Thread(target=lambda: place.take_turn(30) and came.set())
    thread.start()
    return thread, came


def test_a_writer_that_gives_up_waiting_keeps_its_place_for_those_behind(tmp_path: Path) -> None:
    path = str(tmp_path / "queue")
    holder, impatient, behind = Place(path), Place(path), Place(path)
    assert holder.take_turn(30)
    assert not impatient.take_turn(0.05)  # gave up: SQLite's own lock decides for it
    thread, came = turn_in_thread(behind)
    holder.leave()
    assert not came.wait(0.1)  # the impatient one is ahead and has not finished
    impatient.leave()
    thread.join(timeout=10)
    assert came.is_set()
    for place in (holder, impatient, behind):
        place.close()


def test_a_turn_ends_with_its_process_even_when_killed(tmp_path: Path) -> None:
    path = tmp_path / "queue"
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from registry.write_queue import Place;"
                               "place = Place(sys.argv[1]); assert place.take_turn(30); print('holding', flush=True); time.sleep(600)",
         str(path)],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)})
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "holding"
        waiting = Place(str(path))
        thread, came = turn_in_thread(waiting)
        assert not came.wait(0.1)  # the child's transaction is ahead
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        if child.stdout is not None:
            child.stdout.close()
    thread.join(timeout=10)
    assert came.is_set()  # no clean-up ran: the kernel let the dead process's turn go
    waiting.close()


def turns_held(path: str) -> bool:
    """Whether any connection holds a ticket (a turn, or a place in the line)."""
    fd = os.open(path, os.O_RDWR)
    try:
        asked = struct.pack("hhqqi", fcntl.F_WRLCK, os.SEEK_SET, write_queue.SLOTS_AT, write_queue.SLOTS, 0)
        answer = struct.unpack("hhqqi", fcntl.fcntl(fd, fcntl.F_OFD_GETLK, asked))
    finally:
        os.close(fd)
    return answer[0] != fcntl.F_UNLCK


@pytest.mark.skipif(bool(POSTGRES_URL), reason="SQLite's queue")
def test_a_transaction_that_fails_or_is_abandoned_ends_its_turn(database_url: str) -> None:
    """Through the app's engine: a statement that fails (rolled back), a connection given back
    to the pool mid-transaction, and a commit each let the next writer in at once."""
    from tests.helpers import make_app
    from registry.extensions import db

    app = make_app(database_url)
    path = queue_path(sa.make_url(database_url).database or "")
    with app.app_context():
        engine = db.engine

    def nobody_ahead() -> bool:
        return not turns_held(path)

    with engine.connect() as connection:
        with pytest.raises(sa.exc.OperationalError):
            with connection.begin():
                connection.execute(sa.text("INSERT INTO no_such_table VALUES (1)"))
        assert nobody_ahead()
        connection.begin()
        connection.execute(sa.text("SELECT count(*) FROM actor"))
        assert not nobody_ahead()  # the transaction holds its turn
    assert nobody_ahead()  # returned to the pool unfinished: rolled back, turn ended
    with engine.begin() as connection:
        connection.execute(sa.text("SELECT count(*) FROM actor"))
    assert nobody_ahead()
    assert Path(path).stat().st_mode & 0o777 == 0o600


@pytest.mark.skipif(bool(POSTGRES_URL), reason="SQLite's write lock")
def test_the_public_statistics_read_beside_a_writer_and_a_reader_cannot_write(client, app, database_url: str) -> None:
    """/stats only reads (registry.database.reads_only): while another connection holds
    SQLite's write lock, the page answers from a snapshot instead of waiting for the lock.
    A read-only connection is query_only: a write there fails at once (never now and then,
    under concurrency); the same pooled connection writes again in its next transaction."""
    import sqlite3

    from registry.database import READ_ONLY, reading
    from registry.extensions import db

    holder = sqlite3.connect(sa.make_url(database_url).database or "", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # a writer in the middle of its transaction
    try:
        page = client.get("/stats?lang=en")  # waiting for the lock: 30 s, then a 503
        assert page.status_code == 200 and "Registered" in page.get_data(as_text=True)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with app.app_context():
        engine = db.engine
    engine.pool.dispose()
    with reading(engine) as reader:
        assert reader.get_execution_options()[READ_ONLY]
        with pytest.raises(sa.exc.OperationalError, match="readonly"):
            reader.execute(sa.text("INSERT INTO event (kind, at) VALUES ('x', '2026-01-01')"))
        reader.rollback()
    with engine.begin() as writer:  # the same connection (a pool of one checked in), writing
        writer.execute(sa.text("CREATE TABLE written_after_reading (n INTEGER)"))
    with engine.connect() as connection:
        assert connection.execute(sa.text("PRAGMA query_only")).scalar_one() == 0
