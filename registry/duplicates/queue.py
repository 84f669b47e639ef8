"""What a member of staff's queue holds, a page at a time (keyset paging: pending first, then
deferred, each by score, highest first). Province rule: a pair whose two registrations are in
one province goes to that province's staff (and national outreach staff); a pair that spans
provinces (province_code NULL) to admins only. Only pairs whose two registrations are still
active are listed (the others are closed when a page or the scan meets them)."""
from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import and_, case, or_, select
from sqlalchemy.orm import Session, aliased

from registry.actors.models import Actor
from registry.duplicates.models import DuplicatePair

PAGE_SIZE = 50
_RANK = case((DuplicatePair.status == "pending", 0), else_=1)


class Cursor(NamedTuple):
    """The last pair of a page: (0 pending / 1 deferred, score, id)."""
    rank: int
    score: int
    id: int

    def text(self) -> str:
        return f"{self.rank}-{self.score}-{self.id}"

    @classmethod
    def parse(cls, text: str | None) -> "Cursor | None":
        parts = (text or "").split("-")
        if len(parts) != 3 or not all(p.isdigit() and len(p) <= 12 for p in parts):
            return None
        return cls(*(int(p) for p in parts))


class Entry(NamedTuple):
    pair: DuplicatePair
    first: Actor
    second: Actor


class Page(NamedTuple):
    entries: list[Entry]
    next_after: str | None


def in_scope(role: str, province_code: str | None):  # type: ignore[no-untyped-def]
    """The condition on DuplicatePair for a member of staff (see the module's rule)."""
    if role == "admin":
        return DuplicatePair.id.is_not(None)
    if province_code:
        return DuplicatePair.province_code == province_code
    return DuplicatePair.province_code.is_not(None)


def page(session: Session, role: str, province_code: str | None, after: Cursor | None) -> Page:
    first, second = aliased(Actor), aliased(Actor)
    query = (select(DuplicatePair, first, second)
             .join(first, first.id == DuplicatePair.first_actor_id)
             .join(second, second.id == DuplicatePair.second_actor_id)
             .where(DuplicatePair.status.in_(("pending", "deferred")), in_scope(role, province_code),
                    first.status == "active", second.status == "active")
             .order_by(_RANK, DuplicatePair.score.desc(), DuplicatePair.id).limit(PAGE_SIZE + 1))
    if after is not None:
        query = query.where(or_(_RANK > after.rank,
                                and_(_RANK == after.rank, DuplicatePair.score < after.score),
                                and_(_RANK == after.rank, DuplicatePair.score == after.score, DuplicatePair.id > after.id)))
    rows = [Entry(*row) for row in session.execute(query)]
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    last = rows[-1].pair if rows else None
    cursor = Cursor(0 if last.status == "pending" else 1, last.score, last.id).text() if more and last else None
    return Page(rows, cursor)


def may_review(role: str, province_code: str | None, first: Actor, second: Actor) -> bool:
    """The same rule for one pair, on the two registrations as they are now (a person may
    have moved since the pair was found)."""
    if role == "admin":
        return True
    if role != "outreach" or first.province_code != second.province_code:
        return False
    return not province_code or first.province_code == province_code
