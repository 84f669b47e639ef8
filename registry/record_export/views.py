"""/staff/actors/<number>/export: outreach staff and admins download one person's record.

The download is a POST from a confirmation page, with the CSRF token, never a GET: handing
out a person's whole record is a disclosure the event log records, and a GET could be made
without anyone meaning it — a link preview, a prefetch, a history replay, another site's
<img> — each one serving the data and writing an export to the log. The confirmation page
is also where staff are reminded to check who is asking. Responses are `no-store`; file
names carry the registration number, never the name."""
from __future__ import annotations

import json

from flask import Blueprint, Response, render_template, request
from flask_login import current_user

from registry import clock
from registry.actors.numbers import format_number
from registry.extensions import db
from registry.i18n import LANGUAGE_NAMES, current_locale
from registry.record_export.forms import ExportForm
from registry.record_export.pdf import build_record_pdf
from registry.record_export.services import filename, personal_record, recorded
from registry.actors.access import actor_or_404
from registry.web.access import roles_required

bp = Blueprint("record_export", __name__, url_prefix="/staff/actors")
ROLES = ("outreach", "admin")


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


@bp.get("/<number>/export")
@roles_required(*ROLES)
def confirm(number: str):  # type: ignore[no-untyped-def]
    actor = actor_or_404(db.session, number, current_user)
    form = ExportForm(language=current_locale())
    return _no_store(Response(_page(actor, form)))


def _page(actor, form: ExportForm) -> str:  # type: ignore[no-untyped-def]
    return render_template("record_export/confirm.html", form=form, actor=actor,
                           number=format_number(actor.registration_number), language_names=LANGUAGE_NAMES)


@bp.post("/<number>/export.<fmt>")
@roles_required(*ROLES)
def download(number: str, fmt: str):  # type: ignore[no-untyped-def]
    actor = actor_or_404(db.session, number, current_user)
    if fmt not in ("json", "pdf"):
        return _no_store(Response(_page(actor, ExportForm()), status=404))
    form = ExportForm()
    if not form.validate_on_submit():
        return _no_store(Response(_page(actor, form), status=422))
    now = clock.now()
    content = personal_record(db.session, actor, form.language.data, now=now)
    recorded(db.session, actor, fmt, current_user.id, via="web", now=now, ip=request.remote_addr)
    body = build_record_pdf(content) if fmt == "pdf" else json.dumps(content, ensure_ascii=False, indent=2).encode()
    db.session.commit()
    response = Response(body, mimetype="application/pdf" if fmt == "pdf" else "application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename(actor, fmt)}"'
    return _no_store(response)
