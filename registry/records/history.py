"""A registration's history as people read it: the `actor_change` rows, newest first, with
who made each change (an account's e-mail, or the command line / the system)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from registry.actors.models import Actor, ActorChange
from registry.staff.models import StaffUser


@dataclass(frozen=True)
class Entry:
    at: datetime
    by: str | None  # the account's e-mail; None for the command line or the system (see `via`)
    via: str
    kind: str
    field: str | None
    old: str | None
    new: str | None
    reason: str
    effective: date | None
    other_number: str | None  # a merge's other registration


def history(session: Session, actor: Actor) -> list[Entry]:
    other = aliased(Actor)
    rows = session.execute(
        select(ActorChange, StaffUser.email, other.registration_number)
        .outerjoin(StaffUser, StaffUser.id == ActorChange.staff_user_id)
        .outerjoin(other, other.id == ActorChange.other_actor_id)
        .where(ActorChange.actor_id == actor.id)
        .order_by(ActorChange.id.desc())
    )
    return [Entry(at=change.at, by=email, via=change.via, kind=change.kind, field=change.field, old=change.old,
                  new=change.new, reason=change.reason, effective=change.effective, other_number=number)
            for change, email, number in rows]
