"""Which figures of a period were revised after people could have read them, and why.

Counts mean "active as of the date" (registry.actors.lifecycle), so most changes leave
every earlier figure as it was: a change of circumstances or a deactivation for
`consent_withdrawn`, `deceased`, `left` or `other` counts from its effective date. Three
kinds of change rewrite the past instead, because they say the record was wrong:

- a *correction* of a field the statistics count (category, area, gender, sector, date of
  birth, registration date, channel);
- a deactivation as `error` (registered in error) or `duplicate`;
- a *merge* (the merged registration never counted).

A registration counted from day R and revised at moment T changed the figures of the days
from R on, figures anyone could have read since R. So the figures of a period
[start, end] were revised by every such change made on or after the period's start to a
registration counted on or before its end (for a registration-date correction, the earlier
of the old and the new date). The dashboard says so beside the figures, with the reasons
and the date of the latest revision; the public page says only that and when (revision
counts in a small area could point at people).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from typing import Sequence

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.orm import Session

from registry import clock
from registry.actors.models import NEVER_COUNTED, Actor, ActorChange
from registry.i18n import N_

# The fields a correction of which moves counts (the tally's dimensions, the area at every
# level, and the two dates the age band and the arrival day come from).
COUNTED_FIELDS = ("category", "gender", "sector", "channel", "date_of_birth", "registered_on",
                  "province_code", "district_code", "commune_code")

# Why, in the words the dashboard uses (msgids).
REASONS = {
    "correction": N_("records corrected (the record was wrong: category, area, gender, sector, date of birth, registration date or channel)"),
    "error": N_("registrations deactivated as registered in error"),
    "duplicate": N_("registrations deactivated as duplicates"),
    "merge": N_("registrations merged into another (counted once from the start)"),
}


@dataclass(frozen=True)
class Revision:
    reason: str  # a key of REASONS
    registrations: int  # how many registrations were revised for this reason
    last: date  # the day of the latest such revision (Cambodia)


def _start_of(day: date) -> datetime:
    """Midnight in Cambodia, in UTC as the history stores its moments."""
    return datetime.combine(day, time.min, tzinfo=clock.CAMBODIA).astimezone(timezone.utc)


def revisions(session: Session, start: date, end: date, area: str = "") -> list[Revision]:
    """How the figures of the days `start`…`end` of `area` (a province, district or commune
    code; "" for the country) were revised since they could first be read; empty when they
    were not. The area is the registration's present one."""
    counted_by_then = or_(
        Actor.registered_on <= end,
        and_(ActorChange.field == "registered_on", ActorChange.old <= end.isoformat()),
    )
    never_counted = {code: or_(ActorChange.reason == code, ActorChange.reason.startswith(code + ": "))
                     for code in NEVER_COUNTED}
    why = case(*[(and_(ActorChange.kind == "deactivation", test), literal(code)) for code, test in never_counted.items()],
               (ActorChange.kind == "merge", literal("merge")), else_=literal("correction"))
    changes = (
        select(why.label("why"), ActorChange.actor_id, ActorChange.at)
        .join(Actor, Actor.id == ActorChange.actor_id)
        .where(
            ActorChange.at >= _start_of(start),
            counted_by_then,
            or_(
                and_(ActorChange.kind == "correction", ActorChange.field.in_(COUNTED_FIELDS)),
                and_(ActorChange.kind == "deactivation", or_(*never_counted.values())),
                and_(ActorChange.kind == "merge", ActorChange.field == "status"),
            ),
        )
    )
    if area:
        changes = changes.where(Actor.commune_code.startswith(area))
    rows = changes.subquery()
    query = (select(rows.c.why, func.count(func.distinct(rows.c.actor_id)), func.max(rows.c.at))
             .group_by(rows.c.why))
    found = {name: (count, last) for name, count, last in session.execute(query)}
    return [Revision(name, found[name][0], clock.as_utc(found[name][1]).astimezone(clock.CAMBODIA).date())
            for name in REASONS if name in found]


def last_revised(found: Sequence[Revision]) -> date | None:
    return max((r.last for r in found), default=None)
