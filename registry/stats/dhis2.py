"""Registrations as a DHIS2 aggregate `dataValueSet` (JSON), with stable codes.

Data elements, per category (EMPLOYEE, MICRO_ENTERPRISE, SELF_EMPLOYED):
IE_REG_<CATEGORY> new registrations in the period (registrations and reactivations; a
change of area or category is not one), IE_EXIT_<CATEGORY> exits in the period
(deactivations from their effective date), IE_ACTIVE_<CATEGORY> people active at the
period's end (or today, for a period not yet over). Category option combos: IE_SEX_FEMALE, IE_SEX_MALE;
org units: the official MEF province (2-digit) and district (4-digit) codes. Import into
DHIS2 with idScheme=CODE (stated in the payload too). Exact counts: staff only.
"""
from __future__ import annotations

import calendar
import re
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from registry import clock
from registry import areas
from registry.i18n import N_
from registry.stats.queries import Query, QueryError, flows_by_cell, totals_by_cell

DATA_SET = "IE_REGISTRATIONS"
_PERIOD = re.compile(r"([0-9]{4})([0-9]{2})?")


ELEMENT_PREFIXES = {"arrived": "IE_REG", "left": "IE_EXIT", "active": "IE_ACTIVE"}


def data_element(category: str, figure: str = "arrived") -> str:
    return f"{ELEMENT_PREFIXES[figure]}_{category.upper()}"


def option_combo(gender: str) -> str:
    return f"IE_SEX_{gender.upper()}"


def parse_period(text: str) -> tuple[date, date, str]:
    """A DHIS2 period: yearly YYYY or monthly YYYYMM -> (first day, last day, period)."""
    match = _PERIOD.fullmatch(text.strip())
    year = int(match.group(1)) if match else 0
    month = int(match.group(2)) if match and match.group(2) else None
    if not match or not 2000 <= year <= 2100 or (month is not None and not 1 <= month <= 12):
        raise QueryError("period", N_("“%(value)s” is not a DHIS2 period. Write YYYY (a year) or YYYYMM (a month)."), value=text[:12])
    if month is None:
        return date(year, 1, 1), date(year, 12, 31), f"{year}"
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1]), f"{year}{month:02d}"


def data_value_set(session: Session, first: date, last: date, period: str, *, province: str | None = None) -> dict[str, Any]:
    """New registrations and exits in [first, last], and the people active at its end, by
    province and district, category and gender."""
    end = min(last, max(first, clock.today()))
    query = Query(since=first, as_of=end)
    units = [p.code for p in areas.provinces() if province in (None, p.code)]
    units += [d.code for code in list(units) for d in areas.districts(code)]
    values = []
    for unit in units:
        figures = {(flow, category, gender): n for (flow, category, gender), n in flows_by_cell(session, query, unit).items()
                   if flow in ("arrived", "left")}
        figures.update({("active", category, gender): n
                        for (category, gender), n in totals_by_cell(session, Query(as_of=end), unit).items()})
        for (figure, category, gender), n in sorted(figures.items(), key=lambda item: (list(ELEMENT_PREFIXES).index(item[0][0]), item[0][1:])):
            if n:
                values.append({"dataElement": data_element(category, figure), "categoryOptionCombo": option_combo(gender),
                               "orgUnit": unit, "period": period, "value": str(n)})
    return {"dataSet": DATA_SET, "idScheme": "CODE", "period": period,
            "completeDate": clock.today().isoformat(), "dataValues": values}
