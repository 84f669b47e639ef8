"""Khmer typed in a legacy font (Limon, ABC): found by a scored check, never converted.

Before Unicode, Khmer was typed with fonts that draw Khmer glyphs at Latin-1 code points:
consonants on letters (series-two ones on capitals: K = គ, C = ជ, B = ព), vowels on letters
(a = ា, i = ិ, I = ី, u = ុ, e = the pre-base េ), signs on punctuation (: = ៉, ; = ់), and
subscripts on Latin-1 symbols (þ = ្ត, ß = ្ថ, Ñ = ្ណ, ñ = ្ន, ¢ = ្ជ, ç = ្ខ, µ = ្ម…).
Text copied out of such a document is Latin letters and symbols in patterns no Latin name
has. Each pattern scores; a file is in a legacy font when a fifth of its names score 2 or
more (docs/research/issue-12: 200 of 200 Limon files found, none of 200 files of real Latin
names — François, Bjørn Dæhlie, Þór — flagged; one value alone is too short to decide, 0.8 %
false alarms). No Limon-to-Unicode table under a usable licence exists (kfc's converter is a
stub), and a wrong conversion would silently misspell people: staff are asked instead.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

ROW_THRESHOLD = 2  # a name scoring this much looks typed in a legacy font
FILE_SHARE = 0.2  # ... and a file is, when this share of its names do
SAMPLE_ROWS = 1000  # names looked at (the first rows of a file)

_SIGNS = frozenset(";:[]{}\\|`~^¶©¢§¼½¾µ¥£¤´‘«»¦¬±¹²³°")  # Limon signs and subscripts: never in a Latin name
_NORDIC = frozenset("þæÞÆÐðØ")  # Limon subscripts that are also Icelandic and Danish letters
_NORDIC_PLACE = re.compile(r"[øØæÆþÞðÐ][aeiouyjr]|[aeiouy][ðæø]")
_LATIN1_SUBSCRIPTS = "çÇßñÑ"  # Limon subscripts; in a Latin name only after a vowel (François, Peña)
_FRENCH_CEDILLA = re.compile(r"[aeiouyn]ç[aou]")  # François, Françoise, garçon: French, not a Limon subscript
_AFTER_CONSONANT = re.compile(r"[^aeiouy\W][%s]" % re.escape(_LATIN1_SUBSCRIPTS.lower()))
_NAME_PREFIX = re.compile(r"^(Mc|Mac|De|Le|La|Di|Da|Du|Van|Von|O'|D')[A-Z]")
_VOWELS = frozenset("aeiouyøæ")
_IMPOSSIBLE = re.compile(r"hg|kv|sg|xg|vN|[bk]B|cB|wm|qg|[bcdfgkpstvx][MN][a-z]?$|^R[bcdfghjklmnpqstvwxz]")
_INNER_CAPITAL = re.compile(r"[a-z][A-Z]")
_MIXED_CASE = re.compile(r"[A-Z]{2}[a-z]|[A-Z][a-z]+[A-Z]")
_PRE_BASE_E = re.compile(r"^[eE][bcdfhjklmpqstvwxzBCDFHJKLMPQSTVWXZ][bcdfghjklmnpqrstvwxzA-Z]?$")
_DIGIT_IN_WORD = re.compile(r"[a-zA-Z][0-9]|[0-9][a-zA-Z]")
_UNICODE_KHMER = re.compile("[\u1780-\u17FF\u19E0-\u19FF]")


def _plain(word: str) -> str:
    """Lower case, accents dropped from vowels (Þór -> þor), the Nordic letters kept."""
    return "".join(c if c in _NORDIC or c.lower() in "æøþð" else _base_letter(c) for c in word)


def _base_letter(char: str) -> str:
    return unicodedata.normalize("NFD", char)[0].lower()


def score(text: str) -> int:
    """How much `text` looks like Khmer typed in a legacy font (0: not at all)."""
    total = 0
    for token in text.split():
        word = token.strip(".,-")
        if not word or _UNICODE_KHMER.search(word):
            continue  # Khmer typed in Unicode is what we want
        if any(c in _SIGNS for c in word):
            total += 3
        elif any(c in _NORDIC for c in word) and not _NORDIC_PLACE.search(_plain(word)):
            total += 2
        if _IMPOSSIBLE.search(word):
            total += 2
        if _INNER_CAPITAL.search(word) and not _NAME_PREFIX.match(word):
            total += 2
        elif _MIXED_CASE.search(word) and not _NAME_PREFIX.match(word) and not word.isupper():
            total += 1
        if sum(c.isalpha() for c in word) >= 3 and not any(_base_letter(c) in _VOWELS for c in word):
            total += 1
        if _AFTER_CONSONANT.search(word.lower()) and not _FRENCH_CEDILLA.search(word.lower()):
            total += 2
        if _PRE_BASE_E.match(word):
            total += 1
        if _DIGIT_IN_WORD.search(word):
            total += 1
    return total


@dataclass(frozen=True)
class Finding:
    """Names of a file that look typed in a legacy font: how many of how many, and where."""

    suspect: int
    looked_at: int
    rows: tuple[int, ...]  # the first few suspect rows (spreadsheet row numbers)


def check_names(names: Iterable[tuple[int, str]], *, examples: int = 5) -> Finding | None:
    """A Finding when the file's names look typed in a legacy font; None otherwise.

    `names`: (row number, name as written) of the file's first rows; blank names are skipped."""
    looked_at, suspect, rows = 0, 0, []
    for number, name in names:
        if not name or not name.strip():
            continue
        looked_at += 1
        if score(name) >= ROW_THRESHOLD:
            suspect += 1
            if len(rows) < examples:
                rows.append(number)
    if looked_at and suspect >= FILE_SHARE * looked_at:
        return Finding(suspect, looked_at, tuple(rows))
    return None


def row_list(rows: Sequence[int]) -> str:
    return ", ".join(str(n) for n in rows)
