"""/staff/requests: the queue of workers' change requests, for outreach staff and admins (a
province-limited account sees the requests of people registered in its province; another
province's request is a 404, as a record is; the ministry gets 403). Approving applies the
request through the lifecycle, as the change pages do (refusals and identity conflicts shown
as there); rejecting needs a reason, which the worker reads on /status.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from registry import clock
from registry.actors import lifecycle
from registry.actors.labels import FIELD_LABELS, shown
from registry.actors.models import Actor
from registry.change_requests import services
from registry.change_requests.forms import DecisionForm
from registry.change_requests.models import ChangeRequest
from registry.actors.fields import ERROR_LABELS
from registry.changes.views import FORM_LABELS, STATUS_LABELS, attempt
from registry.extensions import db
from registry.i18n import N_, current_locale
from registry.registration.views import area_label
from registry.staff.models import StaffUser
from registry.web.access import roles_required

bp = Blueprint("change_requests", __name__, url_prefix="/staff/requests")
KIND_LABELS = {"change": N_("Change of details"), "withdraw_consent": N_("Withdraw consent")}
STATE_LABELS = {"pending": N_("Waiting for review"), "approved": N_("Approved"), "rejected": N_("Rejected"),
                "cancelled": N_("Replaced by a newer request")}


def _staff():  # type: ignore[no-untyped-def]
    return current_user._get_current_object()


def asked(change: ChangeRequest, actor: Actor | None = None) -> list[dict[str, str]]:
    """Each requested field in the reader's words: label, requested value (and, with `actor`,
    the value it has now)."""
    locale = current_locale()
    rows = []
    for name, value in (change.requested or {}).items():
        row = {"name": name, "label": _(FIELD_LABELS.get(name, name)), "requested": shown(name, value, locale)}
        if actor is not None:
            current = getattr(actor, services.STORED[name])
            row["current"] = shown(name, None if current is None else str(current), locale)
        rows.append(row)
    return rows


@bp.app_context_processor
def inject_request_state() -> dict[str, object]:
    """What /status and /update show of the person's latest request (registration's templates
    ask for it here: the registration package does not import this one)."""
    def latest_change_request(actor: Actor) -> dict[str, Any] | None:
        change = services.latest(db.session, actor.id)
        if change is None:
            return None
        return {"request": change, "rows": asked(change), "kind": _(KIND_LABELS[change.kind]),
                "asked_on": change.created_at.strftime("%d/%m/%Y"),
                "decided_on": change.decided_at.strftime("%d/%m/%Y") if change.decided_at else None}
    return {"latest_change_request": latest_change_request}


@bp.get("")
@roles_required(*lifecycle.CHANGE_ROLES)
def index():  # type: ignore[no-untyped-def]
    after_text = request.args.get("after", "")
    if after_text and not after_text.isdigit():
        abort(make_response(render_template("error.html", title=_("This page does not exist"),
                                            message=_("“after” must be a request number. Go back to the first page.")), 400))
    page = services.pending(db.session, _staff(), int(after_text) if after_text else None)
    rows = [{"request": r, "number": a.registration_number, "kind": _(KIND_LABELS[r.kind]),
             "fields": ", ".join(row["label"] for row in asked(r)), "asked_on": r.created_at.strftime("%d/%m/%Y"),
             "area": area_label(a)} for r, a in page.rows]
    return render_template("change_requests/index.html", rows=rows, page=page, first=not after_text)


def _visible(request_id: int) -> tuple[ChangeRequest, Actor]:
    found = services.visible_request(db.session, request_id, _staff())
    if found is None:
        abort(404)
    return found


def _page(change: ChangeRequest, actor: Actor, form: DecisionForm, errors: dict[str, list[str]] | None = None,
          conflict: dict[str, str | None] | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    errors = errors or {}
    code = status if status != 200 else 422 if errors else 200
    user = db.session.get(StaffUser, change.decided_by_id) if change.decided_by_id is not None else None
    decided_by = user.email if user else None
    return render_template("change_requests/request.html", change=change, actor=actor, form=form, errors=errors,
                           conflict=conflict, rows=asked(change, actor), kind=_(KIND_LABELS[change.kind]),
                           state=_(STATE_LABELS[change.status]), decided_by=decided_by,
                           status_labels=STATUS_LABELS, area=area_label(actor),
                           labels={**{name: _(label) for name, label in {**ERROR_LABELS, **FORM_LABELS}.items()},
                                   "reason": _("Reason for the person")}), code


@bp.get("/<int:request_id>")
@roles_required(*lifecycle.CHANGE_ROLES)
def show(request_id: int):  # type: ignore[no-untyped-def]
    change, actor = _visible(request_id)
    return _page(change, actor, DecisionForm(formdata=None))


def _decided(change: ChangeRequest, actor: Actor, error: services.AlreadyDecided):  # type: ignore[no-untyped-def]
    db.session.rollback()
    db.session.refresh(change)
    return _page(change, actor, DecisionForm(formdata=None),
                 {"status": [_("This request was already decided: %(state)s.", state=_(STATE_LABELS[error.status]))]},
                 status=409)


@bp.post("/<int:request_id>/approve")
@roles_required(*lifecycle.CHANGE_ROLES)
def approve(request_id: int):  # type: ignore[no-untyped-def]
    change, actor = _visible(request_id)
    form = DecisionForm()  # its CSRF token is checked for every POST (CSRFProtect)
    try:
        outcome = attempt(lambda: services.approve(db.session, change, _staff(), now=clock.now()))
    except services.AlreadyDecided as error:
        return _decided(change, actor, error)
    if not outcome.done:
        return _page(change, actor, form, dict(outcome.errors), outcome.conflict, 409 if outcome.conflict else 200)
    db.session.commit()
    flash(_("Request %(id)s approved: the registration was changed.", id=change.id), "ok")
    return redirect(url_for(".index"), 303)


@bp.post("/<int:request_id>/reject")
@roles_required(*lifecycle.CHANGE_ROLES)
def reject(request_id: int):  # type: ignore[no-untyped-def]
    change, actor = _visible(request_id)
    form = DecisionForm()  # its CSRF token is checked for every POST (CSRFProtect)
    try:
        outcome = attempt(lambda: services.reject(db.session, change, form.reason.data or "", _staff(), now=clock.now()))
    except services.AlreadyDecided as error:
        return _decided(change, actor, error)
    if not outcome.done:
        return _page(change, actor, form, dict(outcome.errors))
    db.session.commit()
    flash(_("Request %(id)s rejected; the person will see why.", id=change.id), "ok")
    return redirect(url_for(".index"), 303)
