"""Annual indicators of the ministry and the audit trail of every correction."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, Float, ForeignKey, Integer, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.database import one_of
from registry.extensions import db
from registry.i18n import N_, localised

# The units of the dataset, with the words a reader sees (the stored unit is the key).
UNITS: dict[str, str] = {
    "count": N_("count"),
    "percent": N_("percent"),
    "USD billion": N_("USD billion"),
    "million m³": N_("million m³"),
}
SECTIONS = ("industry", "sme", "standards", "metrology", "accreditation", "laboratory", "water",
            "informal_economy", "institutional")


class Indicator(db.Model):  # type: ignore[name-defined]
    """One figure for one year, with its unit and source; `derived` marks a value worked
    out from the document (e.g. 2023 from a 2024 value and its stated increase)."""

    __tablename__ = "indicator"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(48))
    year: Mapped[int] = mapped_column(SmallInteger)
    section: Mapped[str] = mapped_column(String(20))
    position: Mapped[int] = mapped_column(SmallInteger)  # order within the table
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(24))
    label_en: Mapped[str] = mapped_column(String(200))
    label_km: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(300))
    derived: Mapped[bool] = mapped_column(Boolean, default=False)
    derivation: Mapped[str | None] = mapped_column(String(300))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("code", "year"),
        CheckConstraint(one_of("section", SECTIONS), name="section"),
        CheckConstraint("year BETWEEN 1990 AND 2100", name="year"),
    )

    @property
    def unit_label(self) -> str:
        """The unit as an msgid (translated where shown); an unknown unit as stored."""
        return UNITS.get(self.unit, self.unit)

    def label(self, locale: str) -> str:
        """The label in `locale`; indicators are labelled in Khmer and English (the fallback)."""
        return localised({"km": self.label_km, "en": self.label_en}, locale)


class IndicatorChange(db.Model):  # type: ignore[name-defined]
    """Who changed an indicator's value, when, from what to what (and why)."""

    __tablename__ = "indicator_change"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicator.id"), index=True)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))  # None: loaded from a file
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    old_value: Mapped[float] = mapped_column(Float)
    new_value: Mapped[float] = mapped_column(Float)
    note: Mapped[str] = mapped_column(String(300))

    changed_by = relationship("StaffUser", lazy="joined")
