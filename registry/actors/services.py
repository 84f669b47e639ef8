"""Operations on actors: plain functions that flush and never commit (the caller does)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timezone
from typing import get_type_hints

from sqlalchemy import Connection, insert
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from registry.actors import name_index
from registry.actors.identity import find_existing, lock_identities
from registry.actors.models import Actor
from registry.actors.numbers import allocate_ids, registration_number
from registry.actors.validation import Registration
from registry.database import is_unique_violation
from registry.stats.tally import Fine, count_new, fine_key


class DuplicateRegistration(Exception):
    """The person is already registered in that category."""

    def __init__(self, registration_number: str | None) -> None:
        super().__init__("already registered")
        self.registration_number = registration_number


def register_actor(
    session: Session, reg: Registration, *, channel: str, consented_at: datetime, now: datetime,
    assisted_by_id: int | None = None, before_counting: Callable[[Actor], None] | None = None,
) -> Actor:
    """Store one registration and return it as stored (an Actor outside the session: nothing
    reads the row back, even after the commit); raise DuplicateRegistration if the person is
    already there. `assisted_by_id`: the member of staff who registered the person with them.

    `before_counting(actor)`: more work of the same transaction (the duplicate look-up, the
    audit), run before the tally: the tally's country and province rows are shared by every
    registration of the day, so they are written last and stay locked only until the commit."""
    lock_identities(session, [reg])
    existing = find_existing(session, [reg])[0]
    if existing is not None:
        raise DuplicateRegistration(existing.registration_number)
    (actor_id,) = allocate_ids(session, 1)
    values = dict(id=actor_id, registration_number=registration_number(actor_id), channel=channel, created_at=now,
                  consented_at=consented_at, assisted_by_id=assisted_by_id, **reg._asdict())
    try:
        with session.begin_nested():
            # A Core INSERT: the ORM's unit of work cost more CPU than the statement itself
            # (bench/load.py, README). Same table, same constraints.
            session.execute(insert(Actor.__table__), values)
    except IntegrityError as error:
        if not is_unique_violation(error):
            raise
        # A concurrent registration of the same person won the race (unique indexes).
        raise DuplicateRegistration(None) from None
    name_index.index_new(session, [actor_id])
    actor = Actor(**values)  # the values stored, outside the session (session.get reads the row)
    if before_counting is not None:
        before_counting(actor)
    count_new(session, [_fine(reg, channel)])
    return actor


def _fine(r: Registration, channel: str) -> Fine:
    return fine_key(r.registered_on, r.commune_code, r.category, r.gender, r.sector, channel, r.date_of_birth)


# The columns of a bulk insert: the id and number, every member of Registration (the one
# field list), then how and when the row arrived. Records are built in the same order.
BULK_COLUMNS = ("id", "registration_number", *Registration._fields,
                 "channel", "created_at", "consented_at", "import_batch_id", "source_row", "source_ref")
# Registration members SQLite stores as ISO text (its driver's date adapters are deprecated).
_DATE_MEMBERS = tuple(i for i, name in enumerate(Registration._fields) if get_type_hints(Registration)[name] is date)


def insert_actors(
    session: Session,
    registrations: list[Registration],
    *,
    channel: str,
    now: datetime,
    consented_at: datetime,
    import_batch_id: int | None = None,
    source_rows: list[int] | None = None,
    source_refs: list[str | None] | None = None,
) -> None:
    """Store many registrations already checked for duplicates, in one executemany.

    Goes to the driver directly (executemany on SQLite, COPY on PostgreSQL): the ORM's
    per-row parameter processing would cost more than the insert itself. The database's
    constraints and unique indexes still check every row.
    """
    if not registrations:
        return
    connection = session.connection()
    sqlite = connection.dialect.name == "sqlite"
    ids = allocate_ids(session, len(registrations))
    rows_of_file = source_rows or [None] * len(registrations)
    submissions = source_refs or [None] * len(registrations)  # the field tool's submission ids
    now_value = _sqlite_datetime(now) if sqlite else now
    consent_value = _sqlite_datetime(consented_at) if sqlite else consented_at
    values = _sqlite_values if sqlite else tuple
    records = [
        (actor_id, registration_number(actor_id), *values(r), channel, now_value, consent_value, import_batch_id, source_row, ref)
        for actor_id, r, source_row, ref in zip(ids, registrations, rows_of_file, submissions)
    ]
    if sqlite:
        connection.exec_driver_sql(
            f"INSERT INTO actor ({', '.join(BULK_COLUMNS)}) VALUES ({', '.join(['?'] * len(BULK_COLUMNS))})",
            records,
        )
    else:
        _copy_actors(connection, records)
    name_index.index_new(session, ids)
    count_new(session, [_fine(r, channel) for r in registrations])


def _copy_actors(connection: Connection, records: list[tuple]) -> None:  # type: ignore[type-arg]
    """PostgreSQL: COPY, an order of magnitude faster than row inserts; same transaction."""
    statement = f"COPY actor ({', '.join(BULK_COLUMNS)}) FROM STDIN"
    try:
        with connection.connection.dbapi_connection.cursor() as cursor:  # type: ignore[union-attr]
            with cursor.copy(statement) as copy:
                for record in records:
                    copy.write_row(record)
    except connection.dialect.dbapi.IntegrityError as error:  # type: ignore[union-attr]
        # The same exception SQLAlchemy raises elsewhere, so callers handle one kind.
        raise IntegrityError(statement, None, error) from error
    except connection.dialect.dbapi.OperationalError as error:  # type: ignore[union-attr]
        # The server went away mid-COPY (a restart). The raw cursor bypassed SQLAlchemy, which
        # would have invalidated the connection: do it here, so that the rollback that follows
        # does not try the dead connection, and the caller sees the usual "unavailable" error.
        connection.invalidate(error)
        raise OperationalError(statement, None, error, connection_invalidated=True) from error


def _sqlite_values(registration: Registration) -> list[object]:
    values: list[object] = list(registration)
    for i in _DATE_MEMBERS:
        values[i] = values[i].isoformat()  # type: ignore[union-attr]
    return values


def _sqlite_datetime(moment: datetime) -> str:
    """The text SQLAlchemy's SQLite DateTime stores (UTC, no offset)."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
