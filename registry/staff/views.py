"""Staff sign-in in steps (password; then an MFA code, or enrolment the first time; then a
new password when the one used was temporary) and sign-out."""
from __future__ import annotations

from urllib.parse import urlsplit

import segno
from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from markupsafe import Markup

from registry import clock
from registry.events.views import audit
from registry.extensions import db, limiter
from registry.staff import access, mfa
from registry.staff.forms import CodeForm, LoginForm, NewPasswordForm, RecoveryCodeForm
from registry.staff.models import ROLE_LABELS, StaffUser
from registry.staff.services import (
    StaffError, authenticate, begin_enrolment, check_code, confirm_enrolment, end_sessions, replace_recovery_codes,
    set_password, use_recovery_code,
)
from registry.web.access import roles_required

bp = Blueprint("staff", __name__, url_prefix="/staff")
MFA_LIMITS = "5 per minute;20 per hour"


def _email_key() -> str:
    return "login:" + (request.form.get("email") or "").strip().lower()


def _failed(response) -> bool:  # type: ignore[no-untyped-def]
    return response.status_code != 303


def _refused(response) -> bool:  # type: ignore[no-untyped-def]
    return response.status_code == 401


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site (no scheme, no host) is followed after sign-in."""
    if not target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc and target.startswith("/") else None


LANDING_PAGES = {"outreach": "imports.index", "ministry": "dashboard.index", "admin": "staff.home"}


def landing_page(user: StaffUser) -> str:
    """Where each role's work is: imports (outreach), the dashboard (ministry), the staff home (admin)."""
    return url_for(LANDING_PAGES[user.role])


def _subject(user: StaffUser) -> str:
    return f"staff_user {user.id}"


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"], deduct_when=_failed)
@limiter.limit("5 per minute;30 per hour", methods=["POST"], key_func=_email_key, deduct_when=_failed)
def login():  # type: ignore[no-untyped-def]
    form = LoginForm()
    failed = False
    if form.validate_on_submit():
        user = authenticate(db.session, form.email.data or "", form.password.data or "", now=clock.now())
        if user is None:
            audit("sign_in_failed", detail={"email": (form.email.data or "").strip().lower()[:254]})
            db.session.commit()
            failed = True
        else:
            access.begin_pending(user, _safe_next(request.args.get("next")))
            if not user.mfa_enrolled:
                begin_enrolment(db.session, user)
            db.session.commit()  # a rehashed password, a new MFA secret
            return redirect(url_for("staff.code" if user.mfa_enrolled else "staff.enrol"), 303)
    ended = session.pop(access.ENDED, None) if request.method == "GET" else None
    status = 401 if failed else 422 if form.errors else 200
    return render_template("staff/login.html", form=form, failed=failed, ended=ended), status


def _signed_in(user: StaffUser):  # type: ignore[no-untyped-def]
    """The last step passed: signed in for real, or on to choose a new password first."""
    if user.temporary_password_until is not None:
        access.mark_mfa_done()
        db.session.commit()  # the code's time step, a spent recovery code
        return redirect(url_for("staff.new_password"), 303)
    next_page = (access.pending() or {}).get("next")
    access.start_session(user)
    audit("sign_in", subject=_subject(user))
    db.session.commit()
    return redirect(next_page or landing_page(user), 303)


def _mfa_failed(user: StaffUser, how: str) -> None:
    audit("mfa_failed", subject=_subject(user), detail={"with": how})
    db.session.commit()


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.shared_limit("20 per minute", "mfa-ip", methods=["POST"], deduct_when=_refused)
@limiter.shared_limit(MFA_LIMITS, "mfa", methods=["POST"], key_func=access.rate_key, deduct_when=_refused)
def code():  # type: ignore[no-untyped-def]
    user = access.pending_user()
    if user is None:
        return redirect(url_for("staff.login"), 303)
    if not user.mfa_enrolled:
        return redirect(url_for("staff.enrol"), 303)
    form, recovery = CodeForm(), RecoveryCodeForm(formdata=None)
    if form.validate_on_submit():
        if check_code(db.session, user, form.code.data or "", now=clock.now()):
            return _signed_in(user)
        _mfa_failed(user, "code")
        form.code.errors.append(_wrong_code())
        return render_template("staff/code.html", form=form, recovery=recovery), 401
    return render_template("staff/code.html", form=form, recovery=recovery), 422 if form.errors else 200


@bp.post("/login/recovery")
@limiter.shared_limit("20 per minute", "mfa-ip", deduct_when=_refused)
@limiter.shared_limit(MFA_LIMITS, "mfa", key_func=access.rate_key, deduct_when=_refused)
def recovery():  # type: ignore[no-untyped-def]
    user = access.pending_user()
    if user is None or not user.mfa_enrolled:
        return redirect(url_for("staff.login"), 303)
    form, recovery_form = CodeForm(formdata=None), RecoveryCodeForm()
    if recovery_form.validate_on_submit():
        left = use_recovery_code(db.session, user, recovery_form.recovery_code.data or "", now=clock.now())
        if left is not None:
            audit("recovery_code_used", subject=_subject(user), detail={"left": left})
            return _signed_in(user)
        _mfa_failed(user, "recovery code")
        recovery_form.recovery_code.errors.append(_("That is not one of your unused recovery codes."))
        return render_template("staff/code.html", form=form, recovery=recovery_form), 401
    return render_template("staff/code.html", form=form, recovery=recovery_form), 422


@bp.route("/login/enrol", methods=["GET", "POST"])
@limiter.shared_limit("20 per minute", "mfa-ip", methods=["POST"], deduct_when=_refused)
@limiter.shared_limit(MFA_LIMITS, "mfa", methods=["POST"], key_func=access.rate_key, deduct_when=_refused)
def enrol():  # type: ignore[no-untyped-def]
    user = access.pending_user()
    if user is None:
        return redirect(url_for("staff.login"), 303)
    if user.mfa_enrolled:
        return redirect(url_for("staff.code"), 303)
    if user.mfa_secret is None:
        begin_enrolment(db.session, user)
        db.session.commit()
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        if confirm_enrolment(db.session, user, form.code.data or "", now=clock.now()):
            codes = replace_recovery_codes(db.session, user)
            audit("mfa_enrolled", subject=_subject(user))
            db.session.commit()
            onward = _signed_in(user)
            return render_template("staff/recovery_codes.html", codes=codes, onward=onward.location)
        _mfa_failed(user, "enrolment")
        form.code.errors.append(_wrong_code())
        status = 401
    elif form.errors:
        status = 422
    uri = mfa.provisioning_uri(user.mfa_secret or "", user.email)
    qr = Markup(segno.make(uri, error="m").svg_inline(scale=4, title=_("QR code for your authenticator app")))
    return render_template("staff/enrol.html", form=form, qr=qr, secret=mfa.grouped(user.mfa_secret or "")), status


@bp.route("/login/new-password", methods=["GET", "POST"])
def new_password():  # type: ignore[no-untyped-def]
    user, state = access.pending_user(), access.pending()
    if user is None or state is None or not state["mfa"]:
        return redirect(url_for("staff.login"), 303)
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            set_password(db.session, user, form.new_password.data or "")
        except StaffError as error:
            form.new_password.errors.append(_(error.message, **error.params))
        else:
            audit("password_changed", subject=_subject(user), detail={"temporary_replaced": True})
            return _signed_in(user)
    return render_template("staff/new_password.html", form=form), 422 if form.errors else 200


@bp.get("")
@roles_required("admin")
def home():  # type: ignore[no-untyped-def]
    """The admins' start page: what they use, from the same list as the navigation bar."""
    return render_template("staff/home.html")


@bp.post("/logout")
def logout():  # type: ignore[no-untyped-def]
    if current_user.is_authenticated:
        audit("sign_out", subject=_subject(current_user))
        end_sessions(current_user._get_current_object())  # this cookie, and any copy of it, is refused from now on
        db.session.commit()
    logout_user()
    access.fresh_session()
    return redirect(url_for("registration.home"), 303)


@bp.app_context_processor
def inject_user() -> dict[str, object]:
    return {"staff_user": current_user if current_user.is_authenticated else None, "role_labels": ROLE_LABELS}


def _wrong_code() -> str:
    return _("That code is not right. Type the 6 digits your app shows now.")

