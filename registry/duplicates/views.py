"""/staff/duplicates: the review queue (outreach staff and admins; the ministry reads figures
and changes no record: 403) and one pair's page, both registrations side by side, with the
reasons in words and the decision: merge (through the lifecycle's merge), dismiss (never
proposed again), defer. A pair outside the account's province, or spanning provinces for
anyone but an admin, is a 404, as a registration outside the province is."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from registry import clock
from registry.actors import lifecycle
from registry.actors.fields import LABELS
from registry.actors.labels import STATUS_LABELS, place, shown
from registry.actors.models import Actor
from registry.actors.numbers import format_number
from registry.actors.validation import describe
from registry.duplicates import services
from registry.duplicates.forms import DecisionForm
from registry.duplicates.models import OPEN, REASONS, DuplicatePair
from registry.duplicates.queue import Cursor, may_review, page
from registry.events.views import audit
from registry.extensions import db
from registry.i18n import N_, current_locale
from registry.web.access import roles_required

bp = Blueprint("duplicates", __name__, url_prefix="/staff/duplicates")

REVIEW_ROLES = lifecycle.CHANGE_ROLES
ACTIONS = ("merge", "dismiss", "defer")
SIDES = {"first": N_("The first (left) stays"), "second": N_("The second (right) stays")}
PAIR_STATUS = {"pending": N_("Waiting for a decision"), "deferred": N_("Deferred"), "dismissed": N_("Dismissed: not one person"),
               "merged": N_("Merged"), "closed": N_("Closed: one of the two is no longer active")}
SHOWN_FIELDS = ("category", "full_name", "gender", "date_of_birth", "national_id", "phone", "sector",
                "business_name", "workers", "registered_on")
# Lifecycle refusals name the merge's own fields; on this page they belong to these.
ON_PAGE = {"keep": "keep", "duplicate": "keep", "reason": "reason"}


def _staff():  # type: ignore[no-untyped-def]
    return current_user._get_current_object()


@bp.get("")
@roles_required(*REVIEW_ROLES)
def index():  # type: ignore[no-untyped-def]
    typed = request.args.get("after")
    after = Cursor.parse(typed)
    if typed is not None and after is None:
        return make_response(render_template("error.html", title=_("This page does not exist"),
                                             message=_("The “after” part of the address is not a page of the queue. Open the queue from its first page.")), 400)
    user = _staff()
    return render_template("duplicates/index.html", page=page(db.session, user.role, user.province_code, after),
                           reasons=REASONS, pair_status=PAIR_STATUS, first_page=after is None)


def _rows(first: Actor, second: Actor) -> list[tuple[str, str, str, bool]]:
    """(label, first's value, second's value, the same?) for the side-by-side table."""
    locale = current_locale()

    def value(actor: Actor, name: str) -> str:
        raw = getattr(actor, name)
        return shown(name, raw.isoformat() if isinstance(raw, date) else None if raw is None else str(raw), locale)

    def area(actor: Actor) -> str:
        return ", ".join(place(code, locale) for code in (actor.commune_code, actor.district_code, actor.province_code))

    rows = [(_("Registration number"), format_number(first.registration_number), format_number(second.registration_number)),
            (_("Status"), _(STATUS_LABELS[first.status]), _(STATUS_LABELS[second.status]))]
    rows += [(_(LABELS[name]), value(first, name), value(second, name)) for name in SHOWN_FIELDS[:6]]
    rows.append((_("Area"), area(first), area(second)))
    rows += [(_(LABELS[name]), value(first, name), value(second, name)) for name in SHOWN_FIELDS[6:]]
    return [(label, a, b, a == b or i == 0) for i, (label, a, b) in enumerate(rows)]  # numbers always differ


def _pair_or_404(pair_id: int) -> tuple[DuplicatePair, Actor, Actor]:
    pair = db.session.get(DuplicatePair, pair_id)
    if pair is None:
        abort(404)
    first, second = db.session.get(Actor, pair.first_actor_id), db.session.get(Actor, pair.second_actor_id)
    user = _staff()
    if first is None or second is None or not may_review(user.role, user.province_code, first, second):
        abort(404)
    return pair, first, second


@bp.route("/<int:pair_id>", methods=["GET", "POST"])
@roles_required(*REVIEW_ROLES)
def pair(pair_id: int):  # type: ignore[no-untyped-def]
    pair, first, second = _pair_or_404(pair_id)
    if pair.status in OPEN and (first.status != "active" or second.status != "active"):
        services.close_settled(db.session, clock.now(), pair_ids=[pair.id])  # merged or deactivated elsewhere
        db.session.commit()
        db.session.refresh(pair)
    form = DecisionForm() if request.method == "POST" else DecisionForm(formdata=None, data={"reason": _("Same person, registered twice (duplicate review)")})
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        action = form.action.data
        if pair.status not in OPEN:
            errors["action"] = [_("This pair was decided already: %(status)s.", status=_(PAIR_STATUS[pair.status]))]
            status = 409
        elif action not in ACTIONS:
            errors["action"] = [_("Choose one: merge, not one person, or decide later.")]
        elif action == "merge" and (form.keep.data not in SIDES or not (form.reason.data or "").strip()):
            if form.keep.data not in SIDES:
                errors["keep"] = [_("Required. Choose which registration stays.")]
            if not (form.reason.data or "").strip():
                errors["reason"] = [_("Required. Say why the registration is changed.")]
        else:
            done = _decide(pair, first, second, action, form, errors)
            if done:
                db.session.commit()
                flash(done, "ok")
                return redirect(url_for(".index"), 303)
        status = status if status != 200 else 422
    else:
        audit("actor_viewed", subject=f"actor {first.id}", detail={"duplicate_pair": pair.id})
        audit("actor_viewed", subject=f"actor {second.id}", detail={"duplicate_pair": pair.id})
        db.session.commit()
    return render_template("duplicates/pair.html", pair=pair, first=first, second=second, rows=_rows(first, second),
                           reasons=REASONS, pair_status=PAIR_STATUS, sides=SIDES, form=form, errors=errors,
                           same_category=first.category == second.category,
                           labels={"action": _("Decision"), "keep": _("Which registration stays"), "reason": _("Reason")}), status


def _decide(pair: DuplicatePair, first: Actor, second: Actor, action: str, form: DecisionForm,
            errors: dict[str, list[str]]) -> str | None:
    """Apply the decision (flush only); the message to show, or None with `errors` filled."""
    now, user, ip = clock.now(), _staff(), request.remote_addr
    if action == "dismiss":
        services.dismiss(db.session, pair, user, now, ip=ip)
        return _("Dismissed: these two registrations will not be proposed again.")
    if action == "defer":
        services.defer(db.session, pair, user, now, ip=ip)
        return _("Deferred: the pair stays in the queue, after the pairs waiting for a decision.")
    keep, duplicate = (first, second) if form.keep.data == "first" else (second, first)
    try:
        services.merge(db.session, pair, keep, duplicate, form.reason.data or "", user, now, ip=ip)
    except lifecycle.ChangeRefused as error:
        db.session.rollback()
        for problem in error.errors:
            errors.setdefault(ON_PAGE.get(problem.field, "keep"), []).append(describe(problem, _, with_field=False))
        return None
    except lifecycle.OutOfScope:
        db.session.rollback()
        abort(404)
    return _("Registration %(merged)s merged into %(kept)s.", merged=format_number(duplicate.registration_number),
             kept=format_number(keep.registration_number))
