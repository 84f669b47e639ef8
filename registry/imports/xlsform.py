"""The XLSForm for KoboToolbox and ODK Collect: our fields, for collecting offline.

Every question is a field of registry.actors.fields under the same name, at the top level, so
KoboToolbox's and ODK Central's exports carry our column names and import with no mapping.
Labels come from the field list and the catalogs, choices from the vocabularies and the
gazetteer, constraints from the validation core's bounds (and its messages where they fit):
nothing is written here a second time.
"""
from __future__ import annotations

import hashlib
import io
import json
import unicodedata
from datetime import date
from functools import lru_cache
from typing import Any, Callable

from babel import Locale
from openpyxl import Workbook

from registry import areas, vocab
from registry.actors import fields, validation
from registry.actors.fast_parsing import PHONE_SEPARATORS, kh_phone_pattern
from registry.i18n import DEFAULT_LOCALE, KHMER_DIGITS, LOCALES, N_, in_every_language, translate
from registry.spreadsheets import append_xlsx_rows
from registry.imports.headers import CONSENT_QUESTION

FORM_ID = "registry_registration"
CONSENT = CONSENT_QUESTION  # also a column of the exports, which the importer recognises
YES, NO = "yes", "no"
# Characters that the Latin and Khmer keyboards type, over which the form repeats the core's
# rule for names (letters and combining marks, spaces, NAME_PUNCTUATION): Basic Latin,
# Latin-1, General Punctuation, currency signs, Khmer, Khmer Symbols. The core judges the rest.
KEYBOARD_RANGES = ((0x20, 0x7E), (0xA0, 0xFF), (0x1780, 0x17FF), (0x19E0, 0x19FF), (0x2010, 0x205E), (0x20A0, 0x20C0))
_CODED = {"category": vocab.CATEGORIES, "gender": vocab.GENDERS, "sector": vocab.SECTORS}
_TRANSLATED = ("label", "hint", "required_message", "constraint_message")
Text = dict[str, str]  # locale -> text


def language(locale: str) -> str:
    """XLSForm's name of a language: its English name and its code, "Khmer (km)"."""
    return f"{Locale.parse(locale).get_display_name('en')} ({locale})"


def _say(message: str, **params: Any) -> Text:
    return in_every_language(message, **params)


def _when_empty() -> dict[str, Text]:
    """What the validation core says about each field left empty (a micro-enterprise's too),
    in every language: the form's "required" messages."""
    errors = [*validation.validate_registration({}, today=date(2000, 1, 1))[1],
              *validation.validate_registration({"category": validation.MICRO_ENTERPRISE_CATEGORY},
                                                today=date(2000, 1, 1))[1]]
    said: dict[str, Text] = {}
    for error in errors:
        said.setdefault(error.field, {
            locale: validation.describe(error, lambda m, _locale=locale, **p: translate(m, _locale, **p), with_field=False)
            for locale in LOCALES})
    return said


def _ranges(codepoints: list[int]) -> str:
    """The inside of a regular expression character class of `codepoints`, in \\uXXXX escapes,
    which Java's (ODK Collect) and JavaScript's (Enketo) regular expressions read alike."""
    parts, start = [], None
    for position, point in enumerate(codepoints):
        if start is None:
            start = point
        if position + 1 == len(codepoints) or codepoints[position + 1] != point + 1:
            parts.append(f"\\u{start:04X}" + (f"-\\u{point:04X}" if point != start else ""))
            start = None
    return "".join(parts)


def name_pattern() -> str:
    """A name without the characters of KEYBOARD_RANGES the core refuses in one: digits,
    punctuation and symbols other than NAME_PUNCTUATION (it tidies spaces and drops invisible
    characters). Anchored, so that it reads the same where regex() finds and where it matches."""
    return "^[^" + _ranges([point for low, high in KEYBOARD_RANGES for point in range(low, high + 1)
                    if unicodedata.category(chr(point))[0] in "NPS" and chr(point) not in validation.NAME_PUNCTUATION]) + "]+$"


def _digits_of(separators: str) -> str:
    """XPath: the answer with Khmer digits as ASCII digits and `separators` removed (the core's
    ascii_digits and its separator rule)."""
    return f"translate(., '{KHMER_DIGITS}{separators}', '0123456789')"


def age_in_years() -> str:
    """XPath: whole years from the date of birth (.) to the date registered (vocab.age_on)."""
    on = "${registered_on}"
    return (f"(format-date({on}, '%Y') - format-date(., '%Y')"
            f" - if(format-date({on}, '%m%d') < format-date(., '%m%d'), 1, 0))")


def _micro_enterprise() -> str:
    return f"${{category}} = '{validation.MICRO_ENTERPRISE_CATEGORY}'"


def _length(max_length: int, min_length: int | None = None) -> str:
    length = "string-length(normalize-space(.))"
    return (f"{length} >= {min_length} and " if min_length is not None else "") + f"{length} <= {max_length}"


# What each field of the field list is on the form, besides its name and label.
_QUESTIONS: dict[str, Callable[[], dict[str, Any]]] = {
    "category": lambda: {"type": "select_one category"},
    "full_name": lambda: {
        "type": "text", "hint": _say(N_("As on the ID card.")),
        "constraint": f"{_length(validation.NAME_MAX_LENGTH, validation.NAME_MIN_LENGTH)}"
                      f" and regex(., '{name_pattern()}')",
        "constraint_message": _say(N_("Write %(min)s to %(max)s letters: spaces, “.”, “-” and “'” are allowed, "
                                      "digits and other signs are not."),
                                   min=validation.NAME_MIN_LENGTH, max=validation.NAME_MAX_LENGTH)},
    "gender": lambda: {"type": "select_one gender"},
    "date_of_birth": lambda: {
        "type": "date", "required_message": None,  # the core's asks for DD/MM/YYYY: a date picker needs no format
        "constraint": f"{age_in_years()} >= {vocab.MIN_AGE} and {age_in_years()} <= {vocab.MAX_AGE}",
        "constraint_message": _say(N_("The person must be %(min)s to %(max)s years old on the date registered. "
                                      "Check the date of birth."), min=vocab.MIN_AGE, max=vocab.MAX_AGE)},
    "national_id": lambda: {
        "type": "text", "appearance": "numbers",
        "hint": _say(N_("Optional: %(digits)s digits, as on the ID card."), digits=validation.NATIONAL_ID_DIGITS),
        "constraint": f"regex({_digits_of(' -')}, '^[0-9]{{{validation.NATIONAL_ID_DIGITS}}}$')",
        "constraint_message": _say(N_("Must be exactly %(digits)s digits (spaces and dashes are fine), or left empty."),
                                   digits=validation.NATIONAL_ID_DIGITS)},
    "phone": lambda: {
        "type": "text", "appearance": "numbers", "hint": _say(N_("e.g. 012 345 678")),
        "constraint": f"regex({_digits_of(PHONE_SEPARATORS)}, '{kh_phone_pattern()}')",
        "constraint_message": _say(N_("Not a Cambodian phone number. Write it like 012 345 678 or +855 12 345 678."))},
    "province": lambda: {"type": "select_one province", "appearance": "minimal"},
    "district": lambda: {"type": "select_one district", "appearance": "minimal",
                         "choice_filter": "province = ${province}"},
    "commune": lambda: {"type": "select_one commune", "appearance": "minimal",
                        "choice_filter": "district = ${district}"},
    "sector": lambda: {"type": "select_one sector", "appearance": "minimal"},
    "business_name": lambda: {
        "type": "text", "constraint": _length(validation.BUSINESS_NAME_MAX_LENGTH),
        "constraint_message": _say(N_("Must be at most %(max)s characters."), max=validation.BUSINESS_NAME_MAX_LENGTH)},
    "workers": lambda: {
        "type": "integer",
        "hint": _say(N_("Including the owner: %(min)s to %(max)s."), min=vocab.MIN_WORKERS, max=vocab.MAX_WORKERS),
        "constraint": f". >= {vocab.MIN_WORKERS} and . <= {vocab.MAX_WORKERS}",
        "constraint_message": _say(N_("Must be a whole number from %(min)s to %(max)s."),
                                   min=vocab.MIN_WORKERS, max=vocab.MAX_WORKERS)},
    "registered_on": lambda: {"type": "calculate", "calculation": "once(today())"},  # the day it was collected
}
_unasked = set(fields.NAMES) ^ set(_QUESTIONS)
if _unasked:
    raise RuntimeError(f"registry.actors.fields and the XLSForm's questions differ: {sorted(_unasked)}")


def questions() -> list[dict[str, Any]]:
    """The survey sheet's rows: KoboToolbox's start and end, every field, the consent question."""
    rows: list[dict[str, Any]] = [{"type": "start", "name": "start"}, {"type": "end", "name": "end"}]
    when_empty = _when_empty()
    for field in fields.FIELDS:
        row: dict[str, Any] = {"name": field.name, "label": _say(field.label)}
        if field.need == fields.REQUIRED:
            row.update(required="yes", required_message=when_empty.get(field.name))
        elif field.need == fields.MICRO_ENTERPRISE:
            row.update(relevant=_micro_enterprise(), required=_micro_enterprise(),
                       required_message=when_empty.get(field.name))
        row.update(_QUESTIONS[field.name]())
        rows.append(row)
    rows.append({
        "type": "select_one yes_no", "name": CONSENT,
        "label": _say(N_("I read this notice to the person, and they agreed that their details are kept for this purpose.")),
        "hint": _say(N_("The Ministry of Industry, Science, Technology and Innovation keeps these details to count and "
                        "support informal economy actors and to contact you about programmes for them. They are not "
                        "published; only totals are.")),
        "required": "yes", "constraint": f". = '{YES}'",
        "constraint_message": _say(N_("Only a person who agrees can be registered. Read the notice to them again, "
                                      "or stop here."))})
    return rows


def choices() -> list[dict[str, Any]]:
    """The choices sheet's rows: the vocabularies (the registration form's labels) and the
    gazetteer's places, each district under its province and each commune under its district."""
    rows: list[dict[str, Any]] = []
    for list_name, terms in _CODED.items():
        rows += [{"list_name": list_name, "name": code, "label": _say(label)} for code, label in terms.items()]
    rows += [{"list_name": "yes_no", "name": YES, "label": _say(N_("Yes"))},
             {"list_name": "yes_no", "name": NO, "label": _say(N_("No"))}]
    for province in areas.provinces():
        rows.append({"list_name": "province", "name": province.code, "label": _place(province)})
        for district in areas.districts(province.code):
            rows.append({"list_name": "district", "name": district.code, "label": _place(district),
                         "province": province.code})
            rows += [{"list_name": "commune", "name": commune.code, "label": _place(commune), "district": district.code}
                     for commune in areas.communes(district.code)]
    return rows


def _place(record: areas.Area) -> Text:
    return {locale: areas.area_name(record, locale) for locale in LOCALES}


def _table(rows: list[dict[str, Any]]) -> list[list[Any]]:
    """Rows of dicts as a header and cells; a translated column becomes one per language
    ("label::Khmer (km)", "label::English (en)"); columns nobody fills are left out."""
    columns: list[str] = []
    for row in rows:
        for key, value in row.items():
            if value and key not in columns:
                columns.append(key)
    header: list[str] = []
    for column in columns:
        header += [f"{column}::{language(locale)}" for locale in LOCALES] if column in _TRANSLATED else [column]
    table: list[list[Any]] = [header]
    for row in rows:
        cells: list[Any] = []
        for column in columns:
            value = row.get(column)
            if column in _TRANSLATED:
                cells += [(value or {}).get(locale, "") for locale in LOCALES]
            else:
                cells.append(value or "")
        table.append(cells)
    return table


def form_title() -> str:
    """The project's name in KoboToolbox and ODK Central, in every language ("/" would not do:
    KoboToolbox names its XLSX export's sheet after it)."""
    return " · ".join(in_every_language(N_("Informal economy registry")).values())


@lru_cache(maxsize=1)
def xlsform_xlsx() -> bytes:
    """The XLSForm workbook (cached: the gazetteer's ~1,900 places are slow to write each time).
    Its version is a hash of its content, so it changes exactly when the form does."""
    survey, listed = _table(questions()), _table(choices())
    version = hashlib.sha256(json.dumps([survey, listed], ensure_ascii=False).encode()).hexdigest()[:12]
    title = form_title()
    settings = [["form_title", "form_id", "version", "default_language"],
                [title, FORM_ID, version, language(DEFAULT_LOCALE)]]
    book = Workbook()
    for position, (name, rows) in enumerate((("survey", survey), ("choices", listed), ("settings", settings))):
        sheet = book.active if position == 0 else book.create_sheet(name)
        sheet.title = name
        append_xlsx_rows(sheet, rows)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
