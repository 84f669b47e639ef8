"""What a backup holds, measured the same way on the source's snapshot and on the restored
database: every table's row count, the Alembic revision, a digest of the tally and (at this
code's revision) the active registrations by category."""
from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from sqlalchemy import Connection, inspect, text
from sqlalchemy.orm import Session

from registry.stats.queries import summary
from registry.stats.tally import rebuild

TALLY = "actor_tally"


def table_names(connection: Connection) -> list[str]:
    """Every table of the database's default schema (SQLite: its FTS tables too)."""
    return sorted(inspect(connection).get_table_names())


def table_counts(connection: Connection) -> dict[str, int]:
    quote = connection.dialect.identifier_preparer.quote
    return {name: int(connection.execute(text(f"SELECT count(*) FROM {quote(name)}")).scalar_one())
            for name in table_names(connection)}


def revision(connection: Connection, tables: dict[str, int]) -> str | None:
    if "alembic_version" not in tables:
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def tally_digest(connection: Connection) -> dict[str, Any]:
    """The tally's cells (n <> 0) in key order as a count and a SHA-256: equal digests, equal
    tallies, without holding a national tally in memory."""
    digest, rows = hashlib.sha256(), 0
    result = connection.execute(text(f"SELECT key, n FROM {TALLY} WHERE n <> 0 ORDER BY key"),
                                execution_options={"yield_per": 20_000})  # for this statement only
    for key, n in result:
        digest.update(f"{key} {n}\n".encode())
        rows += 1
    return {"rows": rows, "sha256": digest.hexdigest()}


def measure(session: Session, *, head: str, as_of: date | None) -> dict[str, Any]:
    """The figures a manifest records. The active counts need this code's schema, so they are
    left out of a database at another revision (a backup taken before `flask db upgrade`)."""
    connection = session.connection()
    tables = table_counts(connection)
    found: dict[str, Any] = {"revision": revision(connection, tables), "tables": tables,
                             "tally": tally_digest(connection) if TALLY in tables else None}
    if found["revision"] == head and as_of is not None:
        found["active"] = summary(session, as_of)
    return found


def differences(expected: dict[str, Any], found: dict[str, Any]) -> list[str]:
    """What the restored database holds otherwise than the manifest says (names and counts only)."""
    problems = []
    for table in sorted(set(expected["tables"]) | set(found["tables"])):
        want, got = expected["tables"].get(table), found["tables"].get(table)
        if want != got:
            problems.append(f"table {table}: {'missing' if got is None else f'{got} rows'},"
                            f" the backup has {'no such table' if want is None else f'{want} rows'}")
    if expected.get("revision") != found.get("revision"):
        problems.append(f"revision {found.get('revision')}, the backup has {expected.get('revision')}")
    if expected.get("tally") != found.get("tally"):
        problems.append(f"the tally ({(found.get('tally') or {}).get('rows')} cells) is not the backup's"
                        f" ({(expected.get('tally') or {}).get('rows')} cells)")
    if expected.get("active") and found.get("active") and expected["active"] != found["active"]:
        problems.append(f"active registrations {found['active']['total']}, the backup has {expected['active']['total']}")
    return problems


def tally_recounted(session: Session) -> bool:
    """True when the tally equals a recount from the actors' timelines (stats.tally.rebuild
    in a savepoint, rolled back: nothing changes)."""
    before = tally_digest(session.connection())
    with session.begin_nested() as recount:
        rebuild(session)
        after = tally_digest(session.connection())
        recount.rollback()
    return before == after
