"""/update: a worker asks for a change of their own registration (phone, area, sector,
business name and workers) or withdraws consent, after proving who they are with number,
phone and date of birth (the status look-up's one check, registration.views.prove_form: a
wrong answer reads exactly as on /status). The proven registration stays in the session,
never in an address. Requests go to staff of the person's province (registry.change_requests).
Works without JavaScript: the area lists refresh with buttons, as on the registration form.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from registry import clock, vocab
from registry.actors import proof
from registry.actors.fields import ERROR_LABELS
from registry.actors.lifecycle import ChangeRefused
from registry.actors.models import Actor
from registry.actors.validation import describe
from registry.change_requests import services
from registry.change_requests.forms import UpdateForm
from registry.extensions import db, limiter
from registry.registration.forms import StatusForm
from registry.registration.views import area_choices, area_label, forget_proof, prove_form, proven_actor

bp = Blueprint("updates", __name__)
Errors = dict[str, list[str]]
MICRO_FIELDS = ("business_name", "workers")


def offered(actor: Actor) -> tuple[str, ...]:
    """The fields this person may ask to change (business name and workers: micro-enterprises)."""
    names = ("phone", "province", "district", "commune", "sector")
    return names + MICRO_FIELDS if actor.category == "micro_enterprise" else names


def stored(actor: Actor) -> dict[str, str]:
    """The record as the form shows it."""
    return {"phone": actor.phone, "province": actor.province_code, "district": actor.district_code,
            "commune": actor.commune_code, "sector": actor.sector, "business_name": actor.business_name or "",
            "workers": "" if actor.workers is None else str(actor.workers)}


@bp.route("/update", methods=["GET", "POST"])
@limiter.limit("20 per minute;200 per day", methods=["POST"])
def update():  # type: ignore[no-untyped-def]
    step = request.form.get("step", "") if request.method == "POST" else ""
    if step == "prove":
        proof_form = StatusForm()
        actor, errors, _merged_from = prove_form(proof_form)
        if actor is None:
            return _proof_page(proof_form, errors, not_found=not errors)
        return redirect(url_for(".update"), 303)
    actor = proven_actor()
    if step == "finish":
        forget_proof()
        flash(_("Done. To ask for another change, enter your details again."), "ok")
        return redirect(url_for(".update"), 303)
    if actor is None or actor.erased_at is not None:
        expired = request.method == "POST"  # a form posted after the check ran out
        return _proof_page(StatusForm(formdata=None), {}, expired=expired)
    if actor.status != "active":
        return _page(actor, UpdateForm(formdata=None), {}, 409 if request.method == "POST" else 200)
    form = UpdateForm() if request.method == "POST" else UpdateForm(formdata=None, data=stored(actor))
    errors: Errors = {}
    if step in ("change", "withdraw") and not form.refresh.data:
        errors = _send(actor, form, step)
        if not errors:
            flash(_("Your request was sent. Staff of your province will review it; check its state with “Check a registration”."), "ok")
            return redirect(url_for(".update"), 303)
    elif request.method == "POST" and not form.refresh.data:
        errors = {"step": [_("Choose what to send: the changes, or the withdrawal of consent.")]}
    return _page(actor, form, errors)


def _send(actor: Actor, form: UpdateForm, step: str) -> Errors:
    """Store the request (committed), or the field errors that stopped it."""
    if step == "withdraw" and not form.confirm.data:
        return {"confirm": [_("Tick the box to confirm, or nothing is sent.")]}
    values = {name: form[name].data or "" for name in offered(actor)} if step == "change" else {}
    now = clock.now()
    try:
        services.requested_values(actor, values, clock.local_date(now)) if step == "change" else None  # errors before counting
        proof.spend("change_request", actor.registration_number)
        services.submit(db.session, actor, "change" if step == "change" else "withdraw_consent", values, now=now)
    except ChangeRefused as refused:
        db.session.rollback()
        errors: Errors = {}
        for problem in refused.errors:
            errors.setdefault(problem.field, []).append(describe(problem, _, with_field=False))
        return errors
    db.session.commit()
    return {}


def _labels() -> dict[str, str]:
    return {**{name: _(label) for name, label in ERROR_LABELS.items()}, "values": _("Changes"), "status": _("Status"),
            "confirm": _("Withdraw consent"), "step": _("What to send")}


def _page(actor: Actor, form: UpdateForm, errors: Errors, status: int = 200):  # type: ignore[no-untyped-def]
    code = status if status != 200 else 422 if errors else 200
    return render_template("updates/update.html", actor=actor, form=form, errors=errors, labels=_labels(),
                           choices=area_choices(form), area=area_label(actor), micro=actor.category == "micro_enterprise",
                           sectors=[(code, _(label)) for code, label in vocab.SECTORS.items()],
                           form_fields=set(offered(actor)) | {"confirm"}), code


def _proof_page(form: StatusForm, errors: dict[str, Any], *, not_found: bool = False, expired: bool = False):  # type: ignore[no-untyped-def]
    code = 422 if errors else 404 if not_found else 401 if expired else 200
    return render_template("updates/prove.html", form=form, errors=errors, not_found=not_found, expired=expired), code
