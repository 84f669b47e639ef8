"""Recording events from a request, and the admins' page that reads them (/staff/events)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request
from flask_login import current_user

from registry import clock
from registry.events.models import Event
from registry.events.services import KINDS, EventFilter, recent, record
from registry.extensions import db
from registry.web.access import roles_required

bp = Blueprint("events", __name__, url_prefix="/staff/events")
PAGE = 50


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


@bp.get("")
@roles_required("admin")
def index() -> str:
    kind = request.args.get("kind") or None
    if kind is not None and kind not in KINDS:
        abort(400)
    before = request.args.get("before", "")
    if before and not before.isdigit():
        abort(400)
    where = EventFilter(kind=kind, before_id=int(before) if before else None)
    events = recent(db.session, where, limit=PAGE)
    older = events[-1].id if len(events) == PAGE else None
    return render_template("events/index.html", events=events, kinds=KINDS, kind=kind, older=older)
