"""Assisted registration (/staff/register): outreach staff fill in the public form with a
person, on their own device, many people in a row without signing out.

The form, its validation and storage are the public registration's (registration.views:
`Attempt`, `render_form`); what differs is said here: channel `assisted`, credited to the
member of staff, consent confirmed on the person's behalf (the staff member read the notice,
the person agreed), the province of a province-limited account, a limit per staff account
instead of the public limits per address and per phone, and the certificate reached by the
registration's number rather than through the session, so that the session never holds the
people registered and every confirmation page stays that person's.
"""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user

from registry.actors.models import Actor
from registry.extensions import db, limiter
from registry.actors.access import actor_or_404
from registry.registration.certificate import certificate_context
from registry.registration.certificate_pdf import build_certificate_pdf, certificate_filename
from registry.registration.forms import RegistrationForm
from registry.registration.views import Attempt, render_form
from registry.web.access import roles_required

bp = Blueprint("assisted", __name__, url_prefix="/staff/register")
ASSISTANTS = ("outreach", "admin")


def _staff_key() -> str:
    """Assisted registrations count per account, wherever the account works from: a whole
    village may share one address, and an officer registers many people from it."""
    return f"assisted:{current_user.get_id() or 'anonymous'}"


@bp.route("", methods=["GET", "POST"])
@roles_required(*ASSISTANTS)
@limiter.limit(lambda: current_app.config["ASSISTED_RATE_LIMIT"], methods=["POST"], key_func=_staff_key)
def register():  # type: ignore[no-untyped-def]
    form = RegistrationForm()
    only_province = current_user.province_code or None
    if request.method == "GET" and only_province:
        form.province.data = only_province
    attempt = Attempt()
    if request.method == "POST" and not form.refresh.data:
        actor = attempt.store(form, channel="assisted", assisted_by_id=current_user.id, only_province=only_province)
        if actor is not None:
            return redirect(url_for(".done", number=actor.registration_number), 303)
    return render_form(form, attempt, action=url_for(".register"), assisted=True, only_province=only_province)


def _registered_here(number: str) -> Actor:
    """A registration this account made (actors.access scope applied too); 404 otherwise.
    Anyone else's certificate is printed from the registration's record page, which is audited."""
    actor = actor_or_404(db.session, number, current_user)
    if actor.assisted_by_id != current_user.id:
        abort(404)
    return actor


@bp.get("/<number>")
@roles_required(*ASSISTANTS)
def done(number: str):  # type: ignore[no-untyped-def]
    return render_template("registration/assisted_done.html", actor=_registered_here(number))


@bp.get("/<number>/certificate")
@roles_required(*ASSISTANTS)
def certificate(number: str):  # type: ignore[no-untyped-def]
    actor = _registered_here(number)
    return render_template("registration/certificate.html", **certificate_context(actor),
                           pdf_url=url_for(".certificate_pdf", number=actor.registration_number))


@bp.get("/<number>/certificate.pdf")
@roles_required(*ASSISTANTS)
def certificate_pdf(number: str):  # type: ignore[no-untyped-def]
    actor = _registered_here(number)
    return Response(
        build_certificate_pdf(actor),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{certificate_filename(actor)}"'},
    )
