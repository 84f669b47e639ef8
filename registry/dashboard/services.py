"""What the dashboard shows for a year and an area: indicators beside live registry counts."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from registry import clock
from registry.indicators import services as indicators
from registry.indicators.models import Indicator
from registry.stats.present import as_json, exact_answer
from registry.stats.queries import Query, statistics

# Indicators the registry itself measures: code -> category (None: every category).
LIVE_INDICATORS: dict[str, str | None] = {
    "IE_ACTORS_TOTAL": None,
    "IE_ACTORS_EMPLOYEE": "employee",
    "IE_ACTORS_MICRO_ENTERPRISE": "micro_enterprise",
    "IE_ACTORS_SELF_EMPLOYED": "self_employed",
}


@dataclass(frozen=True)
class IndicatorRow:
    indicator: Indicator
    previous: Indicator | None
    live: int | None  # the registry's own count as of the year's end (registry indicators only)

    @property
    def change_percent(self) -> float | None:
        if self.previous is None or not self.previous.value:
            return None
        return (self.indicator.value - self.previous.value) / self.previous.value * 100


def year_end(year: int) -> date:
    """31 December of the year, or today for the current year."""
    return min(date(year, 12, 31), clock.today())


def indicator_year(published: list[int], year: int) -> int | None:
    """The year whose indicators go beside `year`'s registry: the same year, or — when the
    ministry has not published it yet — the latest year published before it (`published`:
    indicators.years, newest first)."""
    return next((y for y in published if y <= year), None)


def dashboard_years(published: list[int]) -> list[int]:
    """The years a dashboard offers: every year with indicators and every year since the launch."""
    return sorted(set(published) | set(range(2024, clock.today().year + 1)), reverse=True)


def statistics_json(session: Session, year: int, area: str, locale: str) -> dict[str, Any]:
    """Exact statistics of an area as of the year's end (staff; the public page has its own)."""
    return as_json(exact_answer(statistics(session, Query(area=area, as_of=year_end(year)))), locale=locale)


def indicator_rows(session: Session, year: int, stats: dict[str, Any]) -> list[IndicatorRow]:
    """The year's indicators; registry indicators carry the live count of the same area and date."""
    by_category = {c["code"]: c["count"] for c in stats["breakdowns"]["by_category"]}
    rows = []
    for indicator, previous in indicators.for_year(session, year):
        live = None
        if indicator.code in LIVE_INDICATORS:
            category = LIVE_INDICATORS[indicator.code]
            live = stats["total"]["count"] if category is None else by_category.get(category)
        rows.append(IndicatorRow(indicator, previous, live))
    return rows
