"""Finding one registration for a member of staff, with the province limit applied.

"Not found" and "outside your province" give the same answer (404 on the web, the same
words on the command line): a province-limited account learns nothing about registrations
it may not see, not even that the number exists.
"""
from __future__ import annotations

from typing import Protocol

from flask import abort
from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.actors.models import Actor
from registry.actors.numbers import normalise_number


class Viewer(Protocol):
    province_code: str | None


def may_see(viewer: Viewer | None, actor: Actor) -> bool:
    """None is the command line without --by: full scope."""
    return viewer is None or not viewer.province_code or actor.province_code == viewer.province_code


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


def actor_or_404(session: Session, typed: str, viewer: Viewer | None) -> Actor:
    actor = visible_actor(session, typed, viewer)
    if actor is None:
        abort(404)
    return actor
