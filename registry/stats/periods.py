"""A date range as runs of whole tally periods (years, months, days), each added or taken away.

The tally keeps a row per day, per month and per year, and a month row is always the sum of
its days, a year row the sum of its months (registry.stats.tally). So [first, last] reads as
the whole years inside it, then the whole months left at either end, then the days; and a
part of a period that holds more of it than it leaves out reads as the whole period less the
rest: as of the 25th, the month less its last 5 or 6 days; as of 5 December, the year less
December plus 5 days. A cell is then read in a few rows whatever the registry's age: the
country's whole answer read ~12,400 rows of months at 1 and 10 million registrations
(2023-2026), ~1,300 this way (bench/scale_bench.py, README).
"""
from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from typing import Iterable, NamedTuple

ORDER = ("y", "m", "d")  # the tally's periods (tally.PERIODS), coarsest first
ONE_DAY = timedelta(days=1)


class Run(NamedTuple):
    """Every `period` from the one starting on `first` to the one starting on `last`,
    added (sign 1) or taken away (-1)."""

    period: str
    first: date
    last: date
    sign: int = 1


def start_of(period: str, day: date) -> date:
    if period == "y":
        return day.replace(month=1, day=1)
    if period == "m":
        return day.replace(day=1)
    return day


def after(period: str, start: date) -> date:
    """The start of the period after the one starting on `start`."""
    if period == "y":
        return start.replace(year=start.year + 1)
    if period == "m":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start + ONE_DAY


@lru_cache(maxsize=64)  # a pure function of dates: a request asks it the same ~30 times (once per area)
def cover(first: date, last: date, coarsest: str = "y", *, take_away: bool = True) -> tuple[Run, ...]:
    """Runs whose signed sum is exactly the days [first, last], no period coarser than
    `coarsest`, as few rows a cell as the choices allow (adjacent runs merged). A read that
    keeps each row's start (the months of by_month) asks for "m" and no `take_away`: whole
    months and days only, every run added."""
    runs = sorted(_cover(first, last, ORDER.index(coarsest), take_away),
                  key=lambda r: (-r.sign, ORDER.index(r.period), r.first))
    merged: list[Run] = []
    for run in runs:
        previous = merged[-1] if merged else None
        if (previous is not None and (previous.period, previous.sign) == (run.period, run.sign)
                and after(run.period, previous.last) == run.first):
            merged[-1] = previous._replace(last=run.last)
        else:
            merged.append(run)
    return tuple(merged)


def cost(runs: Iterable[Run]) -> int:
    """Rows a cell reads for `runs`: one a period, plus one a run (each is an index descent)."""
    return sum(1 + _periods(run) for run in runs)


def _periods(run: Run) -> int:
    if run.period == "y":
        return run.last.year - run.first.year + 1
    if run.period == "m":
        return (run.last.year - run.first.year) * 12 + run.last.month - run.first.month + 1
    return (run.last - run.first).days + 1


def _cover(first: date, last: date, level: int, take_away: bool) -> list[Run]:
    if last < first:
        return []
    period = ORDER[level]
    if period == "d":
        return [Run("d", first, last)]
    runs: list[Run] = []
    start = start_of(period, first)
    if start < first:  # the head is part of a period
        runs += _part(start, first, min(last, after(period, start) - ONE_DAY), level, take_away)
        start = after(period, start)
        if start > last:
            return runs
    end = start_of(period, last + ONE_DAY)  # whole periods: [start, end)
    if start < end:
        runs.append(Run(period, start, start_of(period, end - ONE_DAY)))
    if end <= last:  # the tail is part of a period
        runs += _part(end, end, last, level, take_away)
    return runs


def _part(start: date, first: date, last: date, level: int, take_away: bool) -> list[Run]:
    """[first, last] inside the period (of ORDER[level]) starting on `start`: read finer, or
    as that whole period less its days outside [first, last], whichever reads fewer rows."""
    period = ORDER[level]
    direct = _cover(first, last, level + 1, take_away)
    if not take_away:
        return direct
    rest = (_cover(start, first - ONE_DAY, level + 1, take_away)
            + _cover(last + ONE_DAY, after(period, start) - ONE_DAY, level + 1, take_away))
    whole = [Run(period, start, start)] + [r._replace(sign=-r.sign) for r in rest]
    return whole if cost(whole) < cost(direct) else direct
