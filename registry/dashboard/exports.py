"""Every dashboard table as CSV or XLSX (formula-like text neutralised)."""
from __future__ import annotations

import io
from typing import Any

from flask_babel import gettext as _

from registry.dashboard.services import IndicatorRow
from registry.spreadsheets import append_xlsx_rows, csv_chunks
from registry.stats.present import BREAKDOWN_TITLES, table_rows

TABLES = ("indicators", *BREAKDOWN_TITLES)


def indicator_table(rows: list[IndicatorRow], locale: str, year: int) -> tuple[list[str], list[list[Any]]]:
    header = [_("Code"), _("Indicator"), _("Unit"), str(year), str(year - 1), _("Change (%)"),
              _("Registry count"), _("Derived"), _("How it was derived"), _("Source")]
    body = [
        [r.indicator.code, r.indicator.label(locale), _(r.indicator.unit_label), r.indicator.value,
         r.previous.value if r.previous else "", round(r.change_percent, 2) if r.change_percent is not None else "",
         r.live if r.live is not None else "", _("yes") if r.previous and r.previous.derived else "",
         r.previous.derivation if r.previous and r.previous.derivation else "", r.indicator.source]
        for r in rows
    ]
    return header, body


def table(name: str, stats: dict[str, Any], rows: list[IndicatorRow], locale: str, year: int) -> tuple[list[str], list[list[Any]]]:
    if name == "indicators":
        return indicator_table(rows, locale, year)
    return table_rows(stats, name, locale)


def as_csv(header: list[str], body: list[list[Any]]) -> str:
    return "".join(csv_chunks([header, *body]))


def as_xlsx(title: str, header: list[str], body: list[list[Any]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    append_xlsx_rows(sheet, [header, *body])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
