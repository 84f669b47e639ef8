"""Staff search (/staff/actors) and the record page (/staff/actors/<number>), with the
certificate printed again from it.

Search terms are personal data, so they never travel in an address: the form is POSTed,
the search is recorded as an `actor_searched` event (terms, filters, count: read only by
admins) and the browser is sent to `?search=<event id>`, which runs that event's terms again
for the account that made it only (404 for anyone else). Later pages add `after=<number of
the last row>`, a registration number like the record page's own address.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from registry import areas, vocab
from registry.actors.fields import LABELS
from registry.actors.models import Actor
from registry.actors.numbers import format_number
from registry.events.models import Event
from registry.events.views import audit
from registry.extensions import db, limiter
from registry.i18n import current_locale
from registry.imports.models import ImportBatch
from registry.actors.access import actor_or_404
from registry.actors import labels
from registry.actors.labels import CHANGE_LABELS, FIELD_LABELS, REASON_LABELS, STATUS_LABELS, VIA_LABELS
from registry.records.forms import SearchForm, read_query
from registry.records.history import Entry, history
from registry.records.search import COUNT_CAP, SORTS, Query, SearchError, search
from registry.registration.certificate import certificate_context
from registry.registration.certificate_pdf import build_certificate_pdf, certificate_filename
from registry.staff.models import StaffUser
from registry.web.access import roles_required
from registry.web.navigation import roles_of

bp = Blueprint("records", __name__, url_prefix="/staff/actors")
READERS = ("outreach", "ministry", "admin")


def place(code: str | None) -> str:
    return labels.place(code, current_locale())


def shown(field: str | None, value: str | None) -> str:
    """A stored value (or one from the history) as the reader reads it (registry.actors.labels)."""
    return labels.shown(field, value, current_locale())


@bp.app_context_processor
def inject_helpers() -> dict[str, object]:
    def provinces() -> list[tuple[str, str]]:
        return [(p.code, areas.area_name(p, current_locale())) for p in areas.provinces()]

    def vocab_options(name: str) -> list[tuple[str, str]]:
        terms = {"category": vocab.CATEGORIES, "channel": vocab.CHANNELS}[name]
        return [(code, _(terms[code])) for code in terms]

    def status_options() -> list[tuple[str, str]]:
        return [(code, _(label)) for code, label in STATUS_LABELS.items()]

    return {"record_place": place, "record_shown": shown, "status_labels_of_actor": STATUS_LABELS,
            "provinces": provinces, "vocab_options": vocab_options, "status_options": status_options}


def _stored_search(event_id: str) -> Query:
    """A search this account made (404 otherwise: nobody re-runs another's terms)."""
    if not event_id.isdigit() or len(event_id) > 18:
        abort(404)
    event = db.session.get(Event, int(event_id))
    if event is None or event.kind != "actor_searched" or event.staff_user_id != current_user.id or not event.detail:
        abort(404)
    return Query.from_detail(event.detail)


def _errors_of(error: SearchError) -> dict[str, list[str]]:
    field = "q" if error.field in ("q", "after") else error.field
    return {field: [_(error.message, **error.params)]}


@bp.route("", methods=["GET", "POST"])
@roles_required(*READERS)
def index():  # type: ignore[no-untyped-def]
    form = SearchForm()
    errors: dict[str, list[str]] = {}
    viewer = current_user.province_code
    if request.method == "POST":
        if not form.validate_on_submit():  # the CSRF token
            abort(400)
        query, errors = read_query(form)
        if query is not None:
            try:
                page = search(db.session, query, viewer_province=viewer, limit=1)
            except SearchError as error:
                errors = _errors_of(error)
            else:
                event = audit("actor_searched", detail={**query.as_detail(), "count": page.count, "more_than": COUNT_CAP
                                                        if page.more_than_cap else None, "kind": page.terms.kind})
                db.session.commit()
                return redirect(url_for(".index", search=event.id), 303)
        return render_template("records/index.html", form=form, errors=errors, page=None, sorts=SORTS), 422
    page = None
    search_id = request.args.get("search", "")
    if search_id:
        query = _stored_search(search_id)
        form.fill(query)
        after = request.args.get("after") or None
        try:
            page = search(db.session, query, viewer_province=viewer, after=after)
        except SearchError as error:
            errors = _errors_of(error)
    return render_template("records/index.html", form=form, errors=errors, page=page, sorts=SORTS, search_id=search_id,
                           cap=COUNT_CAP), 400 if errors else 200


def _label_entry(entry: Entry) -> dict[str, Any]:
    return {"at": entry.at, "by": entry.by or _(VIA_LABELS.get(entry.via, entry.via)),
            "kind": _(CHANGE_LABELS.get(entry.kind, entry.kind)),
            "field": _(FIELD_LABELS[entry.field]) if entry.field in FIELD_LABELS else (entry.field or ""),
            "old": shown(entry.field, entry.old), "new": shown(entry.field, entry.new), "reason": _reason_text(entry),
            "effective": entry.effective, "other_number": entry.other_number}


def _reason_text(entry: Entry) -> str:
    if entry.kind == "deactivation":
        code, _sep, note = entry.reason.partition(": ")
        if code in REASON_LABELS:
            return _(REASON_LABELS[code]) + (f": {note}" if note else "")
    return entry.reason


@bp.get("/<number>")
@roles_required(*READERS)
def record(number: str):  # type: ignore[no-untyped-def]
    actor = actor_or_404(db.session, number, current_user)
    audit("actor_viewed", subject=f"actor {actor.id}")
    db.session.commit()
    survivor = db.session.get(Actor, actor.merged_into_id) if actor.merged_into_id else None
    batch = db.session.get(ImportBatch, actor.import_batch_id) if actor.import_batch_id else None
    assisted_by_id = getattr(actor, "assisted_by_id", None)  # assisted registration adds this column
    assisted_by = db.session.scalar(select(StaffUser.email).where(StaffUser.id == assisted_by_id)) if assisted_by_id else None
    return render_template(
        "records/record.html", actor=actor, number=format_number(actor.registration_number), survivor=survivor,
        batch=batch, may_open_batch=current_user.role in roles_of("imports.batch"), assisted_by=assisted_by,
        may_export=actor.erased_at is None and current_user.role in roles_of("record_export.confirm"),
        history=[_label_entry(e) for e in history(db.session, actor)], labels=LABELS, reason_labels=REASON_LABELS)


def _certified(number: str) -> Actor:
    """A registration a certificate can be printed for: an active one. A deactivated, merged
    or erased registration has none (a paper saying "registered" would mislead): 404."""
    actor = actor_or_404(db.session, number, current_user)
    if actor.status != "active":
        abort(404)
    return actor


@bp.get("/<number>/certificate")
@roles_required(*READERS)
def certificate(number: str):  # type: ignore[no-untyped-def]
    actor = _certified(number)
    audit("actor_viewed", subject=f"actor {actor.id}", detail={"page": "certificate"})
    db.session.commit()
    return render_template("registration/certificate.html", **certificate_context(actor),
                           home_url=url_for(".record", number=actor.registration_number),
                           home_label=_("Back to the registration"),
                           pdf_url=url_for(".certificate_pdf", number=actor.registration_number))


@bp.get("/<number>/certificate.pdf")
@roles_required(*READERS)
@limiter.limit("30 per minute")  # as the worker's own: a PDF costs ~0.2 s of CPU
def certificate_pdf(number: str):  # type: ignore[no-untyped-def]
    actor = _certified(number)
    audit("actor_viewed", subject=f"actor {actor.id}", detail={"page": "certificate.pdf"})
    db.session.commit()
    return Response(build_certificate_pdf(actor), mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{certificate_filename(actor)}"'})
