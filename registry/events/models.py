"""The event table. Append-only: the database itself refuses UPDATE and DELETE (triggers in
migration 0006), and the application has no operation that changes a row."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.extensions import db


class Event(db.Model):  # type: ignore[name-defined]
    """Something an auditor may ask about: who (a staff account, or nobody), what, when,
    from where, about what. `detail` holds what the auditor needs (never a password); it is
    read only by admins and never written to log lines."""

    __tablename__ = "event"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(40))
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    ip: Mapped[str | None] = mapped_column(String(45))
    subject: Mapped[str | None] = mapped_column(String(80))  # what it was about, e.g. "indicator 12"
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    staff_user = relationship("StaffUser", lazy="joined")

    __table_args__ = (
        Index("ix_event_kind_at", "kind", "at"),
        Index("ix_event_staff_user_id_at", "staff_user_id", "at"),
        Index("ix_event_subject_id", "subject", "id"),  # everything about one thing, newest first (0013)
    )
