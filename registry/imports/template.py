"""The import template: the columns, and (XLSX) how to fill them, in Khmer and English."""
from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from registry import areas, vocab
from registry.actors import fields
from registry.i18n import LOCALES, N_, in_every_language, translate
from registry.imports.reading import TEMPLATE_COLUMNS
from registry.spreadsheets import append_xlsx_rows, csv_chunks

_CODED = {"category": vocab.CATEGORIES, "gender": vocab.GENDERS, "sector": vocab.SECTORS}


def template_csv() -> bytes:
    return "".join(csv_chunks([TEMPLATE_COLUMNS])).encode("utf-8")


def _each(message: str) -> list[str]:
    """`message` in every language, as cells side by side."""
    return list(in_every_language(message).values())


def instructions() -> list[list[Any]]:
    """The instructions sheet: every field, how to fill it and its allowed values, in every language."""
    rows: list[list[Any]] = [[*_each(N_("Column")), "column", *_each(N_("Required")), *_each(N_("How to fill it")),
                              *_each(N_("Allowed values"))]]
    for field in fields.FIELDS:
        required = N_("Yes") if field.need == fields.REQUIRED else N_("No")
        allowed = _CODED.get(field.name, {})
        rows.append([
            *_each(field.label), field.name, *_each(required), *_each(field.how),
            *("; ".join(f"{code} = {translate(label, locale)}" for code, label in allowed.items()) for locale in LOCALES),
        ])
    return rows


def template_xlsx() -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "registrations"
    append_xlsx_rows(sheet, [TEMPLATE_COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)

    guide = book.create_sheet("instructions")
    append_xlsx_rows(guide, instructions())
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
