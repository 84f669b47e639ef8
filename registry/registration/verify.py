"""Checking a certificate (/verify): by the token in its QR code, or by the registration's
number, phone and date of birth (the one "prove it is you" check, actors.proof). Either way
the answer is public and the same: valid, deactivated or merged, the category and the date
registered — never a name, phone, ID, birth date or area.

A check is not recorded in the event log: it is no member of staff reading personal data,
and a log of who checked a certificate when would itself track the holder. The token in the
address is no personal data; the pages send no Referrer at all, so it goes nowhere else.
"""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from sqlalchemy import select

from registry.actors import proof
from registry.actors.models import Actor
from registry.actors.numbers import normalise_number
from registry.extensions import db, limiter
from registry.registration.forms import StatusForm
from registry.registration.views import _phone_and_birth, _required
from registry.registration.verify_link import key_ring
from registry.verification import services
from registry.verification.keys import NotValid, Retired

bp = Blueprint("verify", __name__, url_prefix="/verify")


def _page(status: int, **context):  # type: ignore[no-untyped-def]
    response = current_app.make_response((render_template("registration/verify.html", **context), status))
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get("/<token>")
@limiter.limit("30 per minute;500 per day")
def check(token: str):  # type: ignore[no-untyped-def]
    """200 with the answer; 404 "not valid" (malformed, altered, forged, gone); 410 for a
    genuine certificate printed under a retired key (the holder asks for a new one)."""
    try:
        return _page(200, answer=services.check(db.session, key_ring(), token), form=None)
    except Retired:
        return _page(410, retired=True, form=None)
    except NotValid:
        return _page(404, not_valid=True, form=None)


@bp.route("", methods=["GET", "POST"])
@limiter.limit("20 per minute;200 per day", methods=["POST"])
def by_number():  # type: ignore[no-untyped-def]
    form = StatusForm()
    answer, not_found, errors = None, False, {}
    if request.method == "POST":
        errors = _required(form, ("registration_number", "phone", "date_of_birth"))
        if not errors:
            number, known = normalise_number(form.registration_number.data), _phone_and_birth(form)
            if number and known and proof.prove(db.session, number, *known) is not None:
                # prove() follows a merge to the survivor; the answer is about the number named.
                named = db.session.scalars(select(Actor).where(Actor.registration_number == number)).one()
                answer = services.answer_for(db.session, named)
            not_found = answer is None
    return _page(422 if errors else 404 if not_found else 200, form=form, errors=errors, answer=answer,
                 not_found=not_found)
