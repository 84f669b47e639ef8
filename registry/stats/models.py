"""Maintained counts of registrations, kept in the same transaction as every registration."""
from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Integer
from sqlalchemy.orm import Mapped, mapped_column

from registry.extensions import db


class ActorTally(db.Model):  # type: ignore[name-defined]
    """How many people arrived in (or left) the registry in one period, area, category and
    gender, in total or by one dimension's value. Counts by sector, channel and age band
    are kept for the country and the provinces; districts and communes keep totals.

    The row's identity is packed into one integer `key` (registry.stats.tally.LAYOUT
    says how, with the values' permanent slots): one area's rows over time are one key
    range, and an upsert is a rowid look-up (an eight-column text key made the import's
    upserts 3x slower on SQLite). A statistic "as of" a date adds whole months and the
    remaining days, so a query reads a few thousand rows whatever the size of the registry.
    """

    __tablename__ = "actor_tally"

    key: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(Integer)

    __table_args__ = (CheckConstraint("n >= 0", name="n"),)
