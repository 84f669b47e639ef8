"""Aggregate counts of registered actors."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry.actors import vocab
from registry.actors.models import Actor


def counts_by_category(session: Session, as_of: date | None = None) -> dict[str, int]:
    """Actors registered on or before `as_of` (all when None), per category, zeros included."""
    query = select(Actor.category, func.count()).group_by(Actor.category)
    if as_of is not None:
        query = query.where(Actor.registered_on <= as_of)
    counts = dict.fromkeys(vocab.CATEGORIES, 0)
    counts.update({category: n for category, n in session.execute(query)})
    return counts


def summary(session: Session, as_of: date | None = None) -> dict[str, object]:
    """The figures the `stats` command prints."""
    by_category = counts_by_category(session, as_of)
    return {
        "as_of": as_of.isoformat() if as_of else None,
        "total": sum(by_category.values()),
        "by_category": by_category,
    }
