"""Recording events from a request, and the admins' page that reads them (/staff/events)."""
from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from flask import Blueprint, Response, render_template, request, stream_with_context
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import column, select, table

from registry import clock
from registry.clock import CAMBODIA
from registry.events.models import Event
from registry.events.services import KINDS, EventFilter, every, recent, record
from registry.extensions import db
from registry.i18n import ascii_digits
from registry.spreadsheets import csv_chunks
from registry.web.access import roles_required

bp = Blueprint("events", __name__, url_prefix="/staff/events")
PAGE = 50
SUBJECT_LENGTH = 80  # Event.subject
# Read by name, not through their models: the actors and staff packages record events, so this
# one may not import theirs (tests/test_layers.py).
ACTORS = table("actor", column("id"), column("registration_number"))
ACCOUNTS = table("staff_user", column("id"), column("email"))


def audit(kind: str, *, subject: str | None = None, detail: dict[str, Any] | None = None) -> Event:
    """Record `kind` for the current request: who is signed in, from which address (flush
    only; it commits with the change it records, or the caller commits it)."""
    by_id = current_user.id if current_user.is_authenticated else None
    return record(db.session, kind, now=clock.now(), by_id=by_id, ip=request.remote_addr,
                  subject=subject, detail=detail)


def record_refusal() -> None:
    """A 403 goes to the event log on its own (whatever the request had started is dropped)."""
    db.session.rollback()
    audit("forbidden", subject=request.path[:80])
    db.session.commit()


FILTERS = ("kind", "account", "from", "to", "subject")


@dataclass
class Asked:
    """The filter of the query string, which holds no personal data: a kind, an account's id
    (never its e-mail address), dates and a subject (a registration number is as public as a
    record page's address). `errors` names each field that cannot be read."""

    typed: dict[str, str]
    where: EventFilter
    errors: dict[str, str]

    def query(self) -> dict[str, str]:
        """The filter's parameters as typed, for the next page's and the export's address."""
        return {name: value for name, value in self.typed.items() if value}


def _day(typed: str, name: str, errors: dict[str, str]) -> date | None:
    if not typed:
        return None
    try:
        day = date.fromisoformat(typed)
    except ValueError:
        day = None
    if day is None or not 2000 <= day.year <= 2999:  # the log began after 2000; no overflow at the ends
        errors[name] = _("not a date; write it as YYYY-MM-DD, e.g. 2025-01-31.")
        return None
    return day


def _start_of(day: date) -> datetime:
    """Midnight starting `day` in Cambodia, in UTC as events are stored."""
    return datetime.combine(day, time(), CAMBODIA).astimezone(timezone.utc)


def _subjects(typed: str) -> tuple[str, ...]:
    """What an event about `typed` may name: a registration number (with or without dashes)
    stands for itself and for its registration's `actor <id>`; anything else for itself."""
    number = "".join(ascii_digits(typed).split()).replace("-", "")
    if not (number.isascii() and number.isdigit() and len(number) == 10):  # as actors.numbers stores them
        return (typed,)
    actor_id = db.session.scalar(select(ACTORS.c.id).where(ACTORS.c.registration_number == number))
    return (number,) if actor_id is None else (number, f"actor {actor_id}")


def read_filter() -> Asked:
    typed = {name: (request.args.get(name) or "").strip() for name in FILTERS}
    errors: dict[str, str] = {}
    if typed["kind"] and typed["kind"] not in KINDS:
        errors["kind"] = _("not a kind of event; choose one from the list.")
    account = int(typed["account"]) if typed["account"].isdigit() else None
    if typed["account"] and (account is None or db.session.scalar(select(ACCOUNTS.c.id).where(ACCOUNTS.c.id == account)) is None):
        errors["account"] = _("no such account; choose one from the list.")
    first, last = _day(typed["from"], "from", errors), _day(typed["to"], "to", errors)
    if first and last and last < first:
        errors["to"] = _("before the first day; the last day is the same as the first or later.")
    if len(typed["subject"]) > SUBJECT_LENGTH:
        errors["subject"] = _("at most %(n)d characters.", n=SUBJECT_LENGTH)
    before = request.args.get("before", "")
    if before and not before.isdigit():
        errors["before"] = _("not a page of the log; follow the links.")
    if errors:
        return Asked(typed, EventFilter(), errors)
    where = EventFilter(
        kind=typed["kind"] or None, staff_user_id=account,
        since=_start_of(first) if first else None,
        until=_start_of(last + timedelta(days=1)) if last else None,
        subjects=_subjects(typed["subject"]) if typed["subject"] else (),
        before_id=int(before) if before else None,
    )
    return Asked(typed, where, {})


def _page(asked: Asked, events: list[Event], older: int | None, status: int = 200):  # type: ignore[no-untyped-def]
    accounts = db.session.execute(select(ACCOUNTS.c.id, ACCOUNTS.c.email).order_by(ACCOUNTS.c.email)).all()
    labels = {"kind": _("Kind"), "account": _("Account"), "from": _("From"), "to": _("To"),
              "subject": _("About"), "before": _("Older events")}
    return render_template("events/index.html", events=events, kinds=KINDS, accounts=accounts, asked=asked,
                           labels=labels, older=older), status


@bp.get("")
@roles_required("admin")
def index():  # type: ignore[no-untyped-def]
    asked = read_filter()
    if asked.errors:
        return _page(asked, [], None, 400)
    events = recent(db.session, asked.where, limit=PAGE)
    return _page(asked, events, events[-1].id if len(events) == PAGE else None)


EXPORT_HEADER = ("at", "kind", "account", "ip", "subject", "detail")


@bp.get("/export.csv")
@roles_required("admin")
def export():  # type: ignore[no-untyped-def]
    """Every event the filter matches, newest first, streamed; the export is itself an event."""
    asked = read_filter()
    if asked.errors:
        return _page(asked, [], None, 400)
    where = replace(asked.where, before_id=None)
    audit("event_log_exported", detail={"filter": {k: v for k, v in asked.typed.items() if v}})
    db.session.commit()
    emails = dict(db.session.execute(select(ACCOUNTS.c.id, ACCOUNTS.c.email)).all())
    rows = ((clock.as_utc(row.at).isoformat(), row.kind, emails.get(row.staff_user_id, ""), row.ip or "",
             row.subject or "", json.dumps(row.detail, ensure_ascii=False, sort_keys=True) if row.detail else "")
            for row in every(db.session, where))
    return Response(
        stream_with_context(csv_chunks(itertools.chain([EXPORT_HEADER], rows))),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="events-{clock.today().isoformat()}.csv"'},
    )
