"""Who is signed in: the session version in the signed cookie, idle and absolute timeouts,
and the half-signed-in state between the password and the MFA code.

A staff session holds `_user_id` (Flask-Login), `_ver` (the account's session version when it
signed in), `_signed_in` and `_seen` (Unix seconds). Raising the version on the account (sign-
out, disabling, password or MFA reset) ends every session carrying the old one, server-side.
"""
from __future__ import annotations

from typing import Any

from flask import current_app, session
from flask_login import LoginManager, login_user

from registry import clock
from registry.events.services import record
from registry.extensions import db
from registry.staff.models import StaffUser

PENDING = "pending_sign_in"
ENDED = "session_ended"  # why the last session ended ("idle" or "absolute"), shown at sign-in
SEEN_EVERY = 60  # the last-seen time is written at most once a minute (each write re-sends the cookie)


def _now() -> int:
    return int(clock.now().timestamp())


def load_user(user_id: str) -> StaffUser | None:
    """The signed-in account, if it is active and the session carries its current version."""
    user = db.session.get(StaffUser, int(user_id))
    if user is None or not user.active or session.get("_ver") != user.session_version:
        return None
    return user


def fresh_session() -> None:
    """An empty session (no fixation), keeping only the chosen language."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def start_session(user: StaffUser) -> None:
    """Sign `user` in for real: after the password and the MFA code (and a new password)."""
    session.pop(PENDING, None)
    login_user(user)
    now = _now()
    session["_ver"] = user.session_version
    session["_signed_in"] = session["_seen"] = now


def check_session_age() -> None:
    """Before each request: a staff session unused for 30 minutes, or 12 hours old, ends here
    (recorded; the sign-in page then says why). Otherwise its last-seen time moves on."""
    if "_user_id" not in session:
        return
    now, config = _now(), current_app.config
    signed_in, seen = session.get("_signed_in", 0), session.get("_seen", 0)
    reason = ("absolute" if now - signed_in >= config["STAFF_SESSION_SECONDS"]
              else "idle" if now - seen >= config["STAFF_IDLE_SECONDS"] else None)
    if reason is None:
        if now - seen >= SEEN_EVERY:
            session["_seen"] = now
        return
    user_id = int(session["_user_id"])
    if load_user(str(user_id)) is not None:  # a session ended already (sign-out elsewhere) is not recorded twice
        record(db.session, "session_expired", now=clock.now(), by_id=user_id, subject=f"staff_user {user_id}",
               detail={"reason": reason})
        db.session.commit()
    fresh_session()
    session[ENDED] = reason


def begin_pending(user: StaffUser, next_page: str | None) -> None:
    """The password was right: remember who, briefly, until the MFA step is done."""
    fresh_session()
    session[PENDING] = {"user": user.id, "ver": user.session_version, "next": next_page, "mfa": False,
                        "until": _now() + current_app.config["STAFF_HALF_SIGNED_IN_SECONDS"]}


def pending() -> dict[str, Any] | None:
    state = session.get(PENDING)
    if not state or state["until"] < _now():
        session.pop(PENDING, None)
        return None
    return state  # type: ignore[no-any-return]


def pending_user() -> StaffUser | None:
    """The account half-way through signing in (password right, MFA not yet), if any."""
    state = pending()
    if state is None:
        return None
    user = db.session.get(StaffUser, state["user"])
    if user is None or not user.active or user.session_version != state["ver"]:
        session.pop(PENDING, None)
        return None
    return user


def mark_mfa_done() -> None:
    state = session[PENDING]
    session[PENDING] = {**state, "mfa": True}


def rate_key() -> str:
    """Failed MFA codes are counted per account (the one half-signed-in), like passwords."""
    state = session.get(PENDING) or {}
    return f"mfa:{state.get('user', '-')}"


def configure_login(manager: LoginManager) -> None:
    """Who is signed in, and where to send those who are not (called by create_app)."""
    manager.user_loader(load_user)
    manager.login_view = "staff.login"
    manager.login_message = ""
    manager.session_protection = "basic"  # staff on mobile networks change IPs; no remember-me cookie is used
