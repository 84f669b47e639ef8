"""Both catalogs are complete: every user-facing string has Khmer and English text."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from registry.i18n import DEFAULT_LOCALE, FALLBACK_LOCALE, LOCALES, current_locale, in_every_language, localised

ROOT = Path(__file__).resolve().parent.parent
CATALOGS = ROOT / "registry" / "translations"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def text(value: str | tuple[str, ...] | list[str]) -> str:
    """A msgid or translation as one string (a plural entry: its forms joined)."""
    return value if isinstance(value, str) else "\n".join(value)


def complete(value: str | tuple[str, ...] | list[str]) -> bool:
    return bool(value) if isinstance(value, str) else all(value)


def hashable(value: str | tuple[str, ...] | list[str]) -> str | tuple[str, ...]:
    return value if isinstance(value, str) else tuple(value)


@pytest.fixture(scope="module")
def source_messages(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "--no-location", "-F", "babel.cfg",
         "-k", "_l", "-k", "N_", "-o", str(pot), "."],
        cwd=ROOT, check=True, capture_output=True,
    )
    with pot.open("rb") as fh:
        return {m.id for m in read_po(fh) if m.id}


@pytest.mark.parametrize("locale", LOCALES)
def test_catalog_translates_every_source_string(locale: str, source_messages: set[str]) -> None:
    with (CATALOGS / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    translated = {m.id: m.string for m in catalog if m.id and complete(m.string) and "fuzzy" not in m.flags}
    missing = sorted(source_messages - set(translated), key=text)
    assert missing == [], f"{len(missing)} strings untranslated in {locale}: run `make translations`"
    for msgid, translation in translated.items():  # a plural entry: each form holds the plural's placeholders
        forms = [translation] if isinstance(translation, str) else translation
        wanted = set(PLACEHOLDER.findall(msgid if isinstance(msgid, str) else msgid[-1]))
        assert all(set(PLACEHOLDER.findall(form)) == wanted for form in forms), msgid


@pytest.mark.parametrize("locale", LOCALES)
def test_compiled_catalog_is_up_to_date(locale: str) -> None:
    folder = CATALOGS / locale / "LC_MESSAGES"
    with (folder / "messages.po").open("rb") as fh:
        source = {hashable(m.id): hashable(m.string) for m in read_po(fh, locale=locale) if m.id}
    with (folder / "messages.mo").open("rb") as fh:
        compiled = {hashable(m.id): hashable(m.string) for m in read_mo(fh) if m.id}
    assert compiled == source, "run `make translations` (pybabel compile)"


def test_khmer_catalog_is_in_khmer() -> None:
    with (CATALOGS / "km" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        strings = [text(m.string) for m in read_po(fh, locale="km") if m.id and complete(m.string)]
    khmer = [s for s in strings if re.search(r"[\u1780-\u17ff]", s)]
    assert len(khmer) >= 0.9 * len(strings)


def test_languages_are_one_list_with_khmer_first() -> None:
    assert LOCALES[0] == DEFAULT_LOCALE == "km" and FALLBACK_LOCALE in LOCALES
    assert list(in_every_language("Gender")) == list(LOCALES)
    assert in_every_language("Gender")["en"] == "Gender" and in_every_language("Gender")["km"] != "Gender"
    assert current_locale() == DEFAULT_LOCALE  # outside a request


def test_data_held_in_khmer_and_english_falls_back_to_english() -> None:
    names = {"km": "ភ្នំពេញ", "en": "Phnom Penh"}
    assert localised(names, "km") == "ភ្នំពេញ"
    assert localised(names, "fr") == "Phnom Penh"


def test_every_page_offers_every_other_language(client) -> None:  # type: ignore[no-untyped-def]
    for locale in LOCALES:
        page = client.get(f"/register?lang={locale}").get_data(as_text=True)
        assert f'<html lang="{locale}">' in page
        offered = set(re.findall(r'hreflang="([a-z]+)"', page))
        assert offered == set(LOCALES) - {locale}
