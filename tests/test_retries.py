"""Transactions the database cancels to break a deadlock are run again, not shown as a 500
(registry.database.committed); imports write in short transactions at a lower priority
(registry.imports.runner.Writes), their reading at a lower priority."""
from __future__ import annotations

import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from registry.database import committed, is_retryable
from registry.imports.runner import Writes, lower_this_process
from tests.helpers import POSTGRES_URL


@pytest.fixture
def probe(database_url: str):  # type: ignore[no-untyped-def]
    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE retry_probe (id integer PRIMARY KEY, n integer NOT NULL)"))
        connection.execute(sa.text("INSERT INTO retry_probe VALUES (1, 0), (2, 0)"))
    yield engine
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE retry_probe"))
    engine.dispose()


@pytest.mark.skipif(not POSTGRES_URL, reason="row locks and deadlock detection are PostgreSQL's")
def test_the_victim_of_a_deadlock_runs_again_and_both_transactions_count(probe) -> None:  # type: ignore[no-untyped-def]
    both_hold_one = threading.Barrier(2)
    attempts = {"forward": 0, "backward": 0}
    failures: list[BaseException] = []

    def writer(name: str, order: tuple[int, int]) -> None:
        with Session(probe) as session:
            session.execute(sa.text("SET deadlock_timeout = '50ms'"))

            def work() -> None:
                attempts[name] += 1
                session.execute(sa.text("UPDATE retry_probe SET n = n + 1 WHERE id = :id"), {"id": order[0]})
                if attempts[name] == 1:
                    both_hold_one.wait(timeout=10)  # each holds its first row: a deadlock follows
                session.execute(sa.text("UPDATE retry_probe SET n = n + 1 WHERE id = :id"), {"id": order[1]})

            try:
                committed(session, work)
            except BaseException as error:  # noqa: BLE001 - reported below
                failures.append(error)

    threads = [threading.Thread(target=writer, args=("forward", (1, 2))),
               threading.Thread(target=writer, args=("backward", (2, 1)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert sorted(attempts.values()) == [1, 2]  # the database cancelled one; it ran again
    with probe.connect() as connection:
        assert connection.execute(sa.text("SELECT n FROM retry_probe ORDER BY id")).scalars().all() == [2, 2]


def test_other_errors_are_not_run_again_and_leave_nothing(probe) -> None:  # type: ignore[no-untyped-def]
    calls = []
    with Session(probe) as session:
        def work() -> None:
            calls.append(1)
            session.execute(sa.text("UPDATE retry_probe SET n = 5 WHERE id = 1"))
            session.execute(sa.text("INSERT INTO retry_probe VALUES (2, 0)"))  # the key is taken

        with pytest.raises(IntegrityError):
            committed(session, work)
        def cancelled() -> None:  # an operational error that is not a deadlock
            if POSTGRES_URL:
                session.execute(sa.text("SET LOCAL statement_timeout = 10"))
                session.execute(sa.text("SELECT pg_sleep(1)"))
            else:
                session.execute(sa.text("SELECT * FROM no_such_table_here"))

        with pytest.raises(OperationalError) as raised:
            committed(session, cancelled)
    assert calls == [1]
    assert not is_retryable(raised.value)
    with probe.connect() as connection:
        assert connection.execute(sa.text("SELECT n FROM retry_probe WHERE id = 1")).scalar_one() == 0


def test_import_writes_follow_the_time_target() -> None:
    writes = Writes(0.05, 5000)
    assert writes.size == Writes.FIRST
    writes.took(200, 0.01)  # fast: grows, at most doubling a step
    assert writes.size == 400
    for _ in range(10):
        writes.took(writes.size, writes.size * 0.0001)  # 0.1 ms a row: 500 rows make 50 ms
    assert writes.size == 500
    writes.took(500, 5.0)  # one very slow transaction: at most halves
    assert writes.size == 250
    assert [len(part) for part in writes.slices(list(range(600)))] == [250, 250, 100]
    whole = Writes(0, 500)  # 0: the whole chunk in one transaction (up to MOST_LOCKED rows)
    assert [len(part) for part in whole.slices(list(range(500)))] == [500]
    tiny = Writes(0.05, 5000)
    tiny.size = Writes.FEWEST
    tiny.took(Writes.FEWEST, 10.0)
    assert tiny.size == Writes.FEWEST


def _priority_after_lowering(nice: int) -> int:
    lower_this_process(nice)
    return os.getpriority(os.PRIO_PROCESS, 0)


def test_an_import_reads_at_a_lower_priority_than_requests() -> None:
    """The reader process runs IMPORT_NICE lower (what it inherits, then lowered); the
    writer, which holds the locks registrations wait for, keeps its priority."""
    before = os.getpriority(os.PRIO_PROCESS, 0)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        assert pool.submit(_priority_after_lowering, 10).result() == min(19, before + 10)
    assert os.getpriority(os.PRIO_PROCESS, 0) == before
