"""Khmer spellings that look the same on screen compared as one: canonical mark order.

Khmer is typed as a consonant followed by marks (subscripts, a register shifter, vowel
signs, signs above, finals), and keyboards and fonts let the same syllable be typed in
several orders that render identically: `ស` + `ី` + `្រ` draws as `ស្រី`. This module puts
each syllable in one order, the Khmer Encoding Structure's (KES v1, 2024)

    base {robat} {coeng + consonant}* {shifter} {vowel} {sign above} {final}

following SIL's `khnormal` (github.com/sillsdev/khmer-character-specification, (c) SIL
Global 2021-2024, MIT licence): coeng RO after any other subscript, coeng DA as coeng TA,
e + ii as oe, e + aa as oo, the vowel -u before a vowel above as the register shifter
it looks like. Upstream passes `re.X` as `re.sub`'s *count* argument, so that last rule
never fires there (nor in khmerspell 0.1.1, a copy); here it does. Additions, for identity
keys: the deprecated U+17A3, U+17A4 and U+17D8 are folded into what replaced them
(Unicode 16, chapter 16.4), a mark typed twice draws once and counts once, marks of the
same kind are ordered by code point, and the rules repeat until nothing changes (one
pass of khnormal leaves some orders unstable). docs/research/issue-12 has the
measurements: 25 of 25 identical-looking pairs equal, 14 of 14 different names apart,
200,000 random strings idempotent.

Input must already be `normalise.visible()` (zero-width joiners and other invisible
characters removed). Words are canonicalised one at a time and remembered: a million
registrations use a few thousand distinct name words, so an import pays ~80 µs per new word,
not per row.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_FOLD = str.maketrans({0x17A3: "\u17A2", 0x17A4: "\u17A2\u17B6", 0x17D8: "\u17D4\u179B\u17D4"})

BASE, ROBAT, COENG_PAIR, SHIFTER = 1, 2, 3, 4
# Sort rank of U+1780..U+17DD: 1 base, 2 robat, 3 coeng (+ its consonant), 4 shifter, 6
# pre-base/compound vowel, 7 vowel below, 8 vowel above, 9 aa, 10 sign above, 11 final; 0 other.
_RANK = ([1] * 35 + [0] * 2 + [1] * 15 + [0] * 2 + [9] + [8] * 4 + [7] * 3 + [6] * 8 + [10]
         + [11] * 2 + [4] * 2 + [10] + [2] + [10] * 5 + [3] + [10] + [0] * 9 + [10])
assert len(_RANK) == 0x17DE - 0x1780


def _rank(char: str) -> int:
    code = ord(char)
    return _RANK[code - 0x1780] if 0x1780 <= code <= 0x17DD else 0


# Consonant classes for the -u / shifter rule (SIL's "strong" and "non-strong" stems).
_S1 = "\u1780-\u1783\u1785-\u1788\u178A-\u178D\u178F-\u1792\u1795-\u1797\u179E-\u17A0\u17A2"
_S2 = "\u1784\u1780\u178E\u1793\u1794\u1798-\u179D\u17A1\u17A3-\u17B3"
_NONBA = "\u1780-\u1793\u1795-\u17A2\u17A5-\u17B3"
_B = "\u1780-\u17A2\u17A5-\u17B3"
_NONRO = "\u1780-\u1799\u179B-\u17A2\u17A5-\u17B3"
_STRONG = (f"(?:[{_S1}]\u17CC?(?:\u17D2[{_NONBA}](?:\u17D2[{_NONBA}])?)?"
           f"|[{_NONBA}]\u17CC?(?:\u17D2[{_S1}](?:\u17D2[{_NONBA}])?|\u17D2[{_NONBA}]\u17D2[{_S1}]))")
_COENG = f"(?:(?:\u17D2[{_NONRO}])?\u17D2[{_B}])"
_NSTRONG = (f"(?:[{_S2}]\u17CC?(?:\u17D2[{_S2}](?:\u17D2[{_S2}])?)?|\u1794\u17CC?(?:{_COENG}(?:{_COENG})?)?"
            f"|[{_B}]\u17CC?(?:\u17D2[{_NONRO}]\u17D2\u1794|\u17D2\u1794(?:\u17D2[{_B}])))")
_ABOVE = "(?:[\u17B7-\u17BA\u17BE\u17BF\u17DD]|\u17B6\u17C6)"
_RULES = (
    (re.compile("\u17D2\u17D2+"), "\u17D2"),  # coeng typed twice
    (re.compile("\u17BE\u17B6"), "\u17C4\u17B8"),  # confusable vowel pair
    (re.compile("\u17C1([\u17BB-\u17BD]?)\u17B8"), "\u17BE\\1"),  # e + ii -> oe
    (re.compile("\u17C1([\u17BB-\u17BD]?)\u17B6"), "\u17C4\\1"),  # e + aa -> oo
    (re.compile("(\u17BE)(\u17BB)"), r"\2\1"),
    (re.compile(f"^({_STRONG}[\u17C1-\u17C5]?)\u17BB(?={_ABOVE}|\u17D0)"), "\\1\u17CA"),  # -u -> triisap
    (re.compile(f"^({_NSTRONG}[\u17C1-\u17C5]?)\u17BB(?={_ABOVE}|\u17D0)"), "\\1\u17C9"),  # -u -> muusikatoan
    (re.compile("(\u17D2\u179A)(\u17D2[\u1780-\u17B3])"), r"\2\1"),  # coeng RO last
    (re.compile("\u17D2\u178A"), "\u17D2\u178F"),  # coeng DA -> coeng TA
)
_SAME_SUBSCRIPT = re.compile("(\u17D2[\u1780-\u17B3])\\1+")  # the same subscript typed twice draws once
_HAS_KHMER = re.compile("[\u1780-\u17FF]")


def _ranks(text: str) -> list[int]:
    ranks = [_rank(c) for c in text]
    for i in range(1, len(text)):  # the consonant after a coeng is part of the subscript
        if text[i - 1] == "\u17D2" and ranks[i] in (BASE, COENG_PAIR):
            ranks[i] = COENG_PAIR
    return ranks


def _one_pass(syllable: str) -> str:
    ranks = _ranks(syllable)
    # Stable by rank; bases and subscripts keep their typed order, other marks by code point.
    order = sorted(range(len(syllable)), key=lambda i: (ranks[i], i if ranks[i] <= COENG_PAIR else ord(syllable[i])))
    out: list[str] = []
    for i in order:
        if ranks[i] > COENG_PAIR and out and syllable[i] == out[-1]:
            continue  # the same mark typed twice draws once
        out.append(syllable[i])
    text = _SAME_SUBSCRIPT.sub(r"\1", "".join(out))
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


def _syllable(text: str) -> str:
    for _ in range(6):  # a rule can make a new order: repeat to a fixpoint
        again = _one_pass(text)
        if again == text:
            return text
        text = again
    return text


@lru_cache(maxsize=65536)
def _word(word: str) -> str:
    text = unicodedata.normalize("NFC", word.translate(_FOLD))
    ranks = _ranks(text)
    out, i = [], 0
    while i < len(text):
        if ranks[i] != BASE:
            out.append(text[i])
            i += 1
            continue
        j = i + 1
        while j < len(text) and ranks[j] > BASE:
            j += 1
        out.append(_syllable(text[i:j]))
        i = j
    return unicodedata.normalize("NFC", "".join(out))


def canonical(text: str) -> str:
    """`text` with every Khmer syllable in canonical order (idempotent; other text unchanged)."""
    if not _HAS_KHMER.search(text):
        return text
    return " ".join(_word(word) if _HAS_KHMER.search(word) else word for word in text.split(" "))
