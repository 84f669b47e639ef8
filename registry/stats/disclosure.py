"""What the public may see of the registry's counts, and why no combination of answers can
be turned against the people counted.

Anonymous readers (the public /stats page, /api/v1/stats without a ministry session) get
the answers below; signed-in ministry and admin staff keep exact counts, any period and
day-by-day breakdowns.

1. Whole months only (`public.py`). Every anonymous figure counts the people registered on
   or before the last day of a month that is over: no `since`, no day windows, no by_day.
   One-day windows are how one person a day was isolated (the issue's attack).

2. One published table (`release.py`). Every anonymous figure is a sum of one table P of
   published counts: per commune, category, gender and month, and per province, category,
   gender, month and sector / channel / age band. For every area at every level
   (commune, district, province, country), category and gender, P differs from the true
   count by at most MAX_DIFFERENCE, is 0 where nobody is, never goes below 0 and grows
   month by month like a real count (published arrivals are never negative). The
   differences are drawn from a secret key, the cell and its count (same cell, same count:
   same figure, so asking again gains nothing) and shared out from the top down so that
   every area is the sum of its parts, categories and genders add up, and each month end is
   the one before plus the month's arrivals.

   Why one table and not independent noise on each cell (the ABS cell-key method, or
   rounding every cell): a small group is reached by many routes — a commune's month is
   also its district less the other communes, its total less the other gender, this month
   end less the last. With noise drawn per cell, every route carries its own error:
   averaging the routes removes it, and where a few errors sit at their bound the routes'
   intervals meet in one value. Rounding is worse still: its error is a known function of
   the count, so an exact total less the rounded others pins a small cell down
   (tests/test_disclosure_attack.py shows it for the rounding used before). When every
   figure is a sum of one table, every route gives the same P: nothing to average, and P is
   itself a possible truth from which a person can be moved to a neighbouring cell without
   contradicting any published figure — so no combination of answers pins down a group.
   The attack tests check exactly that with linear programming over every anonymous answer.

3. The ministry's headline is exact. The country's count of a category as of a month end
   is published exact when it and its change from the previous published month end are
   both at least THRESHOLD — judged on the figure the table would otherwise publish, never
   on the true count, so that "exact" or "not exact" tells nothing the published figures
   do not (judged on the true change, "not exact" said "fewer than 5 arrived", and with the
   figure that pinned groups of 4 down: the attack tests found it). Any two exact figures
   of a category then differ by THRESHOLD or more. The country total is exact when every
   category is — not otherwise, since the total less the exact categories would give the
   remaining one exactly. At other month ends a category's country count is published at
   most MAX_DIFFERENCE *below* the truth, never above, so that the next exact month end can
   always be reached.

4. Suppression. A published count below THRESHOLD (the country and provinces) or
   SMALL_AREA_THRESHOLD (districts and communes, whose people are fewer and easier to
   know) is shown "<5" / "<10" (JSON null, `suppressed: true`) — zero too, so "<5" never
   says "at least one" — and when a total is suppressed, every breakdown of it is
   suppressed whole. As P adds up, a hidden cell can be worked out from its total and the
   rest; what comes out is its perturbed P, no more.

What is promised, and stated in every anonymous answer (`protection`): each published count
of one area, one category and one gender is within MAX_DIFFERENCE of the truth; a figure
adding several such counts is within MAX_DIFFERENCE for each part; a month's arrivals are
the difference of two month ends; the country's breakdowns by sector, channel and age band
add up the provinces'.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

THRESHOLD = 5  # counts below this are never shown to the public, at any level
SMALL_AREA_THRESHOLD = 10  # ... and below this for districts and communes
MAX_DIFFERENCE = 2  # a published count of one area, category and gender is within this of the truth
SMALL_AREA_LEVEL = 2  # districts (2) and communes (3) take SMALL_AREA_THRESHOLD


def threshold_for(level: int) -> int:
    """The suppression threshold of cells of an area level (0 country ... 3 commune)."""
    return SMALL_AREA_THRESHOLD if level >= SMALL_AREA_LEVEL else THRESHOLD


def headline_exact(candidate: int, previous: int) -> bool:
    """The rule for one category's country count as of a month end: exact when the figure
    the table would otherwise publish (`candidate`, never above the truth) and its change
    from the previous published month end (`previous`) are both at least THRESHOLD."""
    return candidate >= THRESHOLD and candidate - previous >= THRESHOLD


@dataclass(frozen=True)
class Shown:
    count: int | None  # None when suppressed
    suppressed: bool
    exact: bool  # the true count (staff, or the ministry's headline)


def exact(count: int) -> Shown:
    return Shown(count, False, True)


def published(count: int, threshold: int, *, is_exact: bool = False) -> Shown:
    """A count of the public table: shown, or suppressed below `threshold` (0 included)."""
    if is_exact:
        return Shown(count, False, True)
    if count < threshold:
        return Shown(None, True, False)
    return Shown(count, False, False)


SUPPRESSED = Shown(None, True, False)
NOT_IN_QUERY = Shown(0, False, True)  # a value the query's own filter leaves out (e.g. male under gender=female)


@dataclass
class Answer:
    """One statistics answer as shown: staff's exact counts, or the public's protected ones."""

    query: Any  # registry.stats.queries.Query
    total: Shown
    breakdowns: dict[str, dict[str, Shown]]  # name -> code -> what is shown
    protection: dict[str, Any] | None  # None: exact counts (staff); else what the public answer promises
