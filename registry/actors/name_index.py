"""Names found by any part, quickly, on SQLite: an FTS5 trigram index over `actor.name_key`
(migration 0011). PostgreSQL needs none of this (a pg_trgm GIN index answers LIKE itself).

The table `actor_name` holds no text of its own (external content: the actor table) and no
positions (detail=none): FTS5 narrows a search to the rows holding every trigram of the part
typed and checks each against the name. Triggers keep it right when a name is corrected or
a row deleted; INSERTs are indexed here, one statement per batch, by the two services that
store registrations: FTS5 writes each statement as its own segment, so a trigger per
inserted row measured 70 µs a row against ~5-10 µs for a batch (bench/search_bench.py, README).
"""
from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from registry.actors.models import Actor

TABLE = "actor_name"
MIN_PART = 3  # trigrams: a shorter part is looked for by reading every name (the name_key index)


def _sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def index_new(session: Session, ids: Sequence[int]) -> None:
    """Index the names of registrations just inserted (SQLite; nothing to do on PostgreSQL)."""
    if not ids or not _sqlite(session):
        return
    low, high = min(ids), max(ids)
    if high - low + 1 == len(ids):  # a bulk insert's ids come in one run
        session.execute(text(f"INSERT INTO {TABLE}(rowid, name_key) SELECT id, name_key FROM actor WHERE id BETWEEN :low AND :high"),
                        {"low": low, "high": high})
        return
    session.execute(text(f"INSERT INTO {TABLE}(rowid, name_key) SELECT id, name_key FROM actor WHERE id = :id"),
                    [{"id": i} for i in ids])


def contains(session: Session, part: str) -> Any:
    """A condition on Actor: its name key contains `part` (already an identity_name key)."""
    if not _sqlite(session):
        escaped = part.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return Actor.name_key.like(f"%{escaped}%", escape="\\")
    if len(part) < MIN_PART or "%" in part or "_" in part:
        return func.instr(Actor.name_key, part) > 0  # read over the narrow name_key index
    matching = select(text("rowid")).select_from(text(TABLE)).where(text(f"{TABLE}.name_key LIKE :name_part")
                                                                   .bindparams(name_part=f"%{part}%"))
    return Actor.id.in_(matching)
