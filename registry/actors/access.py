"""Staff pages reach one registration here: the visibility rule (registry.actors.visibility)
with the web's answer, 404, for "not found" and "outside your province" alike."""
from __future__ import annotations

from flask import abort
from sqlalchemy.orm import Session

from registry.actors.models import Actor
from registry.actors.visibility import Viewer, may_see, visible_actor

__all__ = ["actor_or_404", "may_see", "visible_actor"]


def actor_or_404(session: Session, typed: str, viewer: Viewer | None) -> Actor:
    actor = visible_actor(session, typed, viewer)
    if actor is None:
        abort(404)
    return actor
