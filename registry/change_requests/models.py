"""A worker's request to change their registration, waiting for staff of their province."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, DateTime, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from registry.database import one_of
from registry.extensions import db

KINDS = ("change", "withdraw_consent")
STATUSES = ("pending", "approved", "rejected", "cancelled")
# What a worker may ask to change (registration form names, as lifecycle.correct takes them).
# Name, date of birth, gender, national ID and category are identity: corrected by staff who
# see the papers, never changed on a word typed on a phone.
FIELDS = ("phone", "province", "district", "commune", "sector", "business_name", "workers")
MAX_REASON = 500


class ChangeRequest(db.Model):  # type: ignore[name-defined]
    """One request. `requested` holds only the changed fields (field -> value as stored, e.g.
    "+85512345678"), NULL for a withdrawal of consent. At most one is pending per registration
    (a new one cancels the one before: partial unique index). Personal data: erased with the
    person (registry.actors.erasure)."""

    __tablename__ = "change_request"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actor.id"))
    kind: Mapped[str] = mapped_column(String(16))
    requested: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    status: Mapped[str] = mapped_column(String(10))
    # The person's province when they asked: whose staff the request went to.
    province_code: Mapped[str] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    # A rejection's reason, shown to the worker on their next status look-up.
    decision_reason: Mapped[str | None] = mapped_column(String(MAX_REASON))
    # The history row an approval wrote (the first, when several fields changed).
    actor_change_id: Mapped[int | None] = mapped_column(ForeignKey("actor_change.id"))

    __table_args__ = (
        CheckConstraint(one_of("kind", KINDS), name="kind"),
        CheckConstraint(one_of("status", STATUSES), name="status"),
        CheckConstraint("(kind = 'withdraw_consent') = (requested IS NULL)", name="requested"),
        CheckConstraint("(status = 'pending') = (decided_at IS NULL)", name="decided"),
        CheckConstraint("status <> 'rejected' OR coalesce(length(decision_reason), 0) >= 1", name="reject_reason"),
        CheckConstraint("length(province_code) = 2", name="province_code"),
        Index("uq_change_request_pending", "actor_id", unique=True,
              sqlite_where=text("status = 'pending'"), postgresql_where=text("status = 'pending'")),
        Index("ix_change_request_actor_id_id", "actor_id", "id"),
        Index("ix_change_request_status_id", "status", "id"),
    )
