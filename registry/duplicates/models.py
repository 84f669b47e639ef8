"""One proposed pair of registrations that may be one person. Holds reason codes and a
score, never a personal value: the records themselves are read where they may be read."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from registry.actors.models import Actor, ActorId
from registry.database import one_of
from registry.extensions import db
from registry.i18n import N_

# pending and deferred wait for staff; dismissed and merged are their decisions; closed: one
# of the two was merged, deactivated or erased elsewhere, so there is nothing left to decide.
STATUSES = ("pending", "deferred", "dismissed", "merged", "closed")
OPEN = ("pending", "deferred")
SOURCES = ("registration", "import", "scan", "migration")
# Reason codes, stored comma-separated; the words staff read. Append, never rename.
REASONS: dict[str, str] = {
    "same_birth_name": N_("Same category and date of birth, and the same name once spelling variants of Khmer letters are set aside."),
    "same_birth_roman": N_("Same category and date of birth, and names that sound alike across Khmer and Latin letters."),
    "phone_near": N_("Phone numbers one digit or one swap of two digits apart (or the same), with the same name (in Khmer or Latin letters)."),
    "same_national_id_other_category": N_("The same national ID in another category: one person registered in two categories."),
    "renormalised": N_("Became the same identity (same phone, date of birth and name) when stored names were compared by the new Khmer rules."),
}


class DuplicatePair(db.Model):  # type: ignore[name-defined]
    """Two registrations, lower id first; proposed once (a dismissed pair is never proposed again)."""

    __tablename__ = "duplicate_pair"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    first_actor_id: Mapped[int] = mapped_column(ActorId, ForeignKey("actor.id"))
    second_actor_id: Mapped[int] = mapped_column(ActorId, ForeignKey("actor.id"))
    score: Mapped[int] = mapped_column(SmallInteger)
    reasons: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(12))
    # Both in one province: that province's staff review it; NULL: it spans provinces -> admins.
    province_code: Mapped[str | None] = mapped_column(String(2))
    found_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))

    __table_args__ = (
        UniqueConstraint("first_actor_id", "second_actor_id", name="uq_duplicate_pair_actors"),
        CheckConstraint("first_actor_id < second_actor_id", name="ordered"),
        CheckConstraint("score BETWEEN 0 AND 100", name="score"),
        CheckConstraint(one_of("status", STATUSES), name="status"),
        CheckConstraint(one_of("source", SOURCES), name="source"),
        Index("ix_duplicate_pair_queue", "status", "province_code", "id"),
        Index("ix_duplicate_pair_second_actor_id", "second_actor_id"),
    )

    @property
    def reason_codes(self) -> list[str]:
        return [code for code in self.reasons.split(",") if code]


# The candidates a new registration is compared with for same_birth_name and same_birth_roman:
# the same category, birth and name key, or romanised key, each one index probe whatever
# the registry's size (migration 0024; 0015's index on category and birth alone made every
# look-up read everyone born that day: ~340 people a day at 10 million registrations). Each
# leads with its key, so that without statistics the planner cannot take one for the other
# and read a whole day of births over it.
Index("ix_actor_birth_name", Actor.name_key, Actor.category, Actor.date_of_birth)
Index("ix_actor_birth_roman", Actor.roman_key, Actor.category, Actor.date_of_birth)
