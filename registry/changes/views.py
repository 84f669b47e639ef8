"""/staff/actors/<number>/correct, /deactivate, /reactivate and /merge: the staff pages that
change a registration, over registry.actors.lifecycle (the services the `actors` commands call).

Every page reaches the registration through actors.access (a province-limited account gets
404 outside its province, as for a number that does not exist) and is open to outreach staff
and admins only: they are the ones who meet people and fix what the field sheets got wrong.
The ministry reads figures and records; it changes none (403). A refusal comes back as the
lifecycle's field messages (the validation core's words), status 422 like the registration
form, 409 when the change would make the person a duplicate; nothing is stored then.
"""
from __future__ import annotations

import re
from datetime import date
from typing import Any, Callable, Mapping, NamedTuple, Sequence

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.routing import BuildError

from registry import clock, vocab
from registry.actors import fields, lifecycle
from registry.actors.fields import ERROR_LABELS
from registry.actors.labels import shown as shown_value
from registry.actors.models import Actor
from registry.actors.numbers import format_number
from registry.actors.validation import FieldError, Problem, describe, parse_date
from registry.changes.forms import (
    DEACTIVATION_HINTS, DEACTIVATION_LABELS, KIND_HINTS, KINDS, SURVIVORS,
    CorrectionForm, DeactivateForm, MergeForm, ReactivateForm,
)
from registry.database import committed
from registry.extensions import db
from registry.i18n import N_, current_locale
from registry.actors.access import actor_or_404, may_see, visible_actor
from registry.registration.views import area_choices, area_label
from registry.web.access import roles_required

bp = Blueprint("changes", __name__, url_prefix="/staff/actors")

CHANGE_ROLES = lifecycle.CHANGE_ROLES
STATUS_LABELS: dict[str, str] = {"active": N_("active"), "deactivated": N_("deactivated"), "merged": N_("merged")}
# Labels of the fields these pages add to the registration's (error summary, merge table).
FORM_LABELS: dict[str, str] = {
    "kind": N_("What happened"), "effective": N_("Takes effect on"), "reason": N_("Reason"), "note": N_("Note"),
    "other": N_("The other registration's number"), "keep": N_("Which registration stays"),
    "status": N_("Status"), "values": N_("Changes"),
}
ACTION_LABELS: dict[str, str] = {
    "changes.correct": N_("Correct or record a change"),
    "changes.deactivate": N_("Deactivate"),
    "changes.reactivate": N_("Reactivate"),
    "changes.merge": N_("Merge with another registration"),
}
Errors = dict[str, list[str]]


# --------------------------------------------------------------------------- shared
def _staff():  # type: ignore[no-untyped-def]
    return current_user._get_current_object()


def _actor(number: str) -> Actor:
    """The registration, when this account may see it (404 otherwise) and it was not erased
    (409: a tombstone has nothing left to change)."""
    actor = actor_or_404(db.session, number, _staff())
    if actor.erased_at is not None:
        abort(make_response(render_template("error.html", title=_("This registration cannot be changed"),
                                            message=_(lifecycle.ERASED)), 409))
    return actor


def record_url(number: str) -> str:
    """The record page (registry.records); its plain address until that blueprint is here."""
    try:
        return url_for("records.record", number=number)
    except BuildError:
        return f"/staff/actors/{number}"


def _errors(problems: Sequence[FieldError], on_page: Mapping[str, str] | None = None) -> Errors:
    """The lifecycle's refusals in the reader's language, by the field on this page."""
    out: Errors = {}
    for problem in problems:
        status = STATUS_LABELS.get(problem.params.get("status", ""))
        if status is not None:  # the status in words, in the reader's language
            problem = FieldError(problem.field, problem.message, {**problem.params, "status": _(status)})
        name = (on_page or {}).get(problem.field, problem.field)
        out.setdefault(name, []).append(describe(problem, _, with_field=False))
    return out


def _date(text: str | None, errors: Errors, field: str = "effective") -> date | None:
    """A typed date (DD/MM/YYYY or YYYY-MM-DD); None when empty (the lifecycle says whether
    it is required); a field error when it is no date."""
    if not (text or "").strip():
        return None
    try:
        return parse_date(text)
    except Problem as problem:
        errors.setdefault(field, []).append(describe(FieldError(field, problem.message, problem.params), _, with_field=False))
        return None


def _labels() -> dict[str, str]:
    return {name: _(label) for name, label in {**ERROR_LABELS, **FORM_LABELS}.items()}


def _day(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def _done(actor: Actor, message: str):  # type: ignore[no-untyped-def]
    """Commit, say so, and go to the record (or, when the change moved it out of this
    account's province, to the search page: the record is no longer this account's)."""
    db.session.commit()
    flash(message, "ok")
    if may_see(_staff(), actor):
        return redirect(record_url(actor.registration_number), 303)
    flash(_("The registration is now in another province, outside yours."), "ok")
    return redirect("/staff/actors", 303)


def _page(template: str, actor: Actor, form: Any, errors: Errors, status: int = 200, **extra: Any):  # type: ignore[no-untyped-def]
    code = status if status != 200 else 422 if errors else 200
    return render_template(template, actor=actor, form=form, errors=errors, labels=_labels(),
                           status_labels=STATUS_LABELS, area=area_label(actor), **extra), code


def available_actions(actor: Actor, user: Any) -> list[str]:
    """The change pages `user` may open for `actor` in its present state (endpoints)."""
    if not getattr(user, "is_authenticated", False) or user.role not in CHANGE_ROLES or not may_see(user, actor):
        return []
    if actor.status == "merged" or actor.erased_at is not None:
        return []
    middle = "changes.deactivate" if actor.status == "active" else "changes.reactivate"
    return ["changes.correct", middle, "changes.merge"]


KHMER_LETTERS = re.compile(r"[\u1780-\u17FF\u19E0-\u19FF]")


@bp.app_template_test("khmer")
def is_khmer(value: object) -> bool:
    """Typed data (a name) written in Khmer: marked lang="km" on a page in another language."""
    return isinstance(value, str) and KHMER_LETTERS.search(value) is not None


@bp.app_context_processor
def inject_actions() -> dict[str, object]:
    """What the change pages and `changes/_actions.html` (included by the record page) use."""
    return {"change_actions": available_actions, "change_action_labels": ACTION_LABELS, "change_roles": CHANGE_ROLES,
            "record_url": record_url, "deactivation_labels": DEACTIVATION_LABELS}


# --------------------------------------------------------------------------- correct
def _prefill(actor: Actor) -> dict[str, str]:
    """The stored record as the registration form shows it."""
    return {
        "category": actor.category, "full_name": actor.full_name, "gender": actor.gender,
        "date_of_birth": _day(actor.date_of_birth), "national_id": actor.national_id or "", "phone": actor.phone,
        "province": actor.province_code, "district": actor.district_code, "commune": actor.commune_code,
        "sector": actor.sector, "business_name": actor.business_name or "",
        "workers": "" if actor.workers is None else str(actor.workers), "registered_on": _day(actor.registered_on),
    }


def _conflict(error: lifecycle.ConflictingRegistration) -> dict[str, str | None]:
    """The other registration's number when this account may see it; else nothing about it."""
    other = visible_actor(db.session, error.registration_number, _staff()) if error.registration_number else None
    return {"number": other.registration_number if other else None,
            "elsewhere": "yes" if error.registration_number and other is None else None}


class Outcome(NamedTuple):
    """What one lifecycle operation came to: done (with its result), or refused."""
    done: bool
    value: Any = None
    errors: Mapping[str, list[str]] = {}  # read only: views copy it before adding to it
    conflict: dict[str, str | None] | None = None


def attempt(change: Callable[[], Any], on_page: Mapping[str, str] | None = None) -> Outcome:
    """Run one lifecycle operation and commit it; a refusal rolls back and comes back as the page's errors
    (or the conflict to show); outside the account's province is a 404, as everywhere."""
    try:
        return Outcome(True, committed(db.session, change))  # run again if chosen as a deadlock's victim
    except lifecycle.ChangeRefused as error:
        db.session.rollback()
        return Outcome(False, errors=_errors(error.errors, on_page))
    except lifecycle.ConflictingRegistration as error:
        db.session.rollback()
        return Outcome(False, conflict=_conflict(error))
    except lifecycle.OutOfScope:
        db.session.rollback()
        abort(404)


@bp.route("/<number>/correct", methods=["GET", "POST"])
@roles_required(*CHANGE_ROLES)
def correct(number: str):  # type: ignore[no-untyped-def]
    actor = _actor(number)
    stored = _prefill(actor)
    form = CorrectionForm() if request.method == "POST" else CorrectionForm(formdata=None, data=stored)
    errors: Errors = {}
    conflict = None
    if request.method == "POST" and not form.refresh.data:
        kind, effective = form.kind.data, None
        if kind not in KINDS:
            errors["kind"] = [_("Choose one: the record was wrong, or the person's situation changed on a date.")]
        elif kind == "change":
            effective = _date(form.effective.data, errors)
            if effective is None and "effective" not in errors:
                errors["effective"] = [_("Required. Give the date the change takes effect.")]
        elif (form.effective.data or "").strip():
            errors["effective"] = [_("Leave the date empty for a correction, or choose “the person's situation changed”.")]
        if not errors:
            # Only what the staff member changed goes to the lifecycle (and into the history).
            values = {name: value or "" for name, value in form.raw().items()
                      if (value or "").strip() != stored.get(name, "")}
            outcome = attempt(lambda: lifecycle.correct(db.session, actor, values, form.reason.data or "", _staff(),
                                                         effective=effective, now=clock.now()))
            errors, conflict = dict(outcome.errors), outcome.conflict
            if outcome.done:
                labels = _labels()
                what = ", ".join(labels.get(_field_of(name), name) for name in outcome.value)
                message = (_("Change recorded from %(date)s: %(fields)s.", date=_day(effective), fields=what) if effective
                           else _("Correction saved: %(fields)s.", fields=what))
                return _done(actor, message)
    return _page("changes/correct.html", actor, form, errors, 409 if conflict else 200, conflict=conflict,
                 choices=area_choices(form), kinds=KINDS, kind_hints=KIND_HINTS,
                 sectors=[(code, _(label)) for code, label in vocab.SECTORS.items()],
                 form_fields=set(fields.NAMES) | {"kind", "effective", "reason"})


def _field_of(stored: str) -> str:
    """A stored column's form field (province_code -> province)."""
    return stored.removesuffix("_code")


# --------------------------------------------------------------------------- deactivate / reactivate
@bp.route("/<number>/deactivate", methods=["GET", "POST"])
@roles_required(*CHANGE_ROLES)
def deactivate(number: str):  # type: ignore[no-untyped-def]
    actor = _actor(number)
    form = DeactivateForm() if request.method == "POST" else DeactivateForm(formdata=None, data={"effective": _day(clock.today())})
    errors: Errors = {}
    if request.method == "POST":
        if not (form.reason.data or "").strip():
            errors["reason"] = [_("Required. Choose the reason.")]
        effective = _date(form.effective.data, errors)
        if not errors:
            outcome = attempt(lambda: lifecycle.deactivate(db.session, actor, form.reason.data or "", effective, _staff(),
                                                            note=form.note.data, now=clock.now()))
            errors = dict(outcome.errors)
            if outcome.done:
                assert effective is not None
                return _done(actor, _("Registration deactivated from %(date)s.", date=_day(effective)))
    return _page("changes/deactivate.html", actor, form, errors, reasons=DEACTIVATION_LABELS, reason_hints=DEACTIVATION_HINTS,
                 form_fields={"reason", "effective", "note"})


@bp.route("/<number>/reactivate", methods=["GET", "POST"])
@roles_required(*CHANGE_ROLES)
def reactivate(number: str):  # type: ignore[no-untyped-def]
    actor = _actor(number)
    form = ReactivateForm() if request.method == "POST" else ReactivateForm(formdata=None, data={"effective": _day(clock.today())})
    errors: Errors = {}
    conflict = None
    if request.method == "POST":
        effective = _date(form.effective.data, errors)
        if not errors:
            outcome = attempt(lambda: lifecycle.reactivate(db.session, actor, form.reason.data or "", _staff(),
                                                            effective=effective, now=clock.now()))
            errors, conflict = dict(outcome.errors), outcome.conflict
            if outcome.done:
                return _done(actor, _("Registration active again from %(date)s.", date=_day(effective or clock.today())))
    return _page("changes/reactivate.html", actor, form, errors, 409 if conflict else 200, conflict=conflict,
                 form_fields={"reason", "effective"})


# --------------------------------------------------------------------------- merge
MERGE_FIELDS = ("category", "full_name", "gender", "date_of_birth", "national_id", "phone", "sector",
                "business_name", "workers", "registered_on")


def side_by_side(first: Actor, second: Actor) -> list[tuple[str, str, str]]:
    """(label, first's value, second's value) for the confirmation step."""
    def shown(actor: Actor, name: str) -> str:
        value = getattr(actor, name)
        text = value.isoformat() if isinstance(value, date) else None if value is None else str(value)
        return shown_value(name, text, current_locale())

    labels = _labels()
    rows = [(_("Registration number"), format_number(first.registration_number), format_number(second.registration_number)),
            (labels["status"], _(STATUS_LABELS[first.status]), _(STATUS_LABELS[second.status]))]
    rows += [(labels[name], shown(first, name), shown(second, name)) for name in MERGE_FIELDS[:6]]
    rows.append((_("Area"), area_label(first), area_label(second)))
    rows += [(labels[name], shown(first, name), shown(second, name)) for name in MERGE_FIELDS[6:]]
    return rows


@bp.route("/<number>/merge", methods=["GET", "POST"])
@roles_required(*CHANGE_ROLES)
def merge(number: str):  # type: ignore[no-untyped-def]
    """Step 1: the other number, which one stays, why. Step 2 (`review`): both records side
    by side, checked by the merge's own rules, nothing changed yet. Step 3 (`confirm`): merge."""
    actor = _actor(number)
    form = MergeForm() if request.method == "POST" else MergeForm(formdata=None, data={"keep": "this"})
    errors: Errors = {}
    step = form.step.data if request.method == "POST" else None
    if step in ("review", "confirm"):
        typed = (form.other.data or "").strip()
        other = visible_actor(db.session, typed, _staff()) if typed else None
        if not typed:
            errors["other"] = [_("Required. Give the number of the other registration of this person.")]
        elif other is None:
            errors["other"] = [_("No registration with this number that you may change. Check the number (10 digits, e.g. 0000-0012-34).")]
        if form.keep.data not in SURVIVORS:
            errors["keep"] = [_("Required. Choose which registration stays.")]
        if not errors and other is not None:
            keep, duplicate = (actor, other) if form.keep.data == "this" else (other, actor)
            if step == "review":
                outcome = attempt(lambda: lifecycle.check_merge(keep, duplicate, form.reason.data or "", _staff()),
                                   {"duplicate": "other"})
            else:
                outcome = attempt(lambda: lifecycle.merge(db.session, keep, duplicate, form.reason.data or "", _staff(),
                                                           now=clock.now()), {"duplicate": "other"})
            errors = dict(outcome.errors)
            if outcome.done:
                if step == "confirm":
                    return _done(keep, _("Registration %(merged)s merged into %(kept)s.",
                                         merged=format_number(duplicate.registration_number),
                                         kept=format_number(keep.registration_number)))
                return _page("changes/merge_confirm.html", actor, form, {}, keep=keep, duplicate=duplicate,
                             rows=side_by_side(keep, duplicate))
    return _page("changes/merge.html", actor, form, errors, survivors=SURVIVORS, form_fields={"other", "keep", "reason"})
