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
            f" AND workers BETWEEN 1 AND {vocab.MAX_WORKERS})"
            " OR (category <> 'micro_enterprise' AND business_name IS NULL AND workers IS NULL)",
            name="micro_enterprise",
        ),
        # Identity: the same category and national ID, or, without national ID, the same
        # phone, date of birth and normalised name. Partial unique indexes on both databases.
        Index(
            "uq_actor_identity_national_id",
            "category",
            "national_id",
            unique=True,
            sqlite_where=text("national_id IS NOT NULL"),
            postgresql_where=text("national_id IS NOT NULL"),
        ),
        Index(
            "uq_actor_identity_contact",
            "category",
            "phone",
            "date_of_birth",
            "name_key",
            unique=True,
            sqlite_where=text("national_id IS NULL"),
            postgresql_where=text("national_id IS NULL"),
        ),
        # The same person with a national ID, looked up by phone for a registration without one.
        Index(
            "ix_actor_phone_with_national_id",
            "category",
            "phone",
            sqlite_where=text("national_id IS NOT NULL"),
            postgresql_where=text("national_id IS NOT NULL"),
        ),
    )


class IdCounter(db.Model):  # type: ignore[name-defined]
    """Next free actor id on SQLite, which has no sequences (PostgreSQL uses actor_id_seq)."""

    __tablename__ = "id_counter"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    next_value: Mapped[int] = mapped_column(BigInteger, server_default="1")
