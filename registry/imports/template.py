"""The import template: the columns, and (XLSX) how to fill them, in Khmer and English."""
from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from registry.actors import areas, vocab
from registry.i18n import N_, translate
from registry.imports.reading import REQUIRED_COLUMNS, TEMPLATE_COLUMNS
from registry.spreadsheets import append_xlsx_rows, csv_chunks

_HOW = {
    "category": N_("One of the codes, or its label in Khmer or English."),
    "full_name": N_("2 to 100 letters; spaces, “.”, “-” and “'” allowed; no digits."),
    "gender": N_("female or male (also F, M, or the Khmer word)."),
    "date_of_birth": N_("DD/MM/YYYY or YYYY-MM-DD, or a date cell. Age 15 to 120."),
    "national_id": N_("Optional: 9 digits; spaces and dashes are ignored."),
    "phone": N_("A Cambodian number, any common way: 012 345 678, +855 12 345 678."),
    "province": N_("Official code, or the Khmer or English name (see the areas sheet)."),
    "district": N_("Official code, or the name, inside the province."),
    "commune": N_("Official code, or the name, inside the district. Use the code where names repeat."),
    "sector": N_("One of the codes, or its label in Khmer or English."),
    "business_name": N_("Micro-enterprises only: up to 120 characters."),
    "workers": N_("Micro-enterprises only: a whole number from 1 to 10."),
    "registered_on": N_("Optional: the day the person was registered; empty means today. Not in the future."),
}
_CODED = {"category": vocab.CATEGORIES, "gender": vocab.GENDERS, "sector": vocab.SECTORS}


def template_csv() -> bytes:
    return "".join(csv_chunks([TEMPLATE_COLUMNS])).encode("utf-8")


def _both(message: str, **params: Any) -> tuple[str, str]:
    return translate(message, "km", **params), translate(message, "en", **params)


def template_xlsx() -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "registrations"
    append_xlsx_rows(sheet, [TEMPLATE_COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)

    guide = book.create_sheet("instructions")
    head = [*_both(N_("Column")), "column", *_both(N_("Required")), *_both(N_("How to fill it")), *_both(N_("Allowed values"))]
    rows: list[list[Any]] = [head]
    for column in TEMPLATE_COLUMNS:
        required = _both(N_("Yes") if column in REQUIRED_COLUMNS else N_("No"))
        allowed = _CODED.get(column, {})
        allowed_km = "; ".join(f"{code} = {translate(label, 'km')}" for code, label in allowed.items())
        allowed_en = "; ".join(f"{code} = {translate(label, 'en')}" for code, label in allowed.items())
        rows.append([*_both(vocab.FIELD_LABELS[column]), column, *required, *_both(_HOW[column]), allowed_km, allowed_en])
    append_xlsx_rows(guide, rows)
    for cell in guide[1]:
        cell.font = Font(bold=True)

    places = book.create_sheet("areas")
    place_rows: list[list[Any]] = [["province", "district", "commune", "name_kh", "name_en"]]
    for province in areas.provinces():
        place_rows.append([province.code, "", "", province.name_kh, province.name_en])
        for district in areas.districts(province.code):
            place_rows.append([province.code, district.code, "", district.name_kh, district.name_en])
            for commune in areas.communes(district.code):
                place_rows.append([province.code, district.code, commune.code, commune.name_kh, commune.name_en])
    append_xlsx_rows(places, place_rows)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
