"""A registration's life after it is stored: corrections, changes of circumstances,
deactivation, reactivation and merging. Plain functions that flush and never commit; the
web forms (later) and the `actors` commands call them the same way.

The statistics rule: **counts mean "active as of the date"**. Each person is a timeline
of segments [start, end) with the values the tally counts them under (ActorSegment):

- a registration opens the first segment on `registered_on` (flow `arrived`);
- a *change of circumstances* effective D (moved commune, changed category or sector)
  closes the open segment on D (`moved_out`) and opens one with the new values
  (`moved_in`): figures before D stay as they were;
- a *correction* (the record was wrong) rewrites the field in the segments that held the
  wrong value, back to the last change of that field: figures are revised as if it had
  always been right. Gender, date of birth, channel and the registration date are only
  ever corrected;
- a deactivation as `consent_withdrawn`, `deceased`, `left` or `other` closes the open
  segment on its effective date (`left`); a reactivation opens a new one (`arrived`);
- a deactivation as `error` or `duplicate`, and a merge, remove every segment: the
  registration should never have counted.

Every operation takes the person's whole timeline out of the tally and puts the new one
in (`tally.adjust`, same transaction), so the counts are exact by construction; the actor
row is locked first (FOR UPDATE on PostgreSQL; SQLite runs one writer at a time), so two
changes of one person never both move the same counts. Each operation is written to the
history (`actor_change`: who, when, field, old -> new, reason, effective date) and to the
event log (no personal values there).

Scope: `by` is the acting staff account (None: the system). A province-limited account
acts only on registrations of its province; a change of circumstances that moves the
person out of the province is allowed to that province's staff (they are the ones who
know), after which the record is the other province's.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Mapping, Protocol, Sequence

from sqlalchemy import delete, insert, select, text, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry import clock
from registry.actors import fields
from registry.actors.identity import lock_identities, same_person
from registry.actors.models import (
    DEACTIVATION_REASONS,
    NEVER_COUNTED,
    Actor,
    ActorChange,
    ActorSegment,
)
from registry.actors.validation import DERIVED, FieldError, Registration, validate_registration
from registry.actors.visibility import may_see
from registry.database import is_unique_violation
from registry.events.services import record
from registry.i18n import N_
from registry.stats.tally import Fine, adjust, fine_key

# The segment's own values (what a change of circumstances may move); the others come
# from the actor row.
SEGMENT_FIELDS = ("commune_code", "category", "sector")
# Corrected only, never changed from a date.
CORRECTED_ONLY = ("gender", "date_of_birth", "registered_on")
MAX_TEXT = 500
# Who changes records (least privilege): outreach staff, who meet people and fix field
# sheets, and admins; the ministry reads figures. The web pages and the commands both ask this.
CHANGE_ROLES = ("outreach", "admin")
# Written as SQL text, not a bound parameter: SQLite uses a partial index only when the
# query's WHERE spells out the index's condition literally.
ACTIVE = text("actor.status = 'active'")


class Staff(Protocol):
    id: int
    province_code: str | None


class ChangeRefused(ValueError):
    """The change breaks a rule; `errors` name the fields (messages are msgids)."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = list(errors)


class ConflictingRegistration(Exception):
    """The change would make the person a duplicate of another active registration. The
    caller decides whether the staff member may see `registration_number` (its
    `province_code` says where it is); otherwise say only that a registration elsewhere
    conflicts."""

    def __init__(self, registration_number: str | None, province_code: str | None) -> None:
        super().__init__("conflicts with another registration")
        self.registration_number = registration_number
        self.province_code = province_code


class OutOfScope(PermissionError):
    """A province-limited account acting on a registration of another province."""

    def __init__(self, registration_number: str) -> None:
        super().__init__(f"registration {registration_number} is outside your province")
        self.registration_number = registration_number


@dataclass(frozen=True)
class Segment:
    start: date
    end: date | None
    commune_code: str
    category: str
    sector: str
    in_flow: str = "arrived"
    out_flow: str | None = None


# --------------------------------------------------------------------------- timelines
def timeline(session: Session, actor: Actor) -> list[Segment]:
    """The person's segments, oldest first (see the module's docstring)."""
    rows = session.scalars(select(ActorSegment).where(ActorSegment.actor_id == actor.id)
                           .order_by(ActorSegment.start, ActorSegment.id)).all()
    if rows:
        return [Segment(r.start, r.end_on, r.commune_code, r.category, r.sector, r.in_flow, r.out_flow) for r in rows]
    if actor.status == "active":
        return [Segment(actor.registered_on, None, actor.commune_code, actor.category, actor.sector)]
    return []


def entries(segments: Sequence[Segment], gender: str, date_of_birth: date, channel: str) -> Counter[tuple[str, Fine]]:
    """What a timeline adds to the tally: each segment in on its start, out on its end
    (age band: the age on the segment's start, kept when it ends)."""
    out: Counter[tuple[str, Fine]] = Counter()
    for s in segments:
        out[(s.in_flow, fine_key(s.start, s.commune_code, s.category, gender, s.sector, channel, date_of_birth))] += 1
        if s.end is not None:
            out[(s.out_flow or "left", fine_key(s.end, s.commune_code, s.category, gender, s.sector, channel,
                                                date_of_birth, s.start))] += 1
    return out


def _replace_timeline(session: Session, actor: Actor, before: Counter[tuple[str, Fine]], segments: list[Segment]) -> None:
    """Store `segments` as the actor's timeline and move the tally from `before` to them."""
    after = entries(segments, actor.gender, actor.date_of_birth, actor.channel)
    delta: Counter[tuple[str, Fine]] = Counter(after)
    for key, n in before.items():
        delta[key] -= n
    adjust(session, {k: n for k, n in delta.items() if n})
    # Core statements, not ORM units of work: a change costs about what a registration does.
    session.execute(delete(ActorSegment).where(ActorSegment.actor_id == actor.id))
    if segments:
        session.execute(insert(ActorSegment), [
            {"actor_id": actor.id, "start": s.start, "end_on": s.end, "commune_code": s.commune_code,
             "category": s.category, "sector": s.sector, "in_flow": s.in_flow, "out_flow": s.out_flow} for s in segments])


def _current_entries(session: Session, actor: Actor) -> tuple[list[Segment], Counter[tuple[str, Fine]]]:
    segments = timeline(session, actor)
    return segments, entries(segments, actor.gender, actor.date_of_birth, actor.channel)


# --------------------------------------------------------------------------- checks
def lock(session: Session, actor: Actor) -> Actor:
    """The actor row, locked until commit and read afresh (a concurrent change committed
    first is seen, never overwritten); refused when it was erased."""
    locked = session.get(Actor, actor.id, with_for_update=True, populate_existing=True)
    assert locked is not None
    refuse_erased(locked)
    return locked


ERASED = N_("This registration was erased after consent was withdrawn: it cannot be changed. A person who comes back registers again.")


def refuse_erased(actor: Actor, field: str = "status") -> None:
    if actor.erased_at is not None:  # registry.actors.erasure: nothing left to change
        raise ChangeRefused([FieldError(field, ERASED)])


def check_scope(by: Staff | None, *actors: Actor) -> None:
    for actor in actors:
        if not may_see(by, actor):
            raise OutOfScope(actor.registration_number)


def _reason(reason: str | None, field: str = "reason") -> str:
    text = (reason or "").strip()
    if not text:
        raise ChangeRefused([FieldError(field, N_("Required. Say why the registration is changed."))])
    if len(text) > MAX_TEXT:
        raise ChangeRefused([FieldError(field, N_("Must be at most %(max)s characters (now %(length)s)."),
                                        {"max": MAX_TEXT, "length": len(text)})])
    return text


def _effective(day: date | None, actor: Actor, today: date, *, not_before: date | None = None,
               strictly_after: bool = False) -> date:
    if day is None:
        raise ChangeRefused([FieldError("effective", N_("Required. Give the date the change takes effect."))])
    if day > today:
        raise ChangeRefused([FieldError("effective", N_("Cannot be in the future. Use today's date or an earlier one."))])
    if day < actor.registered_on:
        raise ChangeRefused([FieldError("effective", N_("Cannot be before the registration (%(date)s)."),
                                        {"date": actor.registered_on.isoformat()})])
    if not_before is not None and (day <= not_before if strictly_after else day < not_before):
        message = (N_("Must be after %(date)s, when the current situation began; to fix the record from the start, make a correction instead.")
                   if strictly_after else N_("Cannot be before %(date)s, the last change of this registration."))
        raise ChangeRefused([FieldError("effective", message, {"date": not_before.isoformat()})])
    return day


def as_raw(actor: Actor) -> dict[str, Any]:
    """The stored record as the validation core reads a form (change requests build theirs on it)."""
    return {
        "category": actor.category, "full_name": actor.full_name, "gender": actor.gender,
        "date_of_birth": actor.date_of_birth.isoformat(), "national_id": actor.national_id or "",
        "phone": actor.phone, "province": actor.province_code, "district": actor.district_code,
        "commune": actor.commune_code, "sector": actor.sector, "business_name": actor.business_name or "",
        "workers": "" if actor.workers is None else str(actor.workers), "registered_on": actor.registered_on.isoformat(),
    }


def _conflict(session: Session, actor: Actor, reg: Registration) -> Actor | None:
    """Another ACTIVE registration that `reg` would be the same person as (the identity
    rule; one query per partial index, each spelling out its condition)."""
    probes = [select(Actor.id).where(Actor.category == reg.category, Actor.phone == reg.phone, ACTIVE,
                                     condition, Actor.id != actor.id)
              for condition in (Actor.national_id.is_(None), Actor.national_id.is_not(None))]
    if reg.national_id:
        probes.append(select(Actor.id).where(Actor.category == reg.category, Actor.national_id == reg.national_id,
                                             Actor.national_id.is_not(None), ACTIVE, Actor.id != actor.id))
    # One statement: each probe still uses its own partial index.
    candidates = session.scalars(select(Actor).where(Actor.id.in_(union_all(*probes))).order_by(Actor.id))
    return next((other for other in candidates if same_person(reg, other)), None)


def _flush_identity(session: Session) -> None:
    """Flush; a concurrent registration of the same person (unique indexes) is a conflict.

    On SQLite every write transaction holds the write lock from its start (BEGIN IMMEDIATE,
    registry.database), so nobody can have written since `_conflict` looked: no savepoint
    is needed (it cost a fifth of a category correction). A violation there can only be a
    bug, and still ends as a conflict the caller rolls back."""
    try:
        if session.get_bind().dialect.name == "sqlite":
            session.flush()
        else:
            with session.begin_nested():
                session.flush()
    except IntegrityError as error:
        if not is_unique_violation(error):
            raise
        raise ConflictingRegistration(None, None) from None


def _history(session: Session, actor: Actor, by: Staff | None, via: str, now: datetime, kind: str, reason: str,
             changes: Sequence[tuple[str | None, object, object]], effective: date | None = None,
             other: Actor | None = None) -> None:
    session.execute(insert(ActorChange), [
        {"actor_id": actor.id, "at": now, "staff_user_id": by.id if by else None, "via": via, "kind": kind,
         "field": name, "old": _text(old), "new": _text(new), "reason": reason, "effective": effective,
         "other_actor_id": other.id if other else None} for name, old, new in changes])


def _text(value: object) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, date) else str(value)


def _event(session: Session, kind: str, actor: Actor, by: Staff | None, via: str, now: datetime, **detail: Any) -> None:
    """The event log's line: what happened to which registration, never its values."""
    record(session, kind, now=now, by_id=by.id if by else None, subject=f"actor {actor.id}",
           detail={"via": via, **{k: v for k, v in detail.items() if v is not None}})


# --------------------------------------------------------------------------- operations
def correct(session: Session, actor: Actor, values: Mapping[str, Any], reason: str, by: Staff | None, *,
            effective: date | None = None, via: str = "web", now: datetime | None = None) -> list[str]:
    """Set `values` (field name -> text as a form would send it) through the validation
    core and the identity rule. Without `effective`: a correction (figures revised as if
    always right). With it: a change of circumstances from that date (figures before it
    stay). Returns the stored fields that changed."""
    now = now or clock.now()
    today = clock.local_date(now)
    actor = lock(session, actor)
    check_scope(by, actor)
    reason = _reason(reason)
    if actor.status == "merged":
        raise ChangeRefused([FieldError("status", N_("This registration was merged into another. Change the other one."))])
    unknown = [name for name in values if name not in fields.NAMES]
    if unknown:
        raise ChangeRefused([FieldError(name, N_("“%(value)s” is not a field that can be changed. Use one of: %(choices)s."),
                                        {"value": name[:40], "choices": ", ".join(fields.NAMES)}) for name in unknown])
    raw = as_raw(actor)
    raw.update(values)
    # A commune (or district) code alone names its district and province too.
    for name, parents in (("commune", ("district", "province")), ("district", ("province",))):
        code = str(values.get(name, "")).strip()
        if code.isdigit() and not any(p in values for p in parents):
            for parent, width in zip(parents, (len(code) - 2, len(code) - 4)):
                raw[parent] = code[:width]
            break
    reg, errors = validate_registration(raw, today=today)
    if reg is None:
        raise ChangeRefused(errors)
    changed = [name for name in Registration._fields if name not in DERIVED and getattr(reg, name) != getattr(actor, name)]
    if not changed:
        raise ChangeRefused([FieldError("values", N_("Nothing would change: the record already holds these values."))])
    segments, before = _current_entries(session, actor)
    unchanged = list(segments)
    if effective is not None:
        fixed = [name for name in changed if name in CORRECTED_ONLY]
        if fixed:
            raise ChangeRefused([FieldError(name, N_("This is corrected, never changed from a date. Leave out the effective date."))
                                 for name in fixed])
        if actor.status != "active":
            raise ChangeRefused([FieldError("effective", N_("The registration is not active. Reactivate it first, or correct it without an effective date."))])
        moves = any(getattr(reg, f) != getattr(actor, f) for f in SEGMENT_FIELDS)
        _effective(effective, actor, today, not_before=segments[-1].start if moves else None, strictly_after=True)
        if moves:
            last = segments[-1]
            segments[-1] = replace(last, end=effective, out_flow="moved_out")
            segments.append(Segment(effective, None, reg.commune_code, reg.category, reg.sector, "moved_in"))
    else:
        segments = _corrected(segments, actor, reg)
    if actor.status == "active" and any(getattr(reg, f) != getattr(actor, f)
                                        for f in ("category", "national_id", "phone", "date_of_birth", "name_key")):
        lock_identities(session, [reg])
        other = _conflict(session, actor, reg)
        if other is not None:
            raise ConflictingRegistration(other.registration_number, other.province_code)
    old = {name: getattr(actor, name) for name in changed}
    for name in Registration._fields:
        setattr(actor, name, getattr(reg, name))
    if actor.status == "active" and any(name in changed for name in ("category", "national_id", "phone", "date_of_birth", "full_name")):
        _flush_identity(session)  # a race the look-up could not see ends as a conflict, not an error
    if segments != unchanged or any(name in changed for name in ("gender", "date_of_birth")):
        _replace_timeline(session, actor, before, segments)  # else (a phone, a name…) the counts do not move
    kind = "change" if effective is not None else "correction"
    _history(session, actor, by, via, now, kind, reason, [(name, old[name], getattr(reg, name)) for name in changed], effective)
    _event(session, "actor_changed" if effective is not None else "actor_corrected", actor, by, via, now,
           fields=changed, effective=effective.isoformat() if effective else None)
    return changed


def _corrected(segments: list[Segment], actor: Actor, reg: Registration) -> list[Segment]:
    """The timeline as if the record had always been right: each segment field rewritten
    back to the last change of that field; the first segment starts on the corrected
    registration date."""
    out = list(segments)
    for name in SEGMENT_FIELDS:
        old, new = getattr(actor, name), getattr(reg, name)
        if old == new:
            continue
        for i in range(len(out) - 1, -1, -1):
            if getattr(out[i], name) != old:
                break
            out[i] = replace(out[i], **{name: new})
    if reg.registered_on != actor.registered_on and out and out[0].in_flow == "arrived" and out[0].start == actor.registered_on:
        limit = out[0].end if out[0].end is not None else (out[1].start if len(out) > 1 else None)
        if limit is not None and reg.registered_on > limit:
            raise ChangeRefused([FieldError("registered_on", N_("Must be on or before %(date)s, the registration's next change."),
                                            {"date": limit.isoformat()})])
        out[0] = replace(out[0], start=reg.registered_on)
    return out


def deactivate(session: Session, actor: Actor, reason_code: str, effective: date | None, by: Staff | None, *,
               note: str | None = None, via: str = "web", now: datetime | None = None) -> None:
    """Take the registration out of the active registry from `effective` (its figures up to
    then stay), or, for `error` and `duplicate`, from the start (figures revised)."""
    now = now or clock.now()
    actor = lock(session, actor)
    check_scope(by, actor)
    if reason_code not in DEACTIVATION_REASONS:
        raise ChangeRefused([FieldError("reason", N_("“%(value)s” is not a reason. Use one of: %(choices)s."),
                                        {"value": str(reason_code)[:30], "choices": ", ".join(DEACTIVATION_REASONS)})])
    note = (note or "").strip() or None
    if reason_code == "other" and note is None:
        raise ChangeRefused([FieldError("note", N_("Required when the reason is “other”: say what happened."))])
    if note is not None:
        note = _reason(note, "note")
    if actor.status != "active":
        raise ChangeRefused([FieldError("status", N_("The registration is not active (now: %(status)s)."), {"status": actor.status})])
    segments, before = _current_entries(session, actor)
    day = _effective(effective, actor, clock.local_date(now), not_before=segments[-1].start if segments else None)
    if reason_code in NEVER_COUNTED:
        segments = []
    else:
        segments[-1] = replace(segments[-1], end=day, out_flow="left")
    actor.status, actor.status_reason, actor.status_note, actor.status_effective = "deactivated", reason_code, note, day
    session.flush()
    _replace_timeline(session, actor, before, segments)
    _history(session, actor, by, via, now, "deactivation", reason_code + (f": {note}" if note else ""),
             [("status", "active", "deactivated")], day)
    _event(session, "actor_deactivated", actor, by, via, now, reason=reason_code, effective=day.isoformat())


def reactivate(session: Session, actor: Actor, reason: str, by: Staff | None, *, effective: date | None = None,
               via: str = "web", now: datetime | None = None) -> None:
    """Bring a deactivated registration back from `effective` (default today): the person
    keeps their number. Refused when another active registration is now the same person."""
    now = now or clock.now()
    actor = lock(session, actor)
    check_scope(by, actor)
    reason = _reason(reason)
    if actor.status != "deactivated":
        raise ChangeRefused([FieldError("status", N_("Only a deactivated registration can be reactivated (now: %(status)s)."),
                                        {"status": actor.status})])
    segments, before = _current_entries(session, actor)
    last_end = segments[-1].end if segments else None
    day = _effective(effective or clock.local_date(now), actor, clock.local_date(now), not_before=last_end)
    reg = Registration._make(getattr(actor, name) for name in Registration._fields)
    lock_identities(session, [reg])
    other = _conflict(session, actor, reg)
    if other is not None:
        raise ConflictingRegistration(other.registration_number, other.province_code)
    segments.append(Segment(day, None, actor.commune_code, actor.category, actor.sector, "arrived"))
    old_reason = actor.status_reason
    actor.status, actor.status_reason, actor.status_note, actor.status_effective = "active", None, None, None
    _flush_identity(session)
    _replace_timeline(session, actor, before, segments)
    _history(session, actor, by, via, now, "reactivation", reason, [("status", f"deactivated ({old_reason})", "active")], day)
    _event(session, "actor_reactivated", actor, by, via, now, effective=day.isoformat())


def check_merge(keep: Actor, duplicate: Actor, reason: str, by: Staff | None) -> str:
    """The merge's rules, changing nothing (the staff page asks them before its confirmation
    step; `merge` asks them again on the locked rows). Returns the reason as stored."""
    if keep.id == duplicate.id:
        raise ChangeRefused([FieldError("duplicate", N_("A registration cannot be merged into itself."))])
    check_scope(by, keep, duplicate)
    refuse_erased(keep, "keep")
    refuse_erased(duplicate, "duplicate")
    reason = _reason(reason)
    if keep.status != "active":
        raise ChangeRefused([FieldError("keep", N_("The registration to keep must be active (now: %(status)s)."), {"status": keep.status})])
    if duplicate.status == "merged":
        raise ChangeRefused([FieldError("duplicate", N_("This registration is already merged into another."))])
    if keep.category != duplicate.category:
        raise ChangeRefused([FieldError("duplicate", N_("The two registrations are in different categories. Correct the category first if it is wrong."))])
    return reason


def merge(session: Session, keep: Actor, duplicate: Actor, reason: str, by: Staff | None, *,
          via: str = "web", now: datetime | None = None) -> None:
    """`duplicate` is the same person as `keep`: it stops counting from the start (figures
    revised) and its number resolves to `keep` from now on."""
    now = now or clock.now()
    if keep.id == duplicate.id:
        raise ChangeRefused([FieldError("duplicate", N_("A registration cannot be merged into itself."))])
    first, second = sorted((keep, duplicate), key=lambda a: a.id)  # locks in id order: no deadlock
    first, second = lock(session, first), lock(session, second)
    keep, duplicate = (first, second) if first.id == keep.id else (second, first)
    reason = check_merge(keep, duplicate, reason, by)
    _segments, before = _current_entries(session, duplicate)
    old_status = duplicate.status
    duplicate.status, duplicate.status_reason, duplicate.status_note = "merged", None, None
    duplicate.status_effective, duplicate.merged_into_id = clock.local_date(now), keep.id
    session.flush()
    _replace_timeline(session, duplicate, before, [])
    _history(session, duplicate, by, via, now, "merge", reason, [("status", old_status, "merged")], other=keep)
    _history(session, keep, by, via, now, "merge", reason, [("merged_from", None, duplicate.registration_number)], other=duplicate)
    _event(session, "actor_merged", duplicate, by, via, now, into=f"actor {keep.id}")
