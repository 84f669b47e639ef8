"""Worker-facing pages: register, confirmation, certificate (page and PDF), status lookup, area lists."""
from __future__ import annotations

from datetime import date

from flask import (
    Blueprint,
    Response,
    abort,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _

from registry import areas, clock, vocab
from registry.actors import proof
from registry.actors.fields import ERROR_LABELS
from registry.actors.models import Actor
from registry.database import committed
from registry.actors.numbers import format_number, normalise_number
from registry.actors.normalise import identity_name
from registry.actors.services import DuplicateRegistration, register_actor
from registry.actors.validation import Problem, describe, normalise_name, parse_date, parse_phone, validate_registration
from registry.duplicates import services as duplicates
from registry.extensions import db, limiter
from registry.i18n import current_locale
from registry.registration.certificate import certificate_context
from registry.registration.certificate_pdf import build_certificate_pdf, certificate_filename
from registry.events.views import audit
from registry.registration.forms import RecoverForm, RegistrationForm, StatusForm
from registry.registration.receipt import send_after_response

bp = Blueprint("registration", __name__)
_CERTIFICATE_KEY = "certificate_actor"
# [actor id, when (epoch seconds)]: proved with number + phone + date of birth, which lets the
# person ask for changes (/update) for PROVEN_FOR seconds. Registering alone does not.
_PROVEN_KEY = "proven_actor"
PROVEN_FOR = 30 * 60



def area_choices(form: RegistrationForm) -> dict[str, list[tuple[str, str]]]:
    """Options for the three area lists: districts of the chosen province, and so on (the staff
    correction form shows the same lists)."""
    locale = current_locale()
    province, district = (form.province.data or "").strip(), (form.district.data or "").strip()
    district_list = areas.districts(province)
    commune_list = areas.communes(district) if district[:2] == province else []
    return {
        "province": _options(areas.provinces(), locale),
        "district": _options(district_list, locale),
        "commune": _options(commune_list, locale),
    }


def _options(records: list[areas.Area], locale: str) -> list[tuple[str, str]]:
    """(code, name) pairs; a name shared by several places (eight communes "Kokir") shows its code."""
    names = [areas.area_name(r, locale) for r in records]
    return [
        (r.code, f"{name} ({r.code})" if names.count(name) > 1 else name)
        for r, name in zip(records, names)
    ]


@bp.app_context_processor
def inject_vocab() -> dict[str, object]:
    return {"vocab": vocab}


@bp.app_template_filter("regno")
def regno_filter(number: str) -> str:
    return format_number(number)


def area_label(actor: Actor) -> str:
    """'Commune, District, Province' in the reader's language."""
    locale = current_locale()
    names = [areas.area_by_code(code) for code in (actor.commune_code, actor.district_code, actor.province_code)]
    return ", ".join(areas.area_name(n, locale) for n in names if n is not None)


@bp.get("/")
def home():  # type: ignore[no-untyped-def]
    return render_template("registration/home.html")


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("120 per minute", methods=["POST"])
def register():  # type: ignore[no-untyped-def]
    form = RegistrationForm()
    attempt = Attempt()
    if request.method == "POST" and not form.refresh.data:
        actor = attempt.store(form, channel="self")
        if actor is not None:
            session[_CERTIFICATE_KEY] = actor.id
            return redirect(url_for(".done"), 303)
    return render_form(form, attempt, action=url_for(".register"))


class Attempt:
    """One posted registration form, through the validation core and the identity rule: the
    public form and the assisted one (registration.assisted) store people the same way."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}
        self.duplicate = False

    def store(self, form: RegistrationForm, *, channel: str, assisted_by_id: int | None = None,
              only_province: str | None = None) -> Actor | None:
        """The stored actor (committed; outside the session), or None with `errors` or `duplicate` set.

        `only_province`: a province-limited member of staff registers people of that province
        only. A public registration is counted against its phone and national ID
        (proof.limit_registration: the answer may say someone is registered); an assisted one
        is limited per staff account instead, by its view."""
        registration, problems = validate_registration(form.raw(), today=clock.today())
        for problem in problems:
            self.errors.setdefault(problem.field, []).append(describe(problem, _, with_field=False))
        if only_province and (form.province.data or "").strip() != only_province and "province" not in self.errors:
            self.errors["province"] = [_("Outside your province: you may register people of %(province)s only.",
                                         province=_province_name(only_province))]
        if not form.validate():
            self.errors.setdefault("consent", []).extend(str(m) for m in form.consent.errors)
        if self.errors or registration is None:
            return None
        if assisted_by_id is None:
            proof.limit_registration(registration.phone, registration.national_id)
        now = clock.now()

        def also(actor: Actor) -> None:
            duplicates.find_among(db.session, [duplicates.person_of(actor)], source="registration", now=now)  # the review queue
            if assisted_by_id is not None:
                audit("actor_registered", subject=f"actor {actor.id}", detail={"channel": channel})

        def store() -> Actor:
            return register_actor(db.session, registration, channel=channel, consented_at=now, now=now,
                                  assisted_by_id=assisted_by_id, before_counting=also)

        try:
            actor = committed(db.session, store)  # run again if chosen as a deadlock's victim
        except DuplicateRegistration:
            db.session.rollback()
            self.duplicate = True
            return None
        send_after_response(actor)  # the number by SMS, after the page has gone (registration.receipt)
        return actor


def _province_name(code: str) -> str:
    record = areas.area_by_code(code)
    return areas.area_name(record, current_locale()) if record else code


def render_form(form: RegistrationForm, attempt: Attempt, *, action: str, assisted: bool = False,
                only_province: str | None = None):  # type: ignore[no-untyped-def]
    """The registration form page (public or assisted) with what went wrong, and its status."""
    status = 409 if attempt.duplicate else 422 if attempt.errors else 200
    choices = area_choices(form)
    if only_province:
        choices["province"] = [(code, name) for code, name in choices["province"] if code == only_province]
    return (
        render_template(
            "registration/register.html",
            form=form,
            errors=attempt.errors,
            duplicate=attempt.duplicate,
            choices=choices,
            error_labels={**{name: _(label) for name, label in ERROR_LABELS.items()}, "consent": _("Consent")},
            sectors=[(code, _(label)) for code, label in vocab.SECTORS.items()],
            action=action,
            assisted=assisted,
        ),
        status,
    )


def _actor_in_session() -> Actor:
    actor_id = session.get(_CERTIFICATE_KEY)
    actor = db.session.get(Actor, actor_id) if actor_id is not None else None
    if actor is None:
        abort(404)
    return actor


@bp.get("/register/done")
def done():  # type: ignore[no-untyped-def]
    return render_template("registration/done.html", actor=_actor_in_session())


@bp.get("/certificate")
def certificate():  # type: ignore[no-untyped-def]
    return render_template("registration/certificate.html", **certificate_context(_actor_in_session()),
                           pdf_url=url_for(".certificate_pdf"))


@bp.get("/certificate.pdf")
@limiter.limit("30 per minute")  # a PDF costs ~0.2 s of CPU: nobody needs it 30 times a minute
def certificate_pdf():  # type: ignore[no-untyped-def]
    """The same certificate as a one-page PDF to keep; the number is in the file's name only."""
    actor = _actor_in_session()
    return Response(
        build_certificate_pdf(actor),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{certificate_filename(actor)}"'},
    )


def _required(form, names: tuple[str, ...]) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    """The fields left empty, each with its message (a list: the form macros show each message)."""
    return {name: [_("Required.")] for name in names if not (form[name].data or "").strip()}


def _phone_and_birth(form) -> tuple[str, date] | None:  # type: ignore[no-untyped-def]
    """The phone and date of birth as stored, or None when either cannot be one."""
    try:
        return parse_phone(form.phone.data), parse_date(form.date_of_birth.data)
    except Problem:
        return None


def prove_form(form: StatusForm) -> tuple[Actor | None, dict[str, str], str | None]:
    """The registration the three answers prove (proof.prove: a merged number gives the
    surviving one), remembered in the session; or None. Also the fields left empty, and the
    number as typed when it was merged into the one found."""
    errors = _required(form, ("registration_number", "phone", "date_of_birth"))
    if errors:
        return None, errors, None
    actor, number, known = None, normalise_number(form.registration_number.data), _phone_and_birth(form)
    if number and known:
        actor = proof.prove(db.session, number, *known)
    if actor is None:
        return None, {}, None
    session[_CERTIFICATE_KEY] = actor.id
    session[_PROVEN_KEY] = [actor.id, int(clock.now().timestamp())]
    return actor, {}, format_number(number) if number and actor.registration_number != number else None


def proven_actor() -> Actor | None:
    """The registration proved in this session (status look-up or /update) in the last
    PROVEN_FOR seconds, or None."""
    value = session.get(_PROVEN_KEY)
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value)):
        return None
    if not 0 <= clock.now().timestamp() - value[1] <= PROVEN_FOR:
        session.pop(_PROVEN_KEY, None)
        return None
    return db.session.get(Actor, value[0])


def forget_proof() -> None:
    session.pop(_PROVEN_KEY, None)


@bp.route("/status", methods=["GET", "POST"])
@limiter.limit("20 per minute;200 per day", methods=["POST"])
def status():  # type: ignore[no-untyped-def]
    """Registration number + phone + date of birth (all three; a wrong one says nothing of which)."""
    form = StatusForm()
    actor, not_found, errors, merged_from = None, False, {}, None
    if request.method == "POST":
        actor, errors, merged_from = prove_form(form)
        not_found = actor is None and not errors
    code = 422 if errors else 404 if not_found else 200
    return render_template("registration/status.html", form=form, actor=actor, not_found=not_found, errors=errors,
                           area=area_label(actor) if actor else None, merged_from=merged_from,
                           number=format_number(actor.registration_number) if actor else None), code


@bp.route("/status/recover", methods=["GET", "POST"])
@limiter.limit("10 per minute;100 per day", methods=["POST"])
def recover():  # type: ignore[no-untyped-def]
    """A lost registration number, for the person who knows the phone, date of birth and name."""
    form = RecoverForm()
    found, not_found, errors = [], False, {}
    if request.method == "POST":
        errors = _required(form, ("phone", "date_of_birth", "full_name"))
        if not errors:
            known, name = _phone_and_birth(form), normalise_name(form.full_name.data)
            if known and name:
                found = proof.recover(db.session, *known, identity_name(name))
            not_found = not found
    code = 422 if errors else 404 if not_found else 200
    return render_template("registration/recover.html", form=form, found=found, not_found=not_found, errors=errors), code


@bp.app_errorhandler(proof.TooManyAttempts)
def too_many_attempts(_error: proof.TooManyAttempts):  # type: ignore[no-untyped-def]
    db.session.rollback()
    return render_template("error.html", title=_("Too many attempts"),
                           message=_("These details were tried too often. Nothing more can be checked with them today; "
                                     "ask your local department or an outreach officer.")), 429


@bp.get("/areas/districts")
def district_options():  # type: ignore[no-untyped-def]
    locale = current_locale()
    options = _options(areas.districts(request.args.get("province", "")), locale)
    return jsonify([{"code": code, "name": name} for code, name in options])


@bp.get("/areas/communes")
def commune_options():  # type: ignore[no-untyped-def]
    locale = current_locale()
    options = _options(areas.communes(request.args.get("district", "")), locale)
    return jsonify([{"code": code, "name": name} for code, name in options])
