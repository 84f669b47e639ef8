"""Languages and message catalogs, usable with or without a Flask app.

The list of languages is data: LOCALES (Khmer first, the default) and their own names.
Adding a language is its catalog plus one entry here. Data that exists only in some
languages (gazetteer names, indicator labels: Khmer and English) falls back to
FALLBACK_LOCALE through `localised`.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Mapping

from babel.support import NullTranslations, Translations

TRANSLATIONS_DIR = Path(__file__).parent / "translations"
# Each language in its own words, in the order offered; the first is the default.
LANGUAGE_NAMES: dict[str, str] = {"km": "ខ្មែរ", "en": "English"}
LOCALES: tuple[str, ...] = tuple(LANGUAGE_NAMES)
DEFAULT_LOCALE = LOCALES[0]
FALLBACK_LOCALE = "en"  # for data held in Khmer and English only


KHMER_DIGITS = "០១២៣៤៥៦៧៨៩"  # 0 to 9
_KHMER_DIGITS = str.maketrans(KHMER_DIGITS, "0123456789")


def ascii_digits(text: str) -> str:
    """Khmer digits (០–៩) as ASCII digits; every other character unchanged."""
    return text.translate(_KHMER_DIGITS)


def N_(message: str) -> str:
    """Mark a string for extraction without translating it now (translated when shown)."""
    return message


@lru_cache(maxsize=None)
def catalog(locale: str) -> NullTranslations:
    """The compiled catalog of one language (plain gettext, no request needed)."""
    return Translations.load(str(TRANSLATIONS_DIR), [locale])


def translate(message: str, locale: str, **params: object) -> str:
    """`message` in `locale`, with %(name)s placeholders filled."""
    text = catalog(locale).ugettext(message)
    return text % params if params else text


def in_every_language(message: str, **params: object) -> dict[str, str]:
    """`message` in each language, in the order of LOCALES (the certificate, the template)."""
    return {locale: translate(message, locale, **params) for locale in LOCALES}


def localised(values: Mapping[str, str], locale: str) -> str:
    """The text for `locale` from data held per language, else the fallback language's."""
    return values.get(locale) or values[FALLBACK_LOCALE]


def current_locale() -> str:
    """The reader's language: the request's (Flask-Babel) inside a request, else the default."""
    from flask import has_request_context
    from flask_babel import get_locale

    if has_request_context():
        found = get_locale()
        if found is not None and str(found) in LOCALES:
            return str(found)
    return DEFAULT_LOCALE
