"""Registrations as a DHIS2 aggregate `dataValueSet` (JSON), with stable codes.

Data elements: IE_REG_EMPLOYEE, IE_REG_MICRO_ENTERPRISE, IE_REG_SELF_EMPLOYED (new
registrations in the period); category option combos: IE_SEX_FEMALE, IE_SEX_MALE;
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
from registry.stats.queries import Query, QueryError, totals_by_cell

DATA_SET = "IE_REGISTRATIONS"
_PERIOD = re.compile(r"([0-9]{4})([0-9]{2})?")


def data_element(category: str) -> str:
    return f"IE_REG_{category.upper()}"


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
    """New registrations in [first, last] by province and district, category and gender."""
    query = Query(since=first, as_of=min(last, max(first, clock.today())))
    units = [p.code for p in areas.provinces() if province in (None, p.code)]
    units += [d.code for code in list(units) for d in areas.districts(code)]
    values = []
    for unit in units:
        for (category, gender), n in sorted(totals_by_cell(session, query, unit).items()):
            if n:
                values.append({"dataElement": data_element(category), "categoryOptionCombo": option_combo(gender),
                               "orgUnit": unit, "period": period, "value": str(n)})
    return {"dataSet": DATA_SET, "idScheme": "CODE", "period": period,
            "completeDate": clock.today().isoformat(), "dataValues": values}
