"""Keeping the maintained counts (`actor_tally`) in step with the actor table.

Every way an actor is stored (the form, the importer, the CLI) calls `count_new` in the
same transaction, so the statistics are exact the moment the registration commits.

A tally row's identity is one integer:

    key = ((((level * 4 + dimension) * 2 + period) * 1e6 + area) * 65536 + day) * 256 + cell

level 0-3 (country, province, district, commune), dimension 0-3 (total, sector, channel,
age band), period 0-1 (day, month), area the 0/2/4/6-digit code as a number, day the
days since 2000-01-01 of the day or the month's first day, and cell = (category * 2 +
gender) * 32 + the dimension's value.
"""
from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Iterable, NamedTuple

from sqlalchemy import text
from sqlalchemy.orm import Session

from registry.actors import vocab
from registry.actors.validation import age_on
from registry.stats.models import DIMENSIONS, PERIODS

EPOCH = date(2000, 1, 1)
CATEGORIES = tuple(vocab.CATEGORIES)
GENDERS = tuple(vocab.GENDERS)
VALUES: dict[str, tuple[str, ...]] = {
    "total": ("",),
    "sector": tuple(vocab.SECTORS),
    "channel": tuple(vocab.CHANNELS),
    "age": tuple(vocab.AGE_BANDS),
}
_CELLS = 256
# Which dimensions each area level keeps (districts and communes: totals only).
DIMENSIONS_AT: dict[int, tuple[str, ...]] = {0: DIMENSIONS, 1: DIMENSIONS, 2: ("total",), 3: ("total",)}
_INDEX = {name: {v: i for i, v in enumerate(values)} for name, values in
          {**VALUES, "category": CATEGORIES, "gender": GENDERS}.items()}


def _head(level: int, dimension: int, period: int) -> int:
    """The high part of a key: level, dimension and period (the area is added to it)."""
    return ((level * 4 + dimension) * 2 + period) * 1_000_000


# Every (head, level, dimension, period) a registration adds to; DIMENSIONS_AT[level] are
# prefixes of DIMENSIONS, so a dimension's position is its index in both.
_COMBOS = tuple((_head(level, d, p), level, d, p)
                for level, dims in DIMENSIONS_AT.items() for d in range(len(dims)) for p in (0, 1))


class Fine(NamedTuple):
    """One registration as the tally sees it."""

    registered_on: date
    commune_code: str
    category: str
    gender: str
    sector: str
    channel: str
    age_band: str


def fine_key(registered_on: date, commune_code: str, category: str, gender: str, sector: str,
             channel: str, date_of_birth: date) -> Fine:
    """Age band: the age on the date registered."""
    return Fine(registered_on, commune_code, category, gender, sector, channel,
                vocab.age_band(age_on(date_of_birth, registered_on)))


def range_base(level: int, dimension: str, period: str, area: str, start: date) -> int:
    """The smallest key of (level, dimension, period, area, start); its 256 cells follow."""
    head = _head(level, DIMENSIONS.index(dimension), PERIODS.index(period)) + int(area or 0)
    return (head * 65_536 + (start - EPOCH).days) * _CELLS


def increments(fine: Counter[Fine]) -> Counter[int]:
    """Keys to add to and by how much, from registrations counted by fine key."""
    out: Counter[int] = Counter()
    sector, channel, age, category, gender = (_INDEX[k] for k in ("sector", "channel", "age", "category", "gender"))
    combos = _COMBOS
    for f, n in fine.items():
        days = ((f.registered_on - EPOCH).days, (f.registered_on.replace(day=1) - EPOCH).days)
        cell = (category[f.category] * 2 + gender[f.gender]) * 32
        values = (0, sector[f.sector], channel[f.channel], age[f.age_band])
        code = f.commune_code
        areas = (0, int(code[:2]), int(code[:4]), int(code))
        # range_base's arithmetic, inlined: this runs 20 times per imported actor
        keys = [((head + areas[level]) * 65_536 + days[p]) * _CELLS + cell + values[d] for head, level, d, p in combos]
        if n == 1:
            out.update(keys)  # counted in C
        else:
            for key in keys:
                out[key] += n
    return out


def count_new(session: Session, fine: Iterable[Fine]) -> None:
    """Add newly stored registrations to the tally (flush only; the caller commits)."""
    _add(session, Counter(fine))


def _add(session: Session, fine: Counter[Fine]) -> None:
    rows = increments(fine)
    if not rows:
        return
    connection = session.connection()
    mark = "?" if connection.dialect.name == "sqlite" else "%s"
    # In key order: neighbouring keys share pages, so the upserts walk the index once.
    connection.exec_driver_sql(
        f"INSERT INTO actor_tally (key, n) VALUES ({mark}, {mark})"
        " ON CONFLICT (key) DO UPDATE SET n = actor_tally.n + excluded.n",
        sorted(rows.items()),
    )


class Cell(NamedTuple):
    start: date
    category: str
    gender: str
    value: str
    n: int


def read_range(session: Session, level: int, dimension: str, period: str, area: str,
               first: date, last: date) -> list[Cell]:
    """One area's rows of a dimension and period, with start in [first, last]."""
    if last < first:
        return []
    low = range_base(level, dimension, period, area, first)
    high = range_base(level, dimension, period, area, last) + _CELLS - 1
    values = VALUES[dimension]
    cells = []
    for key, n in session.execute(text("SELECT key, n FROM actor_tally WHERE key BETWEEN :low AND :high"),
                                  {"low": low, "high": high}):
        cell = key % _CELLS
        cells.append(Cell(EPOCH + timedelta(days=key // _CELLS % 65_536), CATEGORIES[cell >> 6],
                          GENDERS[(cell >> 5) & 1], values[cell & 31], n))
    return cells


def rebuild(session: Session) -> int:
    """Recount the whole tally from the actor table (migrations, or a repair); returns actors counted."""
    session.execute(text("DELETE FROM actor_tally"))
    result = session.execute(text(
        "SELECT registered_on, commune_code, category, gender, sector, channel, date_of_birth, count(*)"
        " FROM actor GROUP BY registered_on, commune_code, category, gender, sector, channel, date_of_birth"
    ))
    fine: Counter[Fine] = Counter()
    for registered_on, commune, category, gender, sector, channel, birth, n in result:
        fine[fine_key(_as_date(registered_on), commune, category, gender, sector, channel, _as_date(birth))] += n
    _add(session, fine)
    return sum(fine.values())


def _as_date(value: object) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value  # type: ignore[return-value]
