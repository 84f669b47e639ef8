"""Aggregate counts of registered actors, from the maintained tally.

One function, `statistics`, answers every breakdown staff see — the dashboard, the API for
ministry staff, DHIS2 and the `stats` command; filters combine (area + category + gender)
and a count is of the people *active* on `as_of` (registered on or before it and not
deactivated by then; registry.actors.lifecycle): in-flows up to the date less out-flows up
to it. With `since`, the net change over [since, as_of]. "New registrations" (by_month,
by_day) count arrivals only: a change of area or category is not a new registration.
The public's figures are added up from the public release instead (registry.stats.public).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from registry import clock
from registry import areas, vocab
from registry.i18n import N_
from registry.stats.periods import cover
from registry.stats.tally import EPOCH, DIMENSIONS_AT, Cell, Span, read_sums
from registry.vocab import Vocabulary

MAX_DAYS = 366  # a period with `since` up to this long also gets a day-by-day breakdown
# Breakdowns by dimension value (the tally's names -> the names the outputs use).
BREAKDOWNS = {"sector": "by_sector", "channel": "by_channel", "age": "by_age_band"}


def breakdown_vocabulary(name: str) -> Vocabulary | None:
    """The vocabulary whose values a breakdown is by (None: areas, months, days)."""
    return {
        "by_category": vocab.CATEGORIES,
        "by_gender": vocab.GENDERS,
        "by_sector": vocab.SECTORS,
        "by_channel": vocab.CHANNELS,
        "by_age_band": vocab.AGE_BANDS,
    }.get(name)


class QueryError(ValueError):
    """A filter that cannot be answered; `field` names it (message is an msgid)."""

    def __init__(self, field: str, message: str, **params: Any) -> None:
        super().__init__(message)
        self.field, self.message, self.params = field, message, params


@dataclass(frozen=True)
class Query:
    area: str = ""  # '' (the country) or a province, district or commune code
    category: str | None = None
    gender: str | None = None
    since: date | None = None  # flows on or after (None: from the start: the active count)
    as_of: date | None = None  # active on this date (None: today)

    @property
    def level(self) -> int:
        return len(self.area) // 2

    def end(self) -> date:
        return self.as_of or clock.today()


def make_query(*, area: str | None = None, category: str | None = None, gender: str | None = None,
               since: date | None = None, as_of: date | None = None) -> Query:
    """A checked Query; raises QueryError naming the bad filter."""
    area = (area or "").strip()
    if area and areas.area_by_code(area) is None:
        raise QueryError("area", N_("“%(value)s” is not a province, district or commune code."), value=area[:12])
    if category and category not in vocab.CATEGORIES:
        raise QueryError("category", N_("“%(value)s” is not a category. Use one of: %(choices)s."),
                         value=category[:30], choices=", ".join(vocab.CATEGORIES))
    if gender and gender not in vocab.GENDERS:
        raise QueryError("gender", N_("“%(value)s” is not a gender. Use one of: %(choices)s."),
                         value=gender[:30], choices=", ".join(vocab.GENDERS))
    if since and as_of and since > as_of:
        raise QueryError("since", N_("The start date is after the end date. Swap them."))
    if since and since < EPOCH or as_of and as_of < EPOCH:
        raise QueryError("as_of" if as_of and as_of < EPOCH else "since", N_("Use a date in 2000 or later: there are no registrations before."))
    return Query(area, category or None, gender or None, since, as_of)


def _query_spans(query: Query, dimension: str, keep: frozenset[str], area: str | None = None) -> list[Span]:
    """The spans of the tally that cover `query`'s period in `area` (default: the query's).
    A read that keeps the day (by_month: cells dated by their month) reads whole months and
    days only, as before the year rows (no month of by_month then differs, not even by a 0)."""
    area = query.area if area is None else area
    runs = (cover(query.since or EPOCH, query.end(), "m", take_away=False) if "day" in keep
            else cover(query.since or EPOCH, query.end()))
    return [Span(len(area) // 2, dimension, run.period, area, run.first, run.last, keep, query.category, query.gender,
                 run.sign) for run in runs]


def _cells(session: Session, query: Query, dimension: str, area: str | None = None) -> list[Cell]:
    """The query's cells of one area, by category and gender (summed over days and values)."""
    spans = _query_spans(query, dimension, BY_CELL, area)
    return [c for cells in read_sums(session, spans) for c in cells]


BY_CELL = frozenset(("category", "gender"))
TOTALS = frozenset(("day", "category", "gender"))  # by_month needs the day (a month's first, or a day)
BY_VALUE = frozenset(("value",))
SUM_ONLY: frozenset[str] = frozenset()


def children(area: str) -> list[tuple[str, Any]]:
    """The areas one level down, as (code, gazetteer record)."""
    if not area:
        return [(p.code, p) for p in areas.provinces()]
    if len(area) == 2:
        return [(d.code, d) for d in areas.districts(area)]
    if len(area) == 4:
        return [(c.code, c) for c in areas.communes(area)]
    return []


@dataclass
class Statistics:
    query: Query
    total: int = 0
    breakdowns: dict[str, dict[str, int]] = field(default_factory=dict)  # name -> code -> count

    def as_dict(self) -> dict[str, Any]:
        return {"total": self.total, **self.breakdowns}


def statistics(session: Session, query: Query, *, with_areas: bool = True) -> Statistics:
    """Total and every breakdown for `query` (zeros included, in a stable order).

    Totals and breakdowns count the people active in the registry (in-flows less
    out-flows); by_month and by_day count arrivals only (registrations and reactivations):
    the new registrations of each month or day.
    """
    # Every part of the answer is a few spans of the tally, read together in one statement.
    spans: list[Span] = []
    parts: dict[object, range] = {}

    def want(part: object, more: list[Span]) -> None:
        parts[part] = range(len(spans), len(spans) + len(more))
        spans.extend(more)

    want("total", _query_spans(query, "total", TOTALS))
    with_dimensions = "sector" in DIMENSIONS_AT[query.level]
    if with_dimensions:
        for dimension in BREAKDOWNS:
            want(dimension, _query_spans(query, dimension, BY_VALUE))
    area_codes = [code for code, _ in children(query.area)] if with_areas and query.level < 3 else []
    for code in area_codes:
        want(("area", code), _query_spans(query, "total", SUM_ONLY, code))
    # A period of at most MAX_DAYS also gets a day-by-day breakdown (from its first day).
    days_from = query.since if query.since is not None and (query.end() - query.since).days < MAX_DAYS else None
    if days_from is not None:
        want("by_day", [Span(query.level, "total", "d", query.area, days_from, query.end(), frozenset(("day",)),
                             query.category, query.gender)])
    read = read_sums(session, spans)

    def cells(part: object) -> list[Cell]:
        return [c for i in parts[part] for c in read[i]]

    totals = cells("total")
    result = Statistics(query, total=sum(c.n for c in totals))
    by_category = _zeros("by_category")
    by_gender = _zeros("by_gender")
    by_month: Counter[date] = Counter()
    for c in totals:
        by_category[c.category] = by_category.get(c.category, 0) + c.n
        by_gender[c.gender] = by_gender.get(c.gender, 0) + c.n
        if c.flow == "arrived":
            by_month[c.start.replace(day=1)] += c.n
    result.breakdowns["by_category"] = by_category
    result.breakdowns["by_gender"] = by_gender
    if with_dimensions:
        for dimension, name in BREAKDOWNS.items():
            counts = _zeros(name)
            for c in cells(dimension):
                counts[c.value] = counts.get(c.value, 0) + c.n  # a retired value is shown while it counts
            result.breakdowns[name] = counts
    if with_areas and query.level < 3:
        result.breakdowns["by_area"] = {code: sum(c.n for c in cells(("area", code))) for code in area_codes}
    result.breakdowns["by_month"] = {month.strftime("%Y-%m"): n for month, n in sorted(by_month.items())}
    if days_from is not None:
        by_day = {(days_from + timedelta(days=i)).isoformat(): 0 for i in range((query.end() - days_from).days + 1)}
        for c in cells("by_day"):
            if c.flow == "arrived":
                by_day[c.start.isoformat()] += c.n
        result.breakdowns["by_day"] = by_day
    return result


def _zeros(name: str) -> dict[str, int]:
    return dict.fromkeys(breakdown_vocabulary(name) or (), 0)


def counts_by_category(session: Session, as_of: date | None = None) -> dict[str, int]:
    """Actors active on `as_of` (today when None), per category, zeros included."""
    return statistics(session, Query(as_of=as_of), with_areas=False).breakdowns["by_category"]


def summary(session: Session, as_of: date | None = None) -> dict[str, object]:
    """The figures the `stats` command prints."""
    by_category = counts_by_category(session, as_of)
    return {
        "as_of": as_of.isoformat() if as_of else None,
        "total": sum(by_category.values()),
        "by_category": by_category,
    }


def totals_by_cell(session: Session, query: Query, area: str) -> Counter[tuple[str, str]]:
    """Net change of the active count in `area` over the query's period, by (category, gender)
    (with no `since`: the people active on `as_of`)."""
    counts: Counter[tuple[str, str]] = Counter()
    for c in _cells(session, query, "total", area):
        counts[(c.category, c.gender)] += c.n
    return counts


def flows_by_cell(session: Session, query: Query, area: str) -> Counter[tuple[str, str, str]]:
    """People moving in `area` over the query's period, by (flow, category, gender), each
    a positive number: arrived (new registrations and reactivations), left (exits), moved
    in and moved out (changes of circumstances)."""
    counts: Counter[tuple[str, str, str]] = Counter()
    for c in _cells(session, query, "total", area):
        counts[(c.flow, c.category, c.gender)] += c.n  # a period read as a whole less the rest has negative parts
    return Counter({cell: abs(n) for cell, n in counts.items()})
