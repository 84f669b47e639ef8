"""Today and now in Cambodia (UTC+7), the dates a registration is recorded with."""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

CAMBODIA = ZoneInfo("Asia/Phnom_Penh")


def now() -> datetime:
    return datetime.now(timezone.utc)


def today() -> date:
    return datetime.now(CAMBODIA).date()


def local_date(moment: datetime) -> date:
    """The date in Cambodia at `moment` (an aware datetime): from 17:00 UTC it is already the
    next day there, and registrations are dated in Cambodia (`today`)."""
    return as_utc(moment).astimezone(CAMBODIA).date()


def as_utc(moment: datetime) -> datetime:
    """A stored timestamp as an aware UTC datetime (SQLite gives them back naive)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
