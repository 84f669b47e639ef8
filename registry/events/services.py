"""Recording events (flush only) and reading them (admins). Later features add kinds here.

Every event is also one log line, which carries the kind, the account's id and the subject
only: never a name, phone, national ID, e-mail address or password (those may sit in the
table's `detail`, which only admins read).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Iterator

from sqlalchemy import Row, Select, select
from sqlalchemy.orm import Session

from registry.events.models import Event
from registry.i18n import N_

log = logging.getLogger("registry.events")

# Every kind of event, with the words an admin reads. Append new kinds; never rename one.
KINDS: dict[str, str] = {
    "sign_in": N_("Signed in"),
    "sign_in_failed": N_("Sign-in refused"),
    "sign_out": N_("Signed out"),
    "forbidden": N_("Page refused (not allowed)"),
    "export": N_("Statistics exported"),
    "report_download": N_("Import report downloaded"),
    "import_upload": N_("File uploaded for import"),
    "indicator_correction": N_("Indicator corrected"),
    "account_created": N_("Account created"),
    "account_changed": N_("Account changed"),
    "mfa_enrolled": N_("Authenticator app set up"),
    "mfa_failed": N_("Wrong MFA code"),
    "mfa_reset": N_("Authenticator app reset"),
    "recovery_code_used": N_("Recovery code used"),
    "recovery_codes_renewed": N_("New recovery codes made"),
    "password_changed": N_("Password changed"),
    "password_reset": N_("Password reset by an administrator"),
    "account_disabled": N_("Account disabled"),
    "account_enabled": N_("Account enabled"),
    "session_expired": N_("Session expired"),
    "api_token_created": N_("API token made"),
    "api_token_revoked": N_("API token revoked"),
    "api_token_used": N_("API token used"),
    "api_token_refused": N_("API token refused (revoked, expired or its account changed)"),
    "actor_corrected": N_("Registration corrected"),
    "actor_changed": N_("Registration changed from a date"),
    "actor_deactivated": N_("Registration deactivated"),
    "actor_reactivated": N_("Registration reactivated"),
    "actor_merged": N_("Registration merged into another"),
    "actor_erased": N_("Registration erased (consent withdrawn)"),
    "personal_data_exported": N_("Personal record exported"),
    "actor_registered": N_("Person registered by outreach staff"),
    "event_log_exported": N_("Event log exported"),
    "actor_searched": N_("Registrations searched"),
    "actor_viewed": N_("Registration viewed"),
    "receipt_not_sent": N_("Registration receipt (SMS) not sent"),
    "change_request_submitted": N_("Change request sent by the person"),
    "change_request_approved": N_("Change request approved"),
    "change_request_rejected": N_("Change request rejected"),
    "duplicate_merged": N_("Possible duplicate merged from the review queue"),
    "duplicate_dismissed": N_("Possible duplicate dismissed (not one person)"),
    "duplicate_deferred": N_("Possible duplicate deferred"),
    "duplicates_found": N_("Registry searched for duplicates"),
    "import_mapping_saved": N_("Import mapping saved"),
    "import_mapping_applied": N_("Import mapping confirmed for a file"),
    "import_mapping_deleted": N_("Import mapping deleted"),
    "backup_made": N_("Database backed up"),
    "backup_restored": N_("Database restored from a backup"),
}


class UnknownEventKind(ValueError):
    """A kind not in KINDS: a programming error, caught by the tests."""


def record(session: Session, kind: str, *, now: datetime, by_id: int | None = None, ip: str | None = None,
           subject: str | None = None, detail: dict[str, Any] | None = None) -> Event:
    """Add one event (flush only: it commits with the change it records, or on its own)."""
    if kind not in KINDS:
        raise UnknownEventKind(kind)
    event = Event(at=now, kind=kind, staff_user_id=by_id, ip=ip, subject=subject, detail=detail or None)
    session.add(event)
    session.flush()
    log.info("event %s id=%s by=%s subject=%s", kind, event.id, by_id if by_id is not None else "-", subject or "-")
    return event


@dataclass(frozen=True)
class EventFilter:
    kind: str | None = None
    staff_user_id: int | None = None
    since: datetime | None = None  # at or after this moment
    until: datetime | None = None  # before this moment
    subjects: tuple[str, ...] = ()  # any of these (one thing may be named in several ways)
    before_id: int | None = None  # keyset paging: events older than this one


def _filtered(query: Select[Any], where: EventFilter) -> Select[Any]:
    if where.kind:
        query = query.where(Event.kind == where.kind)
    if where.staff_user_id is not None:
        query = query.where(Event.staff_user_id == where.staff_user_id)
    if where.since is not None:
        query = query.where(Event.at >= where.since)
    if where.until is not None:
        query = query.where(Event.at < where.until)
    if where.subjects:
        query = query.where(Event.subject.in_(where.subjects))
    if where.before_id is not None:
        query = query.where(Event.id < where.before_id)
    return query


def recent(session: Session, where: EventFilter, *, limit: int = 50) -> list[Event]:
    """Newest first, `limit` at a time (keyset on id, so paging never skips or repeats)."""
    return list(session.scalars(_filtered(select(Event), where).order_by(Event.id.desc()).limit(limit)))


EXPORT_COLUMNS = (Event.id, Event.at, Event.kind, Event.staff_user_id, Event.ip, Event.subject, Event.detail)


def every(session: Session, where: EventFilter, *, batch: int = 2000) -> Iterator[Row[Any]]:
    """Every matching event, newest first, as plain rows (EXPORT_COLUMNS), read `batch` at a
    time by keyset: an export of the whole log holds one batch in memory, never the log."""
    before = where.before_id
    while True:
        rows = session.execute(_filtered(select(*EXPORT_COLUMNS), replace(where, before_id=before))
                               .order_by(Event.id.desc()).limit(batch)).all()
        yield from rows
        if len(rows) < batch:
            return
        before = rows[-1].id
