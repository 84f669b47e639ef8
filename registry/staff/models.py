"""Staff accounts and their MFA recovery codes. Passwords and recovery codes are stored only
as argon2id hashes (older accounts may still hold a werkzeug scrypt hash until they next
sign in)."""
from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from registry.database import one_of
from registry.extensions import db
from registry.i18n import N_

ROLES = ("outreach", "ministry", "admin")
ROLE_LABELS = {"outreach": N_("Outreach"), "ministry": N_("Ministry"), "admin": N_("Administrator")}


class StaffUser(UserMixin, db.Model):  # type: ignore[name-defined]
    """A member of staff; `province_code` limits them to one province when set."""

    __tablename__ = "staff_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    province_code: Mapped[str | None] = mapped_column(String(2))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Carried in the signed session cookie; a session holding another number is not signed
    # in. Raised by sign-out, disabling, a password change or reset and an MFA reset.
    session_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # Set when an admin reset the password: it is temporary, must be changed at the next
    # sign-in, and is refused after this moment.
    temporary_password_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # TOTP (RFC 6238): the base32 secret, set when enrolment starts; enrolled once confirmed.
    mfa_secret: Mapped[str | None] = mapped_column(String(64))
    mfa_enrolled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    mfa_last_step: Mapped[int | None] = mapped_column(Integer)  # the last time step accepted: no code twice

    __table_args__ = (
        CheckConstraint(one_of("role", ROLES), name="role"),
        CheckConstraint("province_code IS NULL OR length(province_code) = 2", name="province_code"),
        CheckConstraint("email = lower(email)", name="email_lowercase"),
    )

    @property
    def is_active(self) -> bool:  # Flask-Login: inactive accounts cannot sign in
        return self.active

    @property
    def mfa_enrolled(self) -> bool:
        return self.mfa_enrolled_at is not None


class RecoveryCode(db.Model):  # type: ignore[name-defined]
    """A one-time MFA recovery code of an account (its hash only); used once, then kept as used."""

    __tablename__ = "staff_recovery_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    code_hash: Mapped[str] = mapped_column(String(255))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_staff_recovery_code_staff_user_id", "staff_user_id"),)
