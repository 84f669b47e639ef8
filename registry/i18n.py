"""Languages and message catalogs, usable with or without a Flask app."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from babel.support import NullTranslations, Translations

TRANSLATIONS_DIR = Path(__file__).parent / "translations"
DEFAULT_LOCALE = "km"
LOCALES = ("km", "en")


_KHMER_DIGITS = str.maketrans("០១២៣៤៥៦៧៨៩", "0123456789")


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
