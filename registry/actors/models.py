"""Stored registrations. The database itself enforces identity and the coded values."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Sequence,
    SmallInteger,
    String,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from registry import vocab
from registry.database import one_of
from registry.extensions import db


ActorId = BigInteger().with_variant(Integer(), "sqlite")

STATUSES = ("active", "deactivated", "merged")
# Why a registration stopped counting. The first two say it never should have counted
# (figures revised as by a correction); the others are changes from their effective date.
DEACTIVATION_REASONS = ("error", "duplicate", "consent_withdrawn", "deceased", "left", "other")
NEVER_COUNTED = ("error", "duplicate")
CHANGE_KINDS = ("correction", "change", "deactivation", "reactivation", "merge")
VIAS = ("web", "cli", "system")
# Deactivated people who may come back: found by the identity rule and reactivated.
RETURNING = ("status = 'deactivated' AND status_reason IN ('consent_withdrawn', 'deceased', 'left', 'other')")


class Actor(db.Model):  # type: ignore[name-defined]
    """One registered informal economy actor."""

    __tablename__ = "actor"

    id: Mapped[int] = mapped_column(
        ActorId, Sequence("actor_id_seq"), primary_key=True, autoincrement=False
    )
    registration_number: Mapped[str] = mapped_column(String(10), unique=True)
    category: Mapped[str] = mapped_column(String(16))
    full_name: Mapped[str] = mapped_column(String(100))
    name_key: Mapped[str] = mapped_column(String(100))
    # registry.actors.romanise.roman_key(full_name): the duplicate look-up's index key
    roman_key: Mapped[str] = mapped_column(String(200), server_default="")
    gender: Mapped[str] = mapped_column(String(6))
    date_of_birth: Mapped[date] = mapped_column(Date)
    national_id: Mapped[str | None] = mapped_column(String(9))
    phone: Mapped[str] = mapped_column(String(16))
    province_code: Mapped[str] = mapped_column(String(2))
    district_code: Mapped[str] = mapped_column(String(4))
    commune_code: Mapped[str] = mapped_column(String(6))
    sector: Mapped[str] = mapped_column(String(20))
    business_name: Mapped[str | None] = mapped_column(String(120))
    workers: Mapped[int | None] = mapped_column(SmallInteger)
    channel: Mapped[str] = mapped_column(String(8))
    registered_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    consented_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Outreach imports: the batch and the spreadsheet row the actor came from.
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"))
    source_row: Mapped[int | None] = mapped_column(Integer)
    # The field tool's submission the row came from (KoboToolbox `_uuid`, ODK instance id,
    # registry.imports.submissions): a re-export of it is recognised. Cleared by erasure.
    source_ref: Mapped[str | None] = mapped_column(String(64))
    # Assisted registrations (channel "assisted"): the member of staff who filled in the form
    # with the person and confirmed their consent on their behalf.
    assisted_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    # The record's lifecycle (registry.actors.lifecycle): active, deactivated (with a reason
    # code and the date it takes effect) or merged into another registration.
    status: Mapped[str] = mapped_column(String(12), server_default="active")
    status_reason: Mapped[str | None] = mapped_column(String(20))
    status_note: Mapped[str | None] = mapped_column(String(500))
    status_effective: Mapped[date | None] = mapped_column(Date)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("actor.id"))
    # When the personal fields were replaced by a tombstone (registry.actors.erasure): the
    # registration stays, as its number and what the statistics count, and refuses every change.
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(one_of("category", vocab.CATEGORIES.stored_codes), name="category"),
        CheckConstraint(one_of("gender", vocab.GENDERS.stored_codes), name="gender"),
        CheckConstraint(one_of("sector", vocab.SECTORS.stored_codes), name="sector"),
        CheckConstraint(one_of("channel", vocab.CHANNELS.stored_codes), name="channel"),
        CheckConstraint("length(registration_number) = 10", name="registration_number"),
        CheckConstraint("national_id IS NULL OR length(national_id) = 9", name="national_id"),
        CheckConstraint("phone LIKE '+855%'", name="phone"),
        CheckConstraint("length(full_name) >= 2 AND length(name_key) >= 1", name="full_name"),
        CheckConstraint(
            "length(province_code) = 2"
            " AND substr(district_code, 1, 2) = province_code AND length(district_code) = 4"
            " AND substr(commune_code, 1, 4) = district_code AND length(commune_code) = 6",
            name="area_nesting",
        ),
        CheckConstraint(
            "(category = 'micro_enterprise' AND business_name IS NOT NULL"
            f" AND workers BETWEEN {vocab.MIN_WORKERS} AND {vocab.MAX_WORKERS})"
            " OR (category <> 'micro_enterprise' AND business_name IS NULL AND workers IS NULL)",
            name="micro_enterprise",
        ),
        CheckConstraint(one_of("status", STATUSES), name="status"),
        CheckConstraint(
            "(status = 'active' AND status_reason IS NULL)"
            f" OR (status = 'deactivated' AND ({one_of('status_reason', DEACTIVATION_REASONS)}))"
            " OR (status = 'merged' AND status_reason IS NULL)",
            name="status_reason",
        ),
        CheckConstraint("(status = 'merged') = (merged_into_id IS NOT NULL)", name="merged_into"),
        CheckConstraint("merged_into_id IS NULL OR merged_into_id <> id", name="merged_into_other"),
        # Identity: the same category and national ID, or, without national ID, the same
        # phone, date of birth and normalised name — among ACTIVE registrations (someone
        # deactivated as registered in error may register again). Partial unique indexes
        # on both databases; identity.find_existing spells out the same conditions.
        Index(
            "uq_actor_identity_national_id",
            "category",
            "national_id",
            unique=True,
            sqlite_where=text("national_id IS NOT NULL AND status = 'active'"),
            postgresql_where=text("national_id IS NOT NULL AND status = 'active'"),
        ),
        Index(
            "uq_actor_identity_contact",
            "category",
            "phone",
            "date_of_birth",
            "name_key",
            unique=True,
            sqlite_where=text("national_id IS NULL AND status = 'active'"),
            postgresql_where=text("national_id IS NULL AND status = 'active'"),
        ),
        # The same person with a national ID, looked up by phone for a registration without one.
        Index(
            "ix_actor_phone_with_national_id",
            "category",
            "phone",
            sqlite_where=text("national_id IS NOT NULL AND status = 'active'"),
            postgresql_where=text("national_id IS NOT NULL AND status = 'active'"),
        ),
        # People who left and may come back (reactivated, never given a second number):
        # found by phone or national ID among the deactivated for those reasons.
        Index(
            "ix_actor_returning_phone",
            "category",
            "phone",
            sqlite_where=text(RETURNING),
            postgresql_where=text(RETURNING),
        ),
        Index(
            "ix_actor_returning_national_id",
            "category",
            "national_id",
            sqlite_where=text(RETURNING + " AND national_id IS NOT NULL"),
            postgresql_where=text(RETURNING + " AND national_id IS NOT NULL"),
        ),
        # Staff search (registry.records.search, migration 0011): by phone, national ID,
        # registration date (the default order), import batch, and any part of a name
        # (trigram GIN on PostgreSQL; on SQLite a narrow B-tree that search scans).
        Index("ix_actor_phone", "phone"),
        Index("ix_actor_national_id", "national_id"),
        Index("ix_actor_registered_on", "registered_on", "id"),
        Index("ix_actor_import_batch_id", "import_batch_id", "source_row"),
        # One registration per field-tool submission (imports.submissions looks it up here).
        Index("uq_actor_source_ref", "source_ref", unique=True,
              sqlite_where=text("source_ref IS NOT NULL"), postgresql_where=text("source_ref IS NOT NULL")),
        Index("ix_actor_name_key", "name_key", postgresql_using="gin", postgresql_ops={"name_key": "gin_trgm_ops"}),
    )


class ActorSegment(db.Model):  # type: ignore[name-defined]
    """One stretch of a person's time in the active registry, [start, end_on), with the
    values the statistics count them under. An active actor with no rows here has the one
    open segment its registration opened (registered_on, its current values): rows are
    written only when the lifecycle first touches the person. Gender, date of birth and
    channel come from the actor row (corrected everywhere, never changed from a date).
    Derived data, rewritten by corrections; the history is `actor_change`."""

    __tablename__ = "actor_segment"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actor.id"), index=True)
    start: Mapped[date] = mapped_column(Date)
    end_on: Mapped[date | None] = mapped_column(Date)
    commune_code: Mapped[str] = mapped_column(String(6))
    category: Mapped[str] = mapped_column(String(16))
    sector: Mapped[str] = mapped_column(String(20))
    in_flow: Mapped[str] = mapped_column(String(10))
    out_flow: Mapped[str | None] = mapped_column(String(10))

    __table_args__ = (
        CheckConstraint("in_flow = 'arrived' OR in_flow = 'moved_in'", name="in_flow"),
        CheckConstraint("(end_on IS NULL AND out_flow IS NULL) OR (end_on >= start"
                        " AND (out_flow = 'left' OR out_flow = 'moved_out'))", name="out_flow"),
    )


class ActorChange(db.Model):  # type: ignore[name-defined]
    """The history of a registration, append-only (migration 0010's triggers refuse UPDATE
    and DELETE): who (a staff account, or NULL with `via` for the command line or the
    system), when, what kind, which field, old -> new, why, from when. Holds personal values,
    so it is read only where the record itself may be read (the event log holds none)."""

    __tablename__ = "actor_change"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actor.id"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    via: Mapped[str] = mapped_column(String(12))
    kind: Mapped[str] = mapped_column(String(12))
    field: Mapped[str | None] = mapped_column(String(40))
    old: Mapped[str | None] = mapped_column(String(500))
    new: Mapped[str | None] = mapped_column(String(500))
    reason: Mapped[str] = mapped_column(String(500))
    effective: Mapped[date | None] = mapped_column(Date)
    other_actor_id: Mapped[int | None] = mapped_column(ForeignKey("actor.id"))  # a merge's other registration

    __table_args__ = (
        CheckConstraint(one_of("kind", CHANGE_KINDS), name="kind"),
        CheckConstraint(one_of("via", VIAS), name="via"),
        CheckConstraint("length(reason) >= 1", name="reason"),
        Index("ix_actor_change_actor_id_id", "actor_id", "id"),
        Index("ix_actor_change_at", "at"),  # changes since a date (registry.actors.revisions)
    )


class IdCounter(db.Model):  # type: ignore[name-defined]
    """Next free actor id on SQLite, which has no sequences (PostgreSQL uses actor_id_seq)."""

    __tablename__ = "id_counter"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    next_value: Mapped[int] = mapped_column(BigInteger, server_default="1")
