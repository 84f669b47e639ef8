"""What the registry holds about one person, for the person who asks (issue 11 item 6): every
field with its label, the status, how the record arrived, its history, and which staff
viewed or changed it — without anybody else's data (staff appear by role, never by name or
e-mail; other people's values never appear). One plain dictionary: the JSON download is it
as it is, the PDF lays it out. `recorded` writes the export to the event log (flush only)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry import clock, vocab
from registry.actors.fields import LABELS
from registry.actors.labels import CHANGE_LABELS, FIELD_LABELS, REASON_LABELS, STATUS_LABELS, VIA_LABELS, shown
from registry.actors.models import Actor, ActorChange
from registry.actors.numbers import format_number
from registry.events.models import Event
from registry.events.services import KINDS, record
from registry.i18n import N_, translate
from registry.staff.models import ROLE_LABELS, StaffUser

FORMATS = ("json", "pdf")


def _iso(value: date | datetime | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return clock.as_utc(value).astimezone(clock.CAMBODIA).isoformat(timespec="seconds")
    return value.isoformat()


def _fields(actor: Actor, locale: str) -> list[dict[str, Any]]:
    """Every field: its label, the stored value, and the value as a person reads it."""
    values: list[tuple[str, Any]] = [
        ("category", actor.category), ("full_name", actor.full_name), ("gender", actor.gender),
        ("date_of_birth", actor.date_of_birth.isoformat()), ("national_id", actor.national_id), ("phone", actor.phone),
        ("province", actor.province_code), ("district", actor.district_code), ("commune", actor.commune_code),
        ("sector", actor.sector), ("business_name", actor.business_name), ("workers", actor.workers),
        ("registered_on", actor.registered_on.isoformat()),
    ]
    return [{"field": name, "label": translate(LABELS[name], locale), "value": value,
             "text": shown(name, None if value is None else str(value), locale)} for name, value in values]


def _who(user: StaffUser | None, via: str | None, locale: str) -> str:
    """A member of staff by role only (their name is not the person's data); else how."""
    if user is not None:
        return translate(N_("Staff: %(role)s"), locale, role=translate(ROLE_LABELS.get(user.role, user.role), locale))
    return translate(VIA_LABELS.get(via or "system", VIA_LABELS["system"]), locale)


def personal_record(session: Session, actor: Actor, locale: str, *, now: datetime | None = None) -> dict[str, Any]:
    """The whole record of `actor` in `locale` (labels and texts; stored values as they are)."""
    now = now or clock.now()

    def tr(message: str) -> str:
        return translate(message, locale)

    staff = {u.id: u for u in session.scalars(select(StaffUser).where(StaffUser.id.in_(
        select(ActorChange.staff_user_id).where(ActorChange.actor_id == actor.id).union(
            select(Event.staff_user_id).where(Event.subject == f"actor {actor.id}")))))}
    merged_into = session.get(Actor, actor.merged_into_id) if actor.merged_into_id else None
    history = [
        {"at": _iso(c.at), "by": _who(staff.get(c.staff_user_id) if c.staff_user_id else None, c.via, locale),
         "kind": c.kind, "what": tr(CHANGE_LABELS[c.kind]), "field": c.field,
         "field_label": tr(FIELD_LABELS[c.field]) if c.field in FIELD_LABELS else c.field,
         "old": c.old, "new": c.new, "reason": c.reason, "effective": _iso(c.effective)}
        for c in session.scalars(select(ActorChange).where(ActorChange.actor_id == actor.id).order_by(ActorChange.id))
    ]
    access = [
        {"at": _iso(e.at), "kind": e.kind, "what": tr(KINDS[e.kind]) if e.kind in KINDS else e.kind,
         "by": _who(staff.get(e.staff_user_id) if e.staff_user_id else None,
                    (e.detail or {}).get("via") if isinstance(e.detail, dict) else None, locale)}
        for e in session.scalars(select(Event).where(Event.subject == f"actor {actor.id}").order_by(Event.id))
    ]
    return {
        "registration_number": format_number(actor.registration_number),
        "exported_at": _iso(now),
        "language": locale,
        "fields": _fields(actor, locale),
        "status": {
            "status": actor.status, "text": tr(STATUS_LABELS[actor.status]),
            "reason": actor.status_reason, "reason_text": tr(REASON_LABELS[actor.status_reason]) if actor.status_reason else None,
            "note": actor.status_note, "effective": _iso(actor.status_effective),
            "merged_into": format_number(merged_into.registration_number) if merged_into else None,
            "erased_at": _iso(actor.erased_at),
        },
        "arrival": {
            "channel": actor.channel, "channel_text": tr(vocab.CHANNELS.label_of(actor.channel)),
            "registered_on": _iso(actor.registered_on), "stored_at": _iso(actor.created_at),
            "consented_at": _iso(actor.consented_at), "import_batch": actor.import_batch_id, "import_row": actor.source_row,
            "submission": actor.source_ref,  # the field tool's submission id, if imported from one
        },
        "history": history,
        "staff_access": access,
    }


def filename(actor: Actor, fmt: str) -> str:
    """record-0000-0012-34.json: the number only, never the person's name."""
    return f"record-{format_number(actor.registration_number)}.{fmt}"


def recorded(session: Session, actor: Actor, fmt: str, by_id: int | None, *, via: str, now: datetime,
             ip: str | None = None) -> None:
    """The export in the event log: which record, which format, how (no personal values)."""
    record(session, "personal_data_exported", now=now, by_id=by_id, ip=ip, subject=f"actor {actor.id}",
           detail={"format": fmt, "via": via})
