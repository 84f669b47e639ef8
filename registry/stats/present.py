"""Statistics as labelled rows, for the pages, the exports and the API (one shape for all)."""
from __future__ import annotations

from typing import Any

from registry import areas
from registry.i18n import N_, translate
from registry.stats.disclosure import Answer, Shown, exact
from registry.stats.queries import Statistics, breakdown_vocabulary, children

BREAKDOWN_TITLES = {
    "by_category": N_("By category"),
    "by_gender": N_("By gender"),
    "by_sector": N_("By sector"),
    "by_channel": N_("By channel"),
    "by_age_band": N_("By age band (age on the date registered)"),
    "by_area": N_("By area"),
    "by_month": N_("By month registered"),
    "by_day": N_("By day registered"),
}


def area_label(code: str, locale: str) -> str:
    if not code:
        return translate(N_("Cambodia"), locale)
    record = areas.area_by_code(code)
    return areas.area_name(record, locale) if record else code


def _labels(name: str, answer: Answer, locale: str) -> dict[str, str]:
    values = breakdown_vocabulary(name)
    if values is not None:
        return {code: translate(values.label_of(code), locale) for code in answer.breakdowns[name]}
    if name == "by_area":
        return {code: areas.area_name(record, locale) for code, record in children(answer.query.area)}
    return {}


def cell(code: str, label: str, shown: Shown) -> dict[str, Any]:
    return {"code": code, "label": label, "count": shown.count, "suppressed": shown.suppressed, "exact": shown.exact}


def exact_answer(stats: Statistics) -> Answer:
    """Exact counts, every cell as it is (signed-in ministry staff)."""
    return Answer(stats.query, exact(stats.total),
                  {name: {code: exact(n) for code, n in counts.items()} for name, counts in stats.breakdowns.items()},
                  None)


def as_json(answer: Answer, *, locale: str) -> dict[str, Any]:
    """The API's statistics object (see registry.api.openapi)."""
    query = answer.query
    breakdowns = {}
    for name, shown in answer.breakdowns.items():
        labels = _labels(name, answer, locale)
        breakdowns[name] = [cell(code, labels.get(code, code), s) for code, s in shown.items()]
    total = answer.total
    return {
        "as_of": query.end().isoformat(),
        "since": query.since.isoformat() if query.since else None,
        "area": {"code": query.area, "level": areas.LEVELS[query.level], "name": area_label(query.area, locale)},
        "category": query.category,
        "gender": query.gender,
        "exact": answer.protection is None,
        "protection": answer.protection,
        "total": {"count": total.count, "suppressed": total.suppressed, "exact": total.exact},
        "breakdowns": breakdowns,
    }


def table_rows(stats_json: dict[str, Any], name: str, locale: str) -> tuple[list[str], list[list[Any]]]:
    """A breakdown as a header and rows for CSV/XLSX export ("<5" where suppressed)."""
    header = [translate(N_("Code"), locale), translate(N_("Name"), locale), translate(N_("Registered actors"), locale)]
    rows = [[c["code"], c["label"], "<5" if c["suppressed"] else c["count"]] for c in stats_json["breakdowns"][name]]
    return header, rows
