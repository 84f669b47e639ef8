"""Which registrations a member of staff may see: a province-limited account, its province's
only. One rule for every path (the web pages through registry.actors.access, the lifecycle's
operations, the commands), and "not found" and "outside your province" answer alike: a
province-limited account learns nothing about registrations it may not see, not even that
the number exists.
"""
from __future__ import annotations

from typing import Protocol

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import Session

from registry.actors.models import Actor
from registry.actors.numbers import normalise_number


class Viewer(Protocol):
    province_code: str | None


def may_see(viewer: Viewer | None, actor: Actor) -> bool:
    """None is the command line without --by, or the system: full scope."""
    return viewer is None or not viewer.province_code or actor.province_code == viewer.province_code


def visible_where(viewer: Viewer | None) -> ColumnElement[bool]:
    """`may_see` as a condition on Actor, for lists (a change request queue)."""
    if viewer is None or not viewer.province_code:
        return true()
    return Actor.province_code == viewer.province_code


def visible_actor(session: Session, typed: str, viewer: Viewer | None) -> Actor | None:
    """The registration numbered `typed` (with or without dashes; check digit verified)
    when it exists and `viewer` may see it; None otherwise."""
    number = normalise_number(typed)
    if number is None:
        return None
    actor = session.scalar(select(Actor).where(Actor.registration_number == number))
    if actor is None or not may_see(viewer, actor):
        return None
    return actor
