"""Operations on actors: plain functions that flush and never commit (the caller does)."""
from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry.actors.identity import find_existing, lock_identities
from registry.actors.models import Actor
from registry.actors.numbers import allocate_ids, registration_number
from registry.actors.validation import Registration
from registry.database import is_unique_violation


class DuplicateRegistration(Exception):
    """The person is already registered in that category."""

    def __init__(self, registration_number: str | None) -> None:
        super().__init__("already registered")
        self.registration_number = registration_number


def register_actor(
    session: Session, reg: Registration, *, channel: str, consented_at: datetime, now: datetime
) -> Actor:
    """Store one registration; raise DuplicateRegistration if the person is already there."""
    lock_identities(session, [reg])
    existing = find_existing(session, [reg])[0]
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
