"""The rules of a registration, written once: raw text in, a clean record or field errors out.

Plain functions with no Flask inside. The web form, the bulk importer, the API and the
CLI all call `validate_registration`; messages are English msgids with %(name)s
placeholders, translated into the reader's language when they are shown.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any, Callable, Mapping, NamedTuple

import phonenumbers

from registry import areas, vocab
from registry.actors import fields
from registry.actors.fast_parsing import PHONE_REGION, kh_phone, memoised
from registry.actors.normalise import identity_name, visible
from registry.actors.romanise import roman_key
from registry.i18n import LOCALES, N_, ascii_digits, catalog
from registry.vocab import age_on

_SPACES = re.compile(r"\s+")
# Bounds of the rules below, named once: registry.imports.xlsform writes the same bounds into
# the field form's constraints (ages and the number of workers are in registry.vocab).
NAME_PUNCTUATION = ".-'’"  # allowed between the letters of a name, with spaces
NAME_MIN_LENGTH, NAME_MAX_LENGTH = 2, 100
NATIONAL_ID_DIGITS = 9
BUSINESS_NAME_MAX_LENGTH = 120
MICRO_ENTERPRISE_CATEGORY = "micro_enterprise"  # the category whose owners give a business name and workers
_NAME_PUNCTUATION = frozenset(NAME_PUNCTUATION)
_NAME_IGNORED = str.maketrans("", "", " " + NAME_PUNCTUATION)
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DMY_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_ID_SEPARATORS = re.compile(r"[\s\-]+")
_WHOLE = re.compile(r"(\d+)(?:\.0+)?")


@dataclass(frozen=True)
class FieldError:
    """One problem with one field: `message` is an msgid, `params` fill its placeholders."""

    field: str
    message: str
    params: Mapping[str, Any] = field(default_factory=dict)


class Problem(ValueError):
    """Raised by a field parser; turned into a FieldError for that field."""

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        self.params = params


class Registration(NamedTuple):
    """A registration that passed every rule, in stored form: one member per column of the
    actor table it fills (the bulk insert derives its columns from this list). A tuple:
    cheap to build and to hand from a validating process to a writing one."""

    category: str
    full_name: str
    name_key: str
    roman_key: str  # the name romanised (registry.actors.romanise): the duplicate look-up's key
    gender: str
    date_of_birth: date
    national_id: str | None
    phone: str
    province_code: str
    district_code: str
    commune_code: str
    sector: str
    business_name: str | None
    workers: int | None
    registered_on: date


# --------------------------------------------------------------------------- text helpers
def clean_text(value: Any) -> str:
    """Cell or form value as trimmed, visible text (normalise.visible: no invisible
    characters, NFC), Khmer digits kept (None -> '')."""
    if value.__class__ is str:
        text = value
    elif value is None:
        return ""
    elif isinstance(value, float) and value.is_integer():
        return str(int(value))
    else:
        text = str(value)
    return (text if text.isascii() else visible(text)).strip()


@lru_cache(maxsize=1024)
def _code_form(text: str) -> str:
    """'Self-employed', 'self employed' and 'SELF_EMPLOYED' all become 'self_employed'."""
    return _SPACES.sub("_", text.replace("-", " ").strip()).casefold()


@lru_cache(maxsize=None)
def _synonyms(kind: str) -> dict[str, str]:
    """Accepted spellings -> code: the code, its English labels and every catalog's labels."""
    label_sets, extra = _VOCABULARIES[kind]
    table: dict[str, str] = {}
    for labels in label_sets:
        for code, label in labels.items():
            table[_code_form(code)] = code
            table[_code_form(label)] = code
            for locale in LOCALES:
                table[_code_form(catalog(locale).ugettext(label))] = code
    for spelling, code in extra.items():
        table[_code_form(spelling)] = code
    return table


# Every label of a vocabulary, in every catalog's language (what the registration form and
# our XLSForm's choices show, so a field tool's export of labels reads as the codes), and a
# few everyday words more: the form and the importer both read values through this table.
_VOCABULARIES: dict[str, tuple[tuple[Mapping[str, str], ...], Mapping[str, str]]] = {
    "category": ((vocab.CATEGORIES, vocab.CATEGORY_SHORT), {}),
    "gender": ((vocab.GENDERS,), {"f": "female", "m": "male", "woman": "female", "man": "male",
                                  "ស្ត្រី": "female", "បុរស": "male"}),
    "sector": ((vocab.SECTORS,), {}),
}


def _coded(value: Any, kind: str) -> str:
    """A coded value; an error names the vocabulary, whose labels `describe` lists in the
    reader's language (never the codes alone)."""
    text = clean_text(value)
    if not text:
        raise Problem(N_("Required. Choose one of: %(choices)s."), vocabulary=kind)
    code = _synonyms(kind).get(_code_form(text))
    if code is None:
        raise Problem(N_("“%(value)s” is not allowed. Choose one of: %(choices)s."), value=text[:40], vocabulary=kind)
    return code


def code_key(value: Any) -> str:
    """A cell as the coded parsers compare it ('Self-employed ' -> 'self_employed'): the key
    of an import mapping's value map (registry.imports.mapping_rules)."""
    return _code_form(clean_text(value))


def known_code(kind: str, value: Any) -> str | None:
    """The code a coded field's parser gives `value`, or None when it is not recognised."""
    return _synonyms(kind).get(code_key(value))


CODED_FIELDS: tuple[str, ...] = tuple(_VOCABULARIES)  # category, gender, sector


# --------------------------------------------------------------------------- field parsers
def parse_category(value: Any) -> str:
    return _coded(value, "category")


def parse_gender(value: Any) -> str:
    return _coded(value, "gender")


def parse_sector(value: Any) -> str:
    return _coded(value, "sector")


def normalise_name(value: Any) -> str:
    text = clean_text(value)
    if "  " in text or "\t" in text or "\n" in text or "\r" in text or not text.isascii():
        return _SPACES.sub(" ", text)
    return text


def parse_full_name(value: Any) -> str:
    name = normalise_name(value)
    if not name:
        raise Problem(N_("Required. Write the name as on the ID card."))
    if not name.translate(_NAME_IGNORED).isalpha():
        _check_name_characters(name)
    if not NAME_MIN_LENGTH <= len(name) <= NAME_MAX_LENGTH:
        raise Problem(N_("Must be %(min)s to %(max)s characters long (now %(length)s)."),
                      min=NAME_MIN_LENGTH, max=NAME_MAX_LENGTH, length=len(name))
    return name


def _check_name_characters(name: str) -> None:
    """Letters and combining marks (Khmer vowel signs, coeng) of any script; nothing else."""
    for char in name:
        if char == " " or char in _NAME_PUNCTUATION:
            continue
        if unicodedata.category(char)[0] not in "LM":
            raise Problem(
                N_("“%(char)s” is not allowed in a name. Use letters, spaces, “.”, “-” and “'” only."),
                char=char if char.isprintable() else repr(char),
            )


def parse_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = ascii_digits(clean_text(value))
    if not text:
        raise Problem(N_("Required. Write the date as DD/MM/YYYY, e.g. 25/01/1990."))
    iso, dmy = _ISO_DATE.fullmatch(text), _DMY_DATE.fullmatch(text)
    if iso:
        year, month, day = (int(part) for part in iso.groups())
    elif dmy:
        day, month, year = (int(part) for part in dmy.groups())
    else:
        raise Problem(
            N_("“%(value)s” is not a date. Write DD/MM/YYYY (e.g. 25/01/1990) or YYYY-MM-DD."),
            value=text[:20],
        )
    try:
        return date(year, month, day)
    except ValueError:
        raise Problem(N_("%(value)s is not a real calendar date. Check the day and the month."), value=text) from None


def parse_national_id(value: Any) -> str | None:
    text = clean_text(value)
    if not text:
        return None
    if len(text) == NATIONAL_ID_DIGITS and text.isascii() and text.isdigit():
        return text
    digits = ascii_digits(_ID_SEPARATORS.sub("", text))
    if not (digits.isascii() and digits.isdigit() and len(digits) == NATIONAL_ID_DIGITS):
        raise Problem(N_("Must be exactly %(digits)s digits (spaces and dashes are fine), or left empty."),
                      digits=NATIONAL_ID_DIGITS)
    return digits


def parse_phone(value: Any) -> str:
    text = ascii_digits(clean_text(value))
    fast = kh_phone(text)
    if fast is not None:
        return fast
    if not text:
        raise Problem(N_("Required. Write a Cambodian mobile or landline number, e.g. 012 345 678."))
    try:
        number = phonenumbers.parse(text, PHONE_REGION)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise Problem(
            N_("“%(value)s” is not a valid phone number. Write a Cambodian number, e.g. 012 345 678."),
            value=text[:30],
        )
    if phonenumbers.region_code_for_number(number) != PHONE_REGION:
        raise Problem(N_("Must be a Cambodian number (+855). Foreign numbers are not accepted."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def parse_business_name(value: Any) -> str:
    text = _SPACES.sub(" ", clean_text(value))
    if not text:
        raise Problem(N_("Required for a micro-enterprise. Write the name of the business."))
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise Problem(N_("Contains a control character. Retype the business name."))
    if len(text) > BUSINESS_NAME_MAX_LENGTH:
        raise Problem(N_("Must be at most %(max)s characters (now %(length)s)."), max=BUSINESS_NAME_MAX_LENGTH,
                      length=len(text))
    return text


def parse_workers(value: Any) -> int:
    text = ascii_digits(clean_text(value))
    if not text:
        raise Problem(N_("Required for a micro-enterprise: how many people work there (%(min)s to %(max)s)."),
                      min=vocab.MIN_WORKERS, max=vocab.MAX_WORKERS)
    match = _WHOLE.fullmatch(text)
    if not match or not vocab.MIN_WORKERS <= int(match.group(1)) <= vocab.MAX_WORKERS:
        raise Problem(N_("Must be a whole number from %(min)s to %(max)s."), min=vocab.MIN_WORKERS, max=vocab.MAX_WORKERS)
    return int(match.group(1))


def parse_registered_on(value: Any, today: date) -> date:
    if not clean_text(value) and not isinstance(value, date):
        return today
    day = _parse_day(value)
    if day > today:
        raise Problem(N_("Cannot be in the future. Use today's date or an earlier one."))
    return day


_AREA_MESSAGES = {
    "province": (
        N_("“%(value)s” is not a province of Cambodia. Choose from the list or write the 2-digit code."),
        None,
    ),
    "district": (
        N_("“%(value)s” is not a district of the province chosen. Choose from the list or write the 4-digit code."),
        N_("District %(value)s belongs to province %(parent)s, not to the province chosen. Check both fields."),
    ),
    "commune": (
        N_("“%(value)s” is not a commune of the district chosen. Choose from the list or write the 6-digit code."),
        N_("Commune %(value)s belongs to district %(parent)s, not to the district chosen. Check both fields."),
    ),
}
_REQUIRED_AREA = N_("Required. Choose from the list or write the official code.")
_AMBIGUOUS_AREA = N_("Several places here are called “%(value)s”. Write the official code instead.")
# What the messages above say to someone on the form, who picks places from lists and never
# sees a code (a value off the list there is a district left from a province chosen before).
def _form_wording() -> dict[tuple[str, str], str]:
    wording: dict[tuple[str, str], str] = {}
    for name, choose, again in (
        ("province", N_("Choose your province from the list."), N_("Choose your province from the list.")),
        ("district", N_("Choose your district from the list."),
         N_("This district is not in the province chosen. Choose the district again from the list.")),
        ("commune", N_("Choose your commune from the list."),
         N_("This commune is not in the district chosen. Choose the commune again from the list.")),
    ):
        wording[(name, _REQUIRED_AREA)] = wording[(name, _AMBIGUOUS_AREA)] = choose
        wording.update({(name, message): again for message in _AREA_MESSAGES[name] if message})
    return wording


_ON_THE_FORM = _form_wording()
_FINDERS: dict[str, Callable[..., Any]] = {
    "province": areas.find_province,
    "district": areas.find_district,
    "commune": areas.find_commune,
}


def _parse_area(raw: Mapping[str, Any], errors: list[FieldError]) -> tuple[str, str, str] | None:
    texts = (clean_text(raw.get("province")), clean_text(raw.get("district")), clean_text(raw.get("commune")))
    codes, found = _area(*texts)
    errors.extend(found)
    return codes


@lru_cache(maxsize=100_000)
def _area(*texts: str) -> tuple[tuple[str, str, str] | None, tuple[FieldError, ...]]:
    """Resolve province, district and commune, each inside its parent; they must nest."""
    errors: list[FieldError] = []
    codes: list[str] = []
    for position, (name, finder) in enumerate(_FINDERS.items()):
        text = texts[position]
        not_found, elsewhere = _AREA_MESSAGES[name]
        if not text:
            errors.append(FieldError(name, _REQUIRED_AREA))
            continue
        if len(codes) != position:
            continue  # the parent is wrong: it is reported, this field cannot be checked yet
        try:
            codes.append(finder(*codes[-1:], text).code)
        except areas.AreaAmbiguous:
            errors.append(FieldError(name, _AMBIGUOUS_AREA, {"value": text[:60]}))
        except areas.AreaElsewhere as exc:
            parent = exc.found.code[: len(exc.found.code) - 2]
            errors.append(FieldError(name, elsewhere or not_found, {"value": exc.found.code, "parent": parent}))
        except areas.AreaNotFound:
            errors.append(FieldError(name, not_found, {"value": text[:60]}))
    return ((codes[0], codes[1], codes[2]) if len(codes) == 3 else None), tuple(errors)


def _remembered(parser: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return memoised(parser, Problem)


# One parser per field of registry.actors.fields; the area fields are resolved together
# (_parse_area) and registered_on against today's date.
_PARSERS: dict[str, Callable[[Any], Any]] = {
    "category": _remembered(parse_category),
    "full_name": parse_full_name,
    "gender": _remembered(parse_gender),
    "date_of_birth": _remembered(parse_date),
    "national_id": parse_national_id,
    "phone": parse_phone,
    "sector": _remembered(parse_sector),
    "business_name": parse_business_name,
    "workers": parse_workers,
}
_parse_day = _remembered(parse_date)
_unparsed = set(fields.NAMES) - set(_PARSERS) - set(fields.AREA_NAMES) - {"registered_on"}
if _unparsed:
    raise RuntimeError(f"registry.actors.fields declares {sorted(_unparsed)} but validation has no parser for it")
# Members computed from others (the name's keys): never a change of their own.
DERIVED = ("name_key", "roman_key")
_STORED = itemgetter(*Registration._fields)  # a registration's values by member name, in its order
_ALWAYS = tuple((f.name, _PARSERS[f.name]) for f in fields.FIELDS if f.name in _PARSERS and f.need != fields.MICRO_ENTERPRISE)
_MICRO = tuple((name, _PARSERS[name]) for name in fields.MICRO_ENTERPRISE_NAMES)


def validate_registration(
    raw: Mapping[str, Any], *, today: date
) -> tuple[Registration | None, list[FieldError]]:
    """Check every rule; return the clean registration, or None and all field errors."""
    errors: list[FieldError] = []
    values: dict[str, Any] = dict.fromkeys(fields.MICRO_ENTERPRISE_NAMES)
    for name, parser in _ALWAYS:
        try:
            values[name] = parser(raw.get(name))
        except Problem as problem:
            errors.append(FieldError(name, problem.message, problem.params))
    if values.get("category") == MICRO_ENTERPRISE_CATEGORY:
        for name, parser in _MICRO:
            try:
                values[name] = parser(raw.get(name))
            except Problem as problem:
                errors.append(FieldError(name, problem.message, problem.params))
    try:
        values["registered_on"] = parse_registered_on(raw.get("registered_on"), today)
    except Problem as problem:
        errors.append(FieldError("registered_on", problem.message, problem.params))
    area = _parse_area(raw, errors)

    birth, registered = values.get("date_of_birth"), values.get("registered_on")
    if birth and registered:
        age = age_on(birth, registered)
        if age < vocab.MIN_AGE:
            errors.append(FieldError("date_of_birth", N_("The person must be at least %(min)s years old on the date registered (now %(age)s)."), {"min": vocab.MIN_AGE, "age": max(age, 0)}))
        elif age > vocab.MAX_AGE:
            errors.append(FieldError("date_of_birth", N_("The person would be %(age)s years old. Check the year of birth."), {"age": age}))

    if errors or area is None:
        return None, errors
    values["name_key"] = identity_name(values["full_name"])
    values["roman_key"] = roman_key(values["full_name"])
    values["province_code"], values["district_code"], values["commune_code"] = area
    return Registration._make(_STORED(values)), []


def describe(error: FieldError, translate: Callable[..., str], *, with_field: bool = True,
             with_codes: bool = False) -> str:
    """The error as a sentence in the reader's language (`translate` is a gettext). A list
    of allowed values reads as their labels; `with_codes` adds each code in brackets (for
    the import report, whose readers may write codes). Without it the reader is on the form,
    where places are chosen from lists: an area message says what to choose."""
    params = dict(error.params)
    message_id = error.message if with_codes else _ON_THE_FORM.get((error.field, error.message), error.message)
    kind = params.pop("vocabulary", None)
    if kind in _VOCABULARIES:
        labels = _VOCABULARIES[kind][0][0]
        params["choices"] = ", ".join(
            f"{translate(label)} ({code})" if with_codes else translate(label) for code, label in labels.items())
    message = translate(message_id, **params)
    if not with_field:
        return message
    return f"{translate(fields.ERROR_LABELS.get(error.field, error.field))}: {message}"
