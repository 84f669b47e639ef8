"""Staff accounts. Passwords are stored only as scrypt hashes."""
from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from registry.database import one_of
from registry.extensions import db

ROLES = ("outreach", "ministry", "admin")


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

    __table_args__ = (
        CheckConstraint(one_of("role", ROLES), name="role"),
        CheckConstraint("province_code IS NULL OR length(province_code) = 2", name="province_code"),
        CheckConstraint("email = lower(email)", name="email_lowercase"),
    )

    @property
    def is_active(self) -> bool:  # Flask-Login: inactive accounts cannot sign in
        return self.active
