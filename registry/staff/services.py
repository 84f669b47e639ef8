"""Staff accounts: creating them, checking passwords and MFA codes, changing, resetting,
disabling. Plain functions that only flush; the views and the CLI commit and record events."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from registry import areas, clock
from registry.i18n import N_
from registry.staff import mfa
from registry.staff.models import ROLES, RecoveryCode, StaffUser
from registry.staff.passwords import (
    hash_password, needs_rehash, password_problem, temporary_password, verify_password, waste_a_verification,
)

TEMPORARY_PASSWORD_LIFETIME = timedelta(hours=72)


class StaffError(ValueError):
    """An account cannot be changed as asked. `message` (English, to translate) and `params`
    say why; `field` names the form field at fault, when there is one."""

    def __init__(self, message: str, field: str | None = None, **params: object) -> None:
        self.message, self.field, self.params = message, field, params
        super().__init__(message % params if params else message)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_by_email(session: Session, email: str) -> StaffUser | None:
    return session.scalar(select(StaffUser).where(StaffUser.email == normalise_email(email)))


def _check_new_password(password: str, email: str, field: str = "password") -> None:
    problem = password_problem(password, email)
    if problem is not None:
        message, params = problem
        raise StaffError(message, field, **params)


def create_user(
    session: Session, email: str, password: str, role: str, province_code: str | None, *, now: datetime
) -> StaffUser:
    email = normalise_email(email)
    if "@" not in email or len(email) > 254:
        raise StaffError("email: write a full email address, e.g. name@misti.gov.kh")
    if role not in ROLES:
        raise StaffError(f"role: use one of {', '.join(ROLES)}")
    _check_new_password(password, email)
    if province_code is not None and areas.area_by_code(province_code.zfill(2)) is None:
        raise StaffError("province: use a 2-digit province code, e.g. 12 for Phnom Penh")
    if find_by_email(session, email) is not None:
        raise StaffError(f"email: an account for {email} already exists")
    user = StaffUser(
        email=email,
        password_hash=hash_password(password),
        role=role,
        province_code=province_code.zfill(2) if province_code else None,
        active=True,
        created_at=now,
        session_version=1,
    )
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, email: str, password: str, *, now: datetime) -> StaffUser | None:
    """The active account with that email and password, or None (same cost either way). A
    hash in an older format or with older parameters is replaced (flushed, for the caller to
    commit); an expired temporary password is refused."""
    user = find_by_email(session, email)
    if user is None:
        waste_a_verification(password)
        return None
    if not verify_password(user.password_hash, password) or not user.active:
        return None
    if user.temporary_password_until is not None and clock.as_utc(user.temporary_password_until) < now:
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.flush()
    return user


def end_sessions(user: StaffUser) -> None:
    """Every session of `user` stops being signed in (they carry the old version)."""
    user.session_version += 1


def set_password(session: Session, user: StaffUser, new_password: str) -> None:
    """A new password chosen by the user (after a check of who they are); other sessions end."""
    _check_new_password(new_password, user.email, "new_password")
    if verify_password(user.password_hash, new_password):
        raise StaffError(N_("Choose a password different from the one you have now."), "new_password")
    user.password_hash = hash_password(new_password)
    user.temporary_password_until = None
    end_sessions(user)
    session.flush()


def change_password(session: Session, user: StaffUser, current: str, code: str, new_password: str,
                    *, now: datetime) -> None:
    """The user's own change: their current password and a code from their app first."""
    if not verify_password(user.password_hash, current):
        raise StaffError(N_("That is not your current password."), "current_password")
    if not check_code(session, user, code, now=now):
        raise StaffError(N_("That code is not right. Type the 6 digits your app shows now."), "code")
    set_password(session, user, new_password)


def reset_password(session: Session, user: StaffUser, *, now: datetime) -> str:
    """An admin's reset: a random temporary password (returned once, to hand over), valid for
    72 hours and to be changed at the next sign-in; every session of the account ends. MFA
    stays as it is (reset it on its own when the phone is lost too)."""
    password = temporary_password()
    user.password_hash = hash_password(password)
    user.temporary_password_until = now + TEMPORARY_PASSWORD_LIFETIME
    end_sessions(user)
    session.flush()
    return password


def set_active(session: Session, user: StaffUser, active: bool) -> None:
    """Disable (every session ends, sign-in refused) or enable an account."""
    user.active = active
    if not active:
        end_sessions(user)
    session.flush()


# MFA -------------------------------------------------------------------------------------


def begin_enrolment(session: Session, user: StaffUser) -> str:
    """A new TOTP secret for an account that has none confirmed (each sign-in starts afresh)."""
    if user.mfa_enrolled:
        raise StaffError("mfa: this account is already enrolled")
    user.mfa_secret = mfa.new_secret()
    user.mfa_last_step = None
    session.flush()
    return user.mfa_secret


def confirm_enrolment(session: Session, user: StaffUser, code: str, *, now: datetime) -> bool:
    """True, and the account enrolled, when `code` comes from the app holding the new secret."""
    if user.mfa_enrolled or user.mfa_secret is None:
        return False
    step = mfa.matching_step(user.mfa_secret, code, now, None)
    if step is None:
        return False
    user.mfa_enrolled_at, user.mfa_last_step = now, step
    session.flush()
    return True


def check_code(session: Session, user: StaffUser, code: str, *, now: datetime) -> bool:
    """True when `code` is the account's current TOTP code (±1 step) and was not used before."""
    if not user.mfa_enrolled or user.mfa_secret is None:
        return False
    step = mfa.matching_step(user.mfa_secret, code, now, user.mfa_last_step)
    if step is None:
        return False
    user.mfa_last_step = step
    session.flush()
    return True


def replace_recovery_codes(session: Session, user: StaffUser) -> list[str]:
    """New one-time recovery codes (returned once, to show; only their hashes are kept); the
    earlier ones stop working."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.staff_user_id == user.id))
    codes = mfa.new_recovery_codes()
    session.add_all(RecoveryCode(staff_user_id=user.id, code_hash=hash_password(code)) for code in codes)
    session.flush()
    return [mfa.shown(code) for code in codes]


def unused_recovery_codes(session: Session, user: StaffUser) -> list[RecoveryCode]:
    return list(session.scalars(select(RecoveryCode).where(
        RecoveryCode.staff_user_id == user.id, RecoveryCode.used_at.is_(None)).order_by(RecoveryCode.id)))


def use_recovery_code(session: Session, user: StaffUser, text: str, *, now: datetime) -> int | None:
    """Spend one recovery code: how many are left after it, or None when it is not one."""
    code = mfa.clean_recovery_code(text)
    unused = unused_recovery_codes(session, user) if user.mfa_enrolled and len(code) == 10 else []
    for stored in unused:
        if verify_password(stored.code_hash, code):
            stored.used_at = now
            session.flush()
            return len(unused) - 1
    return None


def reset_mfa(session: Session, user: StaffUser) -> None:
    """An admin's reset (a lost phone): no secret, no recovery codes, every session ends; the
    user enrols again after their password at the next sign-in."""
    user.mfa_secret = user.mfa_enrolled_at = user.mfa_last_step = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.staff_user_id == user.id))
    end_sessions(user)
    session.flush()
