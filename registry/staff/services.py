"""Creating staff accounts and checking passwords: plain functions that only flush."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from registry import areas
from registry.staff.models import ROLES, StaffUser

MIN_PASSWORD_LENGTH = 12
# Compared against when the email is unknown, so both cases take the same time.
_DUMMY_HASH = generate_password_hash("not-a-real-password-" * 2, method="scrypt")


class StaffError(ValueError):
    """An account cannot be created as asked; the message says why."""


def normalise_email(email: str) -> str:
    return email.strip().lower()


def create_user(
    session: Session, email: str, password: str, role: str, province_code: str | None, *, now: datetime
) -> StaffUser:
    email = normalise_email(email)
    if "@" not in email or len(email) > 254:
        raise StaffError("email: write a full email address, e.g. name@misti.gov.kh")
    if role not in ROLES:
        raise StaffError(f"role: use one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StaffError(f"password: use at least {MIN_PASSWORD_LENGTH} characters")
    if province_code is not None and areas.area_by_code(province_code.zfill(2)) is None:
        raise StaffError("province: use a 2-digit province code, e.g. 12 for Phnom Penh")
    if session.scalar(select(StaffUser.id).where(StaffUser.email == email)) is not None:
        raise StaffError(f"email: an account for {email} already exists")
    user = StaffUser(
        email=email,
        password_hash=generate_password_hash(password, method="scrypt"),
        role=role,
        province_code=province_code.zfill(2) if province_code else None,
        active=True,
        created_at=now,
    )
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, email: str, password: str) -> StaffUser | None:
    """The active account with that email and password, or None (same cost either way)."""
    user = session.scalar(select(StaffUser).where(StaffUser.email == normalise_email(email)))
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.active:
        return None
    return user
