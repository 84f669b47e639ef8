"""Operations on actors: plain functions that flush and never commit (the caller does)."""
from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from sqlalchemy import and_, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry.actors.models import Actor
from registry.actors.numbers import allocate_ids, registration_number
from registry.actors.validation import Registration
from registry.database import is_unique_violation


class DuplicateRegistration(Exception):
    """The person is already registered in that category."""

    def __init__(self, registration_number: str | None) -> None:
        super().__init__("already registered")
        self.registration_number = registration_number


def identity_clause(reg: Registration):  # type: ignore[no-untyped-def]
    """SQL condition matching the actors that `reg` would duplicate.

    Same category and either the same national ID, or the same phone, date of birth and
    normalised name where at least one of the two has no national ID.
    """
    contact = and_(
        Actor.phone == reg.phone,
        Actor.date_of_birth == reg.date_of_birth,
        Actor.name_key == reg.name_key,
    )
    if reg.national_id is None:
        same = contact
    else:
        same = or_(Actor.national_id == reg.national_id, and_(contact, Actor.national_id.is_(None)))
    return and_(Actor.category == reg.category, same)


def lock_identities(session: Session, registrations: list[Registration]) -> None:
    """On PostgreSQL, serialise writers of the same person until commit.

    The unique indexes decide most duplicates; this closes the one race they cannot see
    (one registration with a national ID, a concurrent one without). SQLite needs nothing:
    its write transactions already run one at a time.
    """
    if session.get_bind().dialect.name != "postgresql" or not registrations:
        return
    keys = sorted({f"{r.category}|{r.phone}|{r.date_of_birth}|{r.name_key}" for r in registrations})
    session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest(CAST(:keys AS text[])) AS k"),
        {"keys": keys},
    )


def find_duplicate(session: Session, reg: Registration) -> Actor | None:
    return session.scalars(select(Actor).where(identity_clause(reg)).limit(1)).first()


def register_actor(
    session: Session, reg: Registration, *, channel: str, consented_at: datetime, now: datetime
) -> Actor:
    """Store one registration; raise DuplicateRegistration if the person is already there."""
    lock_identities(session, [reg])
    existing = find_duplicate(session, reg)
    if existing is not None:
        raise DuplicateRegistration(existing.registration_number)
    (actor_id,) = allocate_ids(session, 1)
    actor = Actor(
        id=actor_id,
        registration_number=registration_number(actor_id),
        channel=channel,
        created_at=now,
        consented_at=consented_at,
        **asdict(reg),
    )
    try:
        with session.begin_nested():
            session.add(actor)
    except IntegrityError as error:
        if not is_unique_violation(error):
            raise
        # A concurrent registration of the same person won the race (unique indexes).
        raise DuplicateRegistration(None) from None
    return actor


def find_by_number_and_phone(session: Session, number: str, phone: str) -> Actor | None:
    """The actor with that registration number and phone, or None (same answer for both)."""
    return session.scalars(
        select(Actor).where(Actor.registration_number == number, Actor.phone == phone)
    ).first()
