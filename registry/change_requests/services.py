"""Change requests: checked when the worker sends one, applied through the lifecycle when staff
approve it. Plain functions that flush and never commit (the views commit).

- Sending: the requested values replace the stored ones in the whole record, which goes
  through the validation core (the worker sees field errors at once); only the fields that
  would change are kept, in stored form. The identity rule is NOT asked then: telling a
  worker "this phone is someone else's" would say that someone is registered with it. It is
  asked at approval, by `lifecycle.correct`, on the record as it is then.
- One pending request per registration: a new one cancels the one before (the worker's
  latest word counts; a worker who made a mistake just sends the request again).
- Approval: a *change of circumstances* from the approval day (the person moved, got a new
  phone, changed trade: figures before stay as they were), with the request as its reason.
  A registration made the same day has no "before": it is corrected instead. A withdrawal of
  consent deactivates the registration as `consent_withdrawn` from that day.
"""
from __future__ import annotations

from registry import clock

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Mapping, Protocol

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from registry.actors import lifecycle
from registry.actors.lifecycle import ChangeRefused
from registry.actors.models import Actor, ActorChange
from registry.actors.validation import FieldError, validate_registration
from registry.actors.visibility import may_see, visible_where
from registry.change_requests.models import FIELDS, KINDS, MAX_REASON, ChangeRequest
from registry.events.services import record
from registry.i18n import N_

AREA = ("province", "district", "commune")
# Form name -> the actor's column.
STORED = {"phone": "phone", "province": "province_code", "district": "district_code", "commune": "commune_code",
          "sector": "sector", "business_name": "business_name", "workers": "workers"}
PAGE_SIZE = 50
NOT_ACTIVE = N_("This registration is not active: changes cannot be asked for. Ask your local department or an outreach officer.")


class Staff(Protocol):
    id: int
    province_code: str | None


class AlreadyDecided(Exception):
    """The request was approved, rejected or replaced meanwhile (HTTP 409)."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


def requested_values(actor: Actor, values: Mapping[str, Any], today: date) -> dict[str, str]:
    """The fields of `values` that would change the record, in stored form (area: all three
    parts when any changes); ChangeRefused with every field error otherwise."""
    unknown = [name for name in values if name not in FIELDS]
    if unknown:
        raise ChangeRefused([FieldError(name, N_("This cannot be changed here.")) for name in unknown])
    raw = lifecycle.as_raw(actor)
    raw.update(values)
    reg, errors = validate_registration(raw, today=today)
    if reg is None:
        raise ChangeRefused(errors)
    changed = {name: getattr(reg, column) for name, column in STORED.items() if getattr(reg, column) != getattr(actor, column)}
    if any(name in changed for name in AREA):
        changed.update({name: getattr(reg, STORED[name]) for name in AREA})
    if not changed:
        raise ChangeRefused([FieldError("values", N_("Nothing would change: the record already holds these values."))])
    return {name: "" if value is None else str(value) for name, value in changed.items()}


def submit(session: Session, actor: Actor, kind: str, values: Mapping[str, Any], *, now: datetime) -> ChangeRequest:
    """Store the worker's request (cancelling a pending one) and log it, without its values."""
    actor = session.get(Actor, actor.id, with_for_update=True, populate_existing=True)  # type: ignore[assignment]
    lifecycle.refuse_erased(actor)
    if actor.status != "active":
        raise ChangeRefused([FieldError("status", NOT_ACTIVE)])
    if kind not in KINDS:
        raise ChangeRefused([FieldError("kind", N_("Choose what to ask for."))])
    requested = requested_values(actor, values, clock.local_date(now)) if kind == "change" else None
    replaced = session.scalar(select(ChangeRequest.id).where(ChangeRequest.actor_id == actor.id,
                                                             ChangeRequest.status == "pending"))
    if replaced is not None:
        session.execute(update(ChangeRequest).where(ChangeRequest.id == replaced)
                        .values(status="cancelled", decided_at=now))
        session.flush()
    request = ChangeRequest(actor_id=actor.id, kind=kind, requested=requested, status="pending",
                            province_code=actor.province_code, created_at=now)
    session.add(request)
    session.flush()
    record(session, "change_request_submitted", now=now, subject=f"actor {actor.id}",
           detail={"via": "web", "request": request.id, "kind": kind, "fields": sorted(requested or ()),
                   **({"replaces": replaced} if replaced is not None else {})})
    return request


def reason_for(request: ChangeRequest) -> str:
    """What the history says (stored text, as a reason typed by staff is)."""
    return f"Change request {request.id} from the person"


def approve(session: Session, request: ChangeRequest, by: Staff | None, *, now: datetime) -> None:
    """Apply the request through the lifecycle (validation and identity rule again, on the
    record as it is now); lifecycle.ChangeRefused / ConflictingRegistration / OutOfScope
    come through unchanged, and nothing is stored then."""
    actor, request = _locked(session, request)
    lifecycle.check_scope(by, actor)
    if actor.status != "active":
        raise ChangeRefused([FieldError("status", N_("The registration is no longer active: reject the request and say why."))])
    before = session.scalar(select(func.max(ActorChange.id)).where(ActorChange.actor_id == actor.id)) or 0
    today = clock.local_date(now)
    if request.kind == "withdraw_consent":
        lifecycle.deactivate(session, actor, "consent_withdrawn", today, by, note=reason_for(request), now=now)
        fields: list[str] = []
    else:
        segments = lifecycle.timeline(session, actor)
        registered_today = len(segments) == 1 and segments[0].start >= today
        fields = lifecycle.correct(session, actor, dict(request.requested or {}), reason_for(request), by,
                                   effective=None if registered_today else today, now=now)
    request.status, request.decided_at, request.decided_by_id = "approved", now, by.id if by else None
    request.actor_change_id = session.scalar(select(func.min(ActorChange.id)).where(
        ActorChange.actor_id == actor.id, ActorChange.id > before))
    session.flush()
    record(session, "change_request_approved", now=now, by_id=by.id if by else None, subject=f"actor {actor.id}",
           detail={"via": "web", "request": request.id, "kind": request.kind, "fields": fields})


def reject(session: Session, request: ChangeRequest, reason: str, by: Staff | None, *, now: datetime) -> None:
    """Refuse the request; `reason` is shown to the worker at their next status look-up."""
    text = (reason or "").strip()
    if not text:
        raise ChangeRefused([FieldError("reason", N_("Required. Say why, in words the person understands: they will read it."))])
    if len(text) > MAX_REASON:
        raise ChangeRefused([FieldError("reason", N_("Must be at most %(max)s characters (now %(length)s)."),
                                        {"max": MAX_REASON, "length": len(text)})])
    actor, request = _locked(session, request)
    lifecycle.check_scope(by, actor)
    request.status, request.decided_at, request.decided_by_id = "rejected", now, by.id if by else None
    request.decision_reason = text
    session.flush()
    record(session, "change_request_rejected", now=now, by_id=by.id if by else None, subject=f"actor {actor.id}",
           detail={"via": "web", "request": request.id, "kind": request.kind})


def _locked(session: Session, request: ChangeRequest) -> tuple[Actor, ChangeRequest]:
    """The registration, then the request, locked and read afresh (the order `submit` locks
    in: no deadlock); AlreadyDecided unless the request is still pending."""
    actor = session.get(Actor, request.actor_id, with_for_update=True, populate_existing=True)
    locked = session.get(ChangeRequest, request.id, with_for_update=True, populate_existing=True)
    assert actor is not None and locked is not None
    if locked.status != "pending":
        raise AlreadyDecided(locked.status)
    return actor, locked


# --------------------------------------------------------------------------- reading
def latest(session: Session, actor_id: int) -> ChangeRequest | None:
    """The person's latest request that was not replaced by another."""
    return session.scalar(select(ChangeRequest).where(ChangeRequest.actor_id == actor_id,
                                                      ChangeRequest.status != "cancelled")
                          .order_by(ChangeRequest.id.desc()).limit(1))


@dataclass(frozen=True)
class Page:
    rows: list[tuple[ChangeRequest, Actor]]
    next_after: int | None  # the `after` of the next page; None on the last one
    total: int


def pending(session: Session, viewer: Staff | None, after: int | None = None, size: int = PAGE_SIZE) -> Page:
    """Pending requests of people `viewer` may see, oldest first, `size` after the id `after`."""
    visible = (ChangeRequest.status == "pending", visible_where(viewer))
    query = (select(ChangeRequest, Actor).join(Actor, Actor.id == ChangeRequest.actor_id).where(*visible)
             .order_by(ChangeRequest.id).limit(size + 1))
    if after is not None:
        query = query.where(ChangeRequest.id > after)
    rows = [(r, a) for r, a in session.execute(query)]
    total = session.scalar(select(func.count()).select_from(ChangeRequest)
                           .join(Actor, Actor.id == ChangeRequest.actor_id).where(*visible)) or 0
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, rows[-1][0].id if more else None, total)


def visible_request(session: Session, request_id: int, viewer: Staff | None) -> tuple[ChangeRequest, Actor] | None:
    """The request and its registration when `viewer` may see the registration; None otherwise."""
    request = session.get(ChangeRequest, request_id)
    if request is None:
        return None
    actor = session.get(Actor, request.actor_id)
    if actor is None or not may_see(viewer, actor):
        return None
    return request, actor
