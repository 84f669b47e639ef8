"""Loading the indicator dataset and correcting values, every change audited (flush only)."""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry.indicators.models import SECTIONS, Indicator, IndicatorChange

DATASET = Path(__file__).with_name("misti_indicators.csv")
COLUMNS = ("code", "year", "section", "unit", "value", "label_en", "label_km", "source", "derived", "derivation")


class IndicatorFileError(ValueError):
    """The indicator file cannot be loaded; nothing was changed."""


@dataclass(frozen=True)
class LoadResult:
    added: int
    changed: int
    unchanged: int


def parse_value(text: str) -> float:
    """A figure as written by people: '1,160,181', '20.456', '73.68 %'."""
    cleaned = text.replace(",", "").replace("%", "").replace("\u00a0", "").strip()
    try:
        value = float(cleaned)
    except ValueError:
        raise ValueError(f"“{text}” is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"“{text}” is not a number")
    return value


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise IndicatorFileError(f"{path.name}: missing columns {', '.join(missing)}")
        rows = list(reader)
    for number, row in enumerate(rows, start=2):
        try:
            parse_value(row["value"])
            int(row["year"])
        except ValueError as error:
            raise IndicatorFileError(f"{path.name} row {number}: {error}") from None
        if row["section"] not in SECTIONS:
            raise IndicatorFileError(f"{path.name} row {number}: unknown section “{row['section']}”")
        if row["derived"] not in ("yes", "no"):
            raise IndicatorFileError(f"{path.name} row {number}: derived must be yes or no")
    return rows


def load_file(session: Session, path: Path, *, now: datetime) -> LoadResult:
    """Add or update indicators from a CSV (columns COLUMNS); a changed value is audited."""
    rows = _read(path)
    existing = {(i.code, i.year): i for i in session.scalars(select(Indicator))}
    added = changed = unchanged = 0
    for position, row in enumerate(rows):
        key = (row["code"], int(row["year"]))
        value = parse_value(row["value"])
        fields = {
            "section": row["section"], "unit": row["unit"], "label_en": row["label_en"], "label_km": row["label_km"],
            "source": row["source"], "derived": row["derived"] == "yes", "derivation": row["derivation"] or None,
            "position": position,
        }
        indicator = existing.get(key)
        if indicator is None:
            session.add(Indicator(code=key[0], year=key[1], value=value, updated_at=now, **fields))
            added += 1
            continue
        for name, new in fields.items():
            setattr(indicator, name, new)
        if indicator.value != value:
            _audit(session, indicator, value, by_id=None, note=f"loaded from {path.name}", now=now)
            changed += 1
        else:
            unchanged += 1
    session.flush()
    return LoadResult(added, changed, unchanged)


def load_if_empty(session: Session, *, now: datetime) -> LoadResult | None:
    """Load the shipped dataset on first run (no indicators yet)."""
    if session.scalar(select(func.count()).select_from(Indicator)):
        return None
    return load_file(session, DATASET, now=now)


def correct(session: Session, indicator: Indicator, value: float, *, by_id: int, note: str, now: datetime) -> bool:
    """Set a corrected value (audited); False when the value is unchanged."""
    if indicator.value == value:
        return False
    _audit(session, indicator, value, by_id=by_id, note=note, now=now)
    session.flush()
    return True


def _audit(session: Session, indicator: Indicator, value: float, *, by_id: int | None, note: str, now: datetime) -> None:
    session.add(IndicatorChange(indicator_id=indicator.id, changed_by_id=by_id, changed_at=now,
                                old_value=indicator.value, new_value=value, note=note[:300]))
    indicator.value = value
    indicator.updated_at = now


def for_year(session: Session, year: int) -> list[tuple[Indicator, Indicator | None]]:
    """The year's indicators in dataset order, each with the previous year's (or None)."""
    rows = session.scalars(select(Indicator).where(Indicator.year.in_((year, year - 1)))).all()
    previous = {i.code: i for i in rows if i.year == year - 1}
    current = sorted((i for i in rows if i.year == year), key=lambda i: (i.position, i.code))
    return [(i, previous.get(i.code)) for i in current]


def years(session: Session) -> list[int]:
    return list(session.scalars(select(Indicator.year).distinct().order_by(Indicator.year.desc())))


def history(session: Session, indicator_id: int) -> list[IndicatorChange]:
    return list(session.scalars(
        select(IndicatorChange).where(IndicatorChange.indicator_id == indicator_id).order_by(IndicatorChange.id.desc())
    ))
