"""Staff sign-in and sign-out."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from flask_login import LoginManager

from registry.events.views import audit
from registry.extensions import db, limiter
from registry.staff.forms import LoginForm
from registry.staff.models import StaffUser
from registry.staff.services import authenticate

bp = Blueprint("staff", __name__, url_prefix="/staff")


def load_user(user_id: str) -> StaffUser | None:
    user = db.session.get(StaffUser, int(user_id))
    return user if user is not None and user.active else None


def _email_key() -> str:
    return "login:" + (request.form.get("email") or "").strip().lower()


def _failed(response) -> bool:  # type: ignore[no-untyped-def]
    return response.status_code != 303


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site (no scheme, no host) is followed after sign-in."""
    if not target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc and target.startswith("/") else None


def landing_page(user: StaffUser) -> str:
    return url_for("imports.index") if user.role in ("outreach", "admin") else url_for("registration.home")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"], deduct_when=_failed)
@limiter.limit("5 per minute;30 per hour", methods=["POST"], key_func=_email_key, deduct_when=_failed)
def login():  # type: ignore[no-untyped-def]
    form = LoginForm()
    failed = False
    if form.validate_on_submit():
        user = authenticate(db.session, form.email.data or "", form.password.data or "")
        if user is None:
            audit("sign_in_failed", detail={"email": (form.email.data or "").strip().lower()[:254]})
            db.session.commit()
            failed = True
        else:
            next_page = _safe_next(request.args.get("next"))
            lang = session.get("lang")
            session.clear()  # a fresh session on sign-in (no fixation)
            if lang:
                session["lang"] = lang
            login_user(user)
            audit("sign_in", subject=f"staff_user {user.id}")
            db.session.commit()
            return redirect(next_page or landing_page(user), 303)
    status = 401 if failed else 422 if form.errors else 200
    return render_template("staff/login.html", form=form, failed=failed), status


@bp.post("/logout")
def logout():  # type: ignore[no-untyped-def]
    if current_user.is_authenticated:
        audit("sign_out", subject=f"staff_user {current_user.id}")
        db.session.commit()
    logout_user()
    return redirect(url_for("registration.home"), 303)


@bp.app_context_processor
def inject_user() -> dict[str, object]:
    return {"staff_user": current_user if current_user.is_authenticated else None}


def configure_login(manager: LoginManager) -> None:
    """Who is signed in, and where to send those who are not (called by create_app)."""
    manager.user_loader(load_user)
    manager.login_view = "staff.login"
    manager.login_message = ""
    manager.session_protection = "basic"  # staff on mobile networks change IPs; no remember-me cookie is used
