"""Languages and message catalogs, usable with or without a Flask app."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from babel.support import NullTranslations, Translations

TRANSLATIONS_DIR = Path(__file__).parent / "translations"
DEFAULT_LOCALE = "km"
LOCALES = ("km", "en")


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
