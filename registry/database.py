"""Engine set-up per dialect: SQLite tuned for several concurrent writers."""
from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, event, exc, make_url, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from registry import write_queue

T = TypeVar("T")

# Execution option of a connection that only reads, for long reads (the duplicate scan) and
# pages that only read (`reads_only`): on SQLite its transaction is a plain BEGIN, a snapshot
# that holds no write lock, so requests go on writing while it reads (every other
# transaction takes the write lock when it starts), and the connection is `query_only`
# meanwhile: a write there fails at once, in every test, rather than now and then, when a
# writer changed the database after the snapshot began (SQLITE_BUSY_SNAPSHOT).
READ_ONLY = "registry_read_only"
_QUERY_ONLY = "registry_query_only"  # the SQLite connection is query_only now


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection of its own that only reads (one consistent snapshot), closed after."""
    with engine.connect() as connection:
        yield connection.execution_options(**{READ_ONLY: True})


V = TypeVar("V", bound=Callable[..., Any])


def reads_only(view: V) -> V:
    """A page that only reads (the public statistics): its transaction is READ_ONLY, so on
    SQLite it reads a snapshot beside the writers instead of queueing for the write lock with
    them (it held it 0.3–0.4 s under the mixed load). Nothing else may have begun the
    request's transaction (then this changes nothing)."""
    from functools import wraps

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from registry.extensions import db

        session = db.session()  # this request's session (the scoped proxy has no in_transaction)
        if not session.in_transaction():
            session.connection(execution_options={READ_ONLY: True})
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


CONNECT_TIMEOUT_SECONDS = 5
SERVER_OPTIONS = "-c jit=off"  # per connection (libpq `options`)


def engine_options(url: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """Engine options for `url` on top of `options` (the configured ones win).

    A database server (PostgreSQL): each pooled connection is tested before use
    (`pool_pre_ping`), so after the server restarts no request meets a dead connection:
    service resumes by itself with no failed request (on invalidation alone, one request
    per process failed first). It costs one round trip per request on a local socket,
    measured on the registration POST: README "When the database is down". A server that
    does not answer a connection at all fails it after CONNECT_TIMEOUT_SECONDS (libpq
    waits forever by default: gunicorn would kill the worker) unless the URL sets its own
    connect_timeout. SQLite has no connection to lose: nothing added.

    PostgreSQL's JIT compiler is off (SERVER_OPTIONS) unless the URL sets `options`: every
    statement here is short, and JIT's cost is paid at each execution. The statistics'
    one-statement read of the tally is estimated above jit_above_cost on a big tally and
    spent 10 ms compiling for 16 ms of work (bench/scale_bench.py).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return dict(options)
    merged: dict[str, Any] = {"pool_pre_ping": True, **options}
    connect_args = dict(options.get("connect_args", {}))
    if "connect_timeout" not in parsed.query:
        connect_args.setdefault("connect_timeout", CONNECT_TIMEOUT_SECONDS)
    if "options" not in parsed.query:
        connect_args.setdefault("options", SERVER_OPTIONS)
    merged["connect_args"] = connect_args
    return merged


WRITER_WAIT_SECONDS = 30  # as the busy timeout
_HOLDS_WRITERS = "registry_holds_writer_lock"
_PLACE = "registry_write_queue_place"
_QUEUE, _LOCK = "queue", "lock"  # what a connection's write transaction holds


def configure_engine(engine: Engine) -> None:
    """Give SQLite WAL, a busy timeout and BEGIN IMMEDIATE write transactions, taken in the
    order they were asked for.

    With IMMEDIATE, a transaction takes the write lock when it starts, so two gunicorn
    workers wait for each other (busy timeout) instead of failing with "database is
    locked" on lock upgrade, and a duplicate check and its insert can never interleave.
    """
    if engine.dialect.name != "sqlite":
        return
    database = engine.url.database
    _create_private_file(database)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # let SQLAlchemy emit BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA cache_size = -65536")  # 64 MiB: index pages of a large registry stay in memory
        cursor.close()

    # Writers queue for the write lock where a release wakes the next at once, rather than
    # in SQLite's busy handler, which sleeps 1, 2, 5 … 100 ms between tries: 16 threads
    # polling that way gave registrations a p99 of ~800 ms (bench/load.py), and two import
    # workers writing back to back kept a web process polling for seconds (README, mixed
    # load). Every connection of every process on one file queues in one line
    # (registry.write_queue); where that cannot be (no file, no OFD locks), a process's own
    # threads still queue on a Python lock.
    queued = write_queue.SUPPORTED and _is_a_file(database)
    writers = threading.Lock()

    def _place(connection: Connection) -> write_queue.Place | None:
        place = connection.info.get(_PLACE)
        if place is None:
            try:
                place = connection.info[_PLACE] = write_queue.Place(write_queue.queue_path(str(database)))
            except OSError:  # no folder (yet), not writable: SQLite's own lock alone decides
                return None
        return place

    @event.listens_for(engine, "begin")
    def _on_begin(connection):  # type: ignore[no-untyped-def]
        if connection.get_execution_options().get(READ_ONLY):
            _query_only(connection, True)
            connection.exec_driver_sql("BEGIN")  # a snapshot: under WAL, writers go on meanwhile
            return
        _query_only(connection, False)
        place = _place(connection) if queued else None
        try:
            # Past the busy timeout, go on without one's turn (SQLite's own lock still decides).
            if place is not None:
                connection.info[_HOLDS_WRITERS] = _QUEUE
                place.take_turn(WRITER_WAIT_SECONDS)
            elif writers.acquire(timeout=WRITER_WAIT_SECONDS):
                connection.info[_HOLDS_WRITERS] = _LOCK
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _release(connection.info)
            raise

    def _query_only(connection: Connection, wanted: bool) -> None:
        """The connection's query_only pragma as the transaction needs it (set only when it
        changes: it stays with the SQLite connection from one checkout to the next)."""
        if connection.info.get(_QUERY_ONLY, False) != wanted:
            connection.exec_driver_sql(f"PRAGMA query_only = {'ON' if wanted else 'OFF'}")
            connection.info[_QUERY_ONLY] = wanted

    def _release(info) -> None:  # type: ignore[no-untyped-def]
        held = info.pop(_HOLDS_WRITERS, None)
        if held == _QUEUE:
            place = info.get(_PLACE)
            if place is not None:
                place.leave()
        elif held == _LOCK:
            writers.release()

    # SQLAlchemy's commit event comes just before the COMMIT: the next writer, woken, may
    # find the lock still held for that instant and retry once in the busy handler (1 ms).
    event.listen(engine, "commit", lambda connection: _release(connection.info))
    event.listen(engine, "rollback", lambda connection: _release(connection.info))

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection, record):  # type: ignore[no-untyped-def]
        # A connection returned with its transaction unfinished (the pool rolls it back
        # without a rollback event): its place in the queue goes with it.
        _release(record.info)

    @event.listens_for(engine, "close")
    def _on_close(_dbapi_connection, record):  # type: ignore[no-untyped-def]
        place = record.info.pop(_PLACE, None)
        if place is not None:
            place.close()


def _is_a_file(database: str | None) -> bool:
    """A database in a file of its own (not in memory, not a URI SQLite opens itself)."""
    return bool(database) and database != ":memory:" and not str(database).startswith("file:")


def _create_private_file(database: str | None) -> None:
    """Create a missing SQLite database file empty with mode 0600 before SQLite does (it
    would follow the umask, 0644); its -wal and -shm files take the database file's mode."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if path.exists() or not path.parent.is_dir():
        return
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


# PostgreSQL SQLSTATE classes and codes that mean "not now" rather than "wrong": connection
# exceptions, insufficient resources (too many connections, disk full), operator
# intervention (shutdown, starting up, statement timeout), transaction rollback
# (deadlock, serialization), lock not available (lock_timeout).
POSTGRES_CLASSES = ("08", "53", "57", "40")
POSTGRES_CODES = ("55P03",)
# SQLite primary result codes of the same kind: BUSY, LOCKED (held beyond busy_timeout),
# READONLY, IOERR, FULL, CANTOPEN, PROTOCOL. Not SQLITE_ERROR (1): bad SQL, no such table.
SQLITE_CODES = (5, 6, 8, 10, 13, 14, 15)


def database_unavailable(error: BaseException) -> bool:
    """True when `error` says the database cannot be reached or used just now."""
    if isinstance(error, exc.TimeoutError):  # no connection free in the pool
        return True
    if not isinstance(error, exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    original = error.orig
    code = getattr(original, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in SQLITE_CODES
    if isinstance(error, (exc.OperationalError, exc.InterfaceError)):
        state = getattr(original, "sqlstate", None)
        if state is None:  # psycopg: failed on the client side (no server answered)
            return True
        return state[:2] in POSTGRES_CLASSES or state in POSTGRES_CODES
    return False


def is_unique_violation(error: Exception) -> bool:
    """True when a DBAPI error (wrapped or not) is a unique-constraint violation."""
    original = getattr(error, "orig", error)
    if getattr(original, "sqlstate", None) == "23505":  # psycopg
        return True
    return "UNIQUE constraint failed" in str(original)  # sqlite3


# PostgreSQL's deadlock_detected and serialization_failure: the database cancelled one
# transaction so that others could go on; nothing of it stayed, and running it again is safe.
RETRYABLE_STATES = frozenset(("40P01", "40001"))


def is_retryable(error: Exception) -> bool:
    """True when the transaction failed only because of how it met others (a deadlock or a
    serialization failure) and may simply be run again."""
    original = getattr(error, "orig", error)
    return getattr(original, "sqlstate", None) in RETRYABLE_STATES


def committed(session: Session, work: Callable[[], T], attempts: int = 3) -> T:
    """Run `work` (which only flushes) and commit; when the database cancelled the transaction
    as a deadlock victim or a serialization failure, roll back and run it again, at most
    `attempts` times in all. Any other error propagates with the transaction rolled back."""
    for attempt in range(1, attempts + 1):
        try:
            result = work()
            session.commit()
            return result
        except OperationalError as error:
            session.rollback()
            if not is_retryable(error) or attempt == attempts:
                raise
        except BaseException:
            session.rollback()
            raise
    raise AssertionError("unreachable")


def one_of(column: str, values: tuple[str, ...] | list[str]) -> str:
    """A CHECK expression allowing only `values`, written as `=` comparisons joined by OR.

    Not `IN (...)`: SQLite builds a temporary index for an IN list every time a row is
    checked, which made the bulk insert of actors ~40 % slower (bench/import_bench.py).
    Same meaning on both databases.
    """
    return "(" + " OR ".join(f"{column} = '{value}'" for value in values) + ")"


class PlannerStatistics:
    """PostgreSQL: ANALYZE a table that a bulk load is filling, each time the load has added
    as many rows as the table held at its last ANALYZE (at once if it never had one).

    Without statistics the planner sees a table's indexes as empty and costs them all the
    same: for the importer's duplicate look-up by national ID it picked the partial index on
    (category, phone) that shares the unique index's condition, and each probe read every
    row of the category (the import slowed quadratically: a chunk took 40 s at 110,000
    rows). Autovacuum analyses in the end, but not during the first minutes of a first
    large import, and not at all where it is off. Each ANALYZE is its own short transaction
    (its lock is held until commit), between chunks; a user who does not own the table gets
    a warning from PostgreSQL, not an error. Nothing on SQLite (the look-ups name their
    index there).
    """

    def __init__(self, session: Session, table: str) -> None:
        self.session, self.table = session, table
        self.active = session.get_bind().dialect.name == "postgresql"
        self.added = 0
        self.known = self._known_rows() if self.active else 0.0

    def _known_rows(self) -> float:
        known = self.session.scalar(text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:table)"),
                                    {"table": self.table})
        self.session.commit()
        return float(known if known is not None else 0.0)

    def added_rows(self, count: int) -> None:
        """Note rows committed to the table; ANALYZE it (and commit) if they are enough."""
        if not self.active or not count:
            return
        self.added += count
        if self.known >= 0 and self.added < self.known:
            return
        self.session.execute(text(f"ANALYZE {self.table}"))
        self.session.commit()
        self.added, self.known = 0, self._known_rows()
