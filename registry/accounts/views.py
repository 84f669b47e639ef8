"""/staff/account (every signed-in member of staff) and /staff/accounts (admins only)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from registry import clock
from registry.accounts.forms import ActionForm, ChangePasswordForm, RecoveryCodesForm
from registry.events.views import audit
from registry.extensions import db, limiter
from registry.staff.models import ROLES, StaffUser
from registry.staff.services import (
    StaffError, change_password, check_code, replace_recovery_codes, reset_mfa, reset_password, set_active,
    unused_recovery_codes,
)
from registry.web.access import roles_required

bp = Blueprint("accounts", __name__, url_prefix="/staff")


def _user_key() -> str:
    return f"account:{current_user.get_id()}"


def _not_done(response) -> bool:  # type: ignore[no-untyped-def]
    return response.status_code != 303


def _own_page(password_form: ChangePasswordForm, codes_form: RecoveryCodesForm, status: int = 200):  # type: ignore[no-untyped-def]
    left = len(unused_recovery_codes(db.session, current_user))
    return render_template("accounts/account.html", password_form=password_form, codes_form=codes_form,
                           codes_left=left), status


@bp.get("/account")
@roles_required(*ROLES)
def account():  # type: ignore[no-untyped-def]
    return _own_page(ChangePasswordForm(formdata=None), RecoveryCodesForm(formdata=None))


@bp.post("/account/password")
@roles_required(*ROLES)
@limiter.limit("5 per minute;20 per hour", key_func=_user_key, deduct_when=_not_done)
def change_own_password():  # type: ignore[no-untyped-def]
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            change_password(db.session, user, form.current_password.data or "", form.code.data or "",
                            form.new_password.data or "", now=clock.now())
        except StaffError as error:
            getattr(form, error.field or "new_password").errors.append(_(error.message, **error.params))
            if error.field == "code":
                audit("mfa_failed", subject=f"staff_user {user.id}", detail={"with": "password change"})
            db.session.commit()
        else:
            audit("password_changed", subject=f"staff_user {user.id}")
            db.session.commit()
            session["_ver"] = user.session_version  # this session goes on; every other one has ended
            flash(_("Your password is changed. Other sessions of your account have been signed out."), "ok")
            return redirect(url_for("accounts.account"), 303)
    return _own_page(form, RecoveryCodesForm(formdata=None), 422)


@bp.post("/account/recovery-codes")
@roles_required(*ROLES)
@limiter.limit("5 per minute;20 per hour", key_func=_user_key, deduct_when=lambda r: r.status_code == 422)
def renew_recovery_codes():  # type: ignore[no-untyped-def]
    form = RecoveryCodesForm()
    user = current_user._get_current_object()
    if form.validate_on_submit():
        if check_code(db.session, user, form.code.data or "", now=clock.now()):
            codes = replace_recovery_codes(db.session, user)
            audit("recovery_codes_renewed", subject=f"staff_user {user.id}")
            db.session.commit()
            return render_template("staff/recovery_codes.html", codes=codes, onward=url_for("accounts.account"))
        audit("mfa_failed", subject=f"staff_user {user.id}", detail={"with": "new recovery codes"})
        db.session.commit()
        form.code.errors.append(_("That code is not right. Type the 6 digits your app shows now."))
    return _own_page(ChangePasswordForm(formdata=None), form, 422)


# Admins -----------------------------------------------------------------------------------


@bp.get("/accounts")
@roles_required("admin")
def index():  # type: ignore[no-untyped-def]
    users = db.session.scalars(select(StaffUser).order_by(StaffUser.email)).all()
    return render_template("accounts/index.html", users=users, form=ActionForm())  # role_labels: staff.views


def _other_account(user_id: int) -> StaffUser | None:
    """The account an admin acts on; None (with a message) when it is their own."""
    if not ActionForm().validate_on_submit():
        abort(400)
    user = db.get_or_404(StaffUser, user_id)
    if user.id == current_user.id:
        flash(_("Use your own account page to change your own account."), "error")
        return None
    return user


@bp.post("/accounts/<int:user_id>/reset-password")
@roles_required("admin")
def admin_reset_password(user_id: int):  # type: ignore[no-untyped-def]
    user = _other_account(user_id)
    if user is None:
        return redirect(url_for("accounts.index"), 303)
    password = reset_password(db.session, user, now=clock.now())
    audit("password_reset", subject=f"staff_user {user.id}", detail={"email": user.email, "via": "web"})
    db.session.commit()
    return render_template("accounts/temporary_password.html", user=user, password=password)


@bp.post("/accounts/<int:user_id>/reset-mfa")
@roles_required("admin")
def admin_reset_mfa(user_id: int):  # type: ignore[no-untyped-def]
    user = _other_account(user_id)
    if user is not None:
        reset_mfa(db.session, user)
        audit("mfa_reset", subject=f"staff_user {user.id}", detail={"email": user.email, "via": "web"})
        db.session.commit()
        flash(_("The authenticator app of %(email)s is reset: they set it up again at their next sign-in.", email=user.email), "ok")
    return redirect(url_for("accounts.index"), 303)


@bp.post("/accounts/<int:user_id>/disable")
@roles_required("admin")
def admin_disable(user_id: int):  # type: ignore[no-untyped-def]
    return _set_active(user_id, False)


@bp.post("/accounts/<int:user_id>/enable")
@roles_required("admin")
def admin_enable(user_id: int):  # type: ignore[no-untyped-def]
    return _set_active(user_id, True)


def _set_active(user_id: int, active: bool):  # type: ignore[no-untyped-def]
    user = _other_account(user_id)
    if user is not None:
        set_active(db.session, user, active)
        audit("account_enabled" if active else "account_disabled", subject=f"staff_user {user.id}",
              detail={"email": user.email, "via": "web"})
        db.session.commit()
        flash(_("%(email)s can sign in again.", email=user.email) if active
              else _("%(email)s is disabled and signed out everywhere.", email=user.email), "ok")
    return redirect(url_for("accounts.index"), 303)
