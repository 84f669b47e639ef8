"""Anonymous statistics: whole months only, every figure added up from the public release
(registry.stats.disclosure says what is promised and why)."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any, MutableMapping

from sqlalchemy.orm import Session

from registry import vocab
from registry.i18n import N_
from registry.stats import release as releases
from registry.stats.disclosure import (
    MAX_DIFFERENCE, NOT_IN_QUERY, SUPPRESSED, Answer, Shown, published, threshold_for,
)
from registry.stats.queries import BREAKDOWNS, Query, QueryError, children
from registry.stats.release import Release, month_end
from registry.stats.tally import EPOCH, dimension_vocabularies, read_level, read_range


def last_month_end(today: date) -> date:
    """The last day of the last month that is over (today never is: people register all day)."""
    return today.replace(day=1) - timedelta(days=1)


def public_query(query: Query, today: date) -> Query:
    """The query as an anonymous reader may ask it: as of a month end that is over.

    `since` (a window of days) and an `as_of` that is not a month's last day are refused
    (QueryError naming the fix); a month end not yet over is answered as of the last one
    that is (the answer's `as_of` says which), as is a query without `as_of`."""
    last = last_month_end(today)
    if query.since is not None:
        raise QueryError("since", N_("Anonymous statistics count everyone registered up to the end of a month; "
                                     "periods are for signed-in ministry staff. Leave out since: by_month gives "
                                     "each month's registrations."))
    if query.as_of is not None and query.as_of != month_end(query.as_of):
        raise QueryError("as_of", N_("Anonymous statistics are published as of a month's last day; use %(date)s."),
                         date=min(month_end(query.as_of), last).isoformat())
    return replace(query, as_of=min(query.as_of or last, last))


def current_release(session: Session, last: date, key: bytes, cache: MutableMapping[str, Any]) -> Release:
    """The release as of `last`, rebuilt only when a completed month's counts have changed.

    The country's month rows (a few hundred) are the fingerprint: every registration dated
    in a completed month changes one of them. Building reads every commune's months once
    (seconds at a million registrations); answering is then arithmetic in memory."""
    country = read_range(session, 0, "total", "m", "", EPOCH, last.replace(day=1))
    fingerprint = (last, key, tuple(sorted((c.start, c.category, c.gender, c.n) for c in country)))
    if cache.get("fingerprint") != fingerprint:
        cache["release"] = build_release(session, last, key)
        cache["fingerprint"] = fingerprint
    return cache["release"]


def build_release(session: Session, last: date, key: bytes) -> Release:
    """Read every commune's and every province's monthly counts and build the release."""
    top = last.replace(day=1)
    communes = read_level(session, 3, "total", "m", EPOCH, top)
    values = [(dimension, row) for dimension in releases.VALUE_DIMENSIONS
              for row in read_level(session, 1, dimension, "m", EPOCH, top)]
    starts = {start for _code, start, *_cell, n in communes if n}
    if not starts:
        return Release(last.replace(day=1), last)
    first = min(starts)
    index = {start: releases.month_index(start, first) for start in starts | {row[1] for _d, row in values}}
    by_commune: dict[tuple[str, str, str], dict[int, int]] = {}
    for code, start, category, gender, _value, n in communes:
        months = by_commune.setdefault((code, category, gender), {})
        months[index[start]] = months.get(index[start], 0) + n
    by_value: dict[tuple[str, str, str, str, str], dict[int, int]] = {}
    for dimension, (code, start, category, gender, value, n) in values:
        months = by_value.setdefault((code, dimension, value, category, gender), {})
        months[index[start]] = months.get(index[start], 0) + n
    strip = lambda series: {t: n for t, n in series.items() if n}  # noqa: E731
    return releases.build({k: strip(v) for k, v in by_commune.items()}, {k: strip(v) for k, v in by_value.items()},
                          first, last, key)


def public_answer(release: Release, query: Query) -> Answer:
    """The anonymous answer to `query` (already through `public_query`)."""
    assert query.as_of is not None and query.since is None
    t = release.index(query.as_of)
    categories = [c for c in vocab.CATEGORIES.stored_codes if query.category in (None, c)]
    genders = [g for g in vocab.GENDERS.stored_codes if query.gender in (None, g)]
    headline = query.area == "" and query.gender is None  # the ministry's figures: country, whole categories

    def stock(area: str, cats: list[str] = categories, at: int = t, gens: list[str] = genders) -> int:
        return sum(release.at(release.stocks.get((area, c, g)), at) for c in cats for g in gens)

    def is_exact(cats: list[str], at: int) -> bool:
        return headline and all(release.is_exact(c, at) for c in cats)

    threshold = threshold_for(query.level)
    total = published(stock(query.area), threshold, is_exact=is_exact(categories, t))
    breakdowns: dict[str, dict[str, Shown]] = {
        "by_category": {c: published(stock(query.area, [c]), threshold, is_exact=is_exact([c], t))
                        if c in categories else NOT_IN_QUERY for c in vocab.CATEGORIES.stored_codes},
        "by_gender": {g: published(stock(query.area, gens=[g]), threshold)
                      if g in genders else NOT_IN_QUERY for g in vocab.GENDERS.stored_codes},
    }
    if query.level <= 1:
        for dimension, name in BREAKDOWNS.items():
            codes = dimension_vocabularies()[dimension].stored_codes  # type: ignore[union-attr]
            breakdowns[name] = {v: published(sum(release.at(release.values.get((query.area, dimension, v, c, g)), t)
                                                 for c in categories for g in genders), threshold) for v in codes}
    if query.level < 3:
        below = threshold_for(query.level + 1)
        breakdowns["by_area"] = {code: published(stock(code), below) for code, _record in children(query.area)}
    year_start = query.as_of.replace(month=1, day=1)
    breakdowns["by_month"] = {
        f"{query.as_of.year}-{m:02d}": published(
            stock(query.area, at=t - query.as_of.month + m) - stock(query.area, at=t - query.as_of.month + m - 1),
            threshold, is_exact=is_exact(categories, t - query.as_of.month + m)
            and is_exact(categories, t - query.as_of.month + m - 1))
        for m in range(year_start.month, query.as_of.month + 1)
    }
    if total.suppressed:  # a breakdown of a hidden total is hidden whole
        breakdowns = {name: dict.fromkeys(cells, SUPPRESSED) for name, cells in breakdowns.items()}
    protection = {
        "suppressed_below": threshold,
        "by_area_suppressed_below": threshold_for(query.level + 1) if query.level < 3 else None,
        "max_difference": MAX_DIFFERENCE,
    }
    return Answer(query, total, breakdowns, protection)
