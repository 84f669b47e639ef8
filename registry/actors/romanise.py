"""A romanised key of a name, the same for `សុខ ដារ៉ា` and `Sok Dara`: cross-script matching.

No library romanises Khmer names usably here (ICU has no Khmer-Latin transliterator; the
khmer-latin-name-transformer needs ~700 MB of pynini and 54 ms per name; anyascii and
Unidecode spell letter by letter, `pechr` for Pich). So this is a coarse phonetic key, built
from how Cambodian names are written in Latin letters on ID cards and outreach sheets: per
word, the consonant skeleton in broad classes (K C T P B S N J=ñ G=ng M L R V Y H) plus the
class of a final pronounced vowel (A: a/ea/ia, E: i/e/y/ey/ay, O: o/u/ou/ao/eo/ov). A
repeated consonant collapses only when no vowel separates them (ណ្ណ, nn, tth), so Sopheap
and Sophea stay apart.

Khmer side: trailing silent subscripts (ពេជ្រ), coda glides រ វ យ, the reahmuk and the
silent final -i/-u of Pali spellings (សម្បត្តិ, សុជាតិ) are dropped; nikahit counts as M.
Latin side: digraphs first; h, r, v, w count only before a vowel, y only word-initially,
a final -b is P.

Measured on 78 names and 161 real Latin spellings (docs/research/issue-12): Khmer-Latin
precision 0.91, recall 0.97; names that differ only by an inner vowel share a key
(Chan/Chun, Kim/Khim). It is a *blocking* key: it says which pairs to look at, a similarity
score says how alike they are, and staff decide. Never merge on key equality.

Every registration stores its key (`actor.roman_key`, set by the validation core), so the
duplicate look-up probes an index instead of reading everyone born on the same day. ANY
change to the key ships with a migration that recomputes the stored keys (as
0024_roman_key computed them first), or the look-up stops finding the pairs it should.
"""
from __future__ import annotations

import re
from functools import lru_cache

from registry.actors.khmer import canonical

_KHMER_CLASS: dict[str, str] = {}
for _letters, _class in (("កខគឃ", "K"), ("ង", "G"), ("ចឆជឈ", "C"), ("ញ", "J"), ("ដឋឌឍតថទធ", "T"),
                         ("ណន", "N"), ("បផពភ", "P"), ("ម", "M"), ("យ", "Y"), ("រ", "R"),
                         ("លឡ", "L"), ("វ", "V"), ("ឝឞស", "S"), ("ហ", "H"), ("អ", ""), ("ឫឬ", "R"), ("ឭឮ", "L")):
    for _letter in _letters:
        _KHMER_CLASS[_letter] = _class
_KHMER_VOWEL = {**dict.fromkeys("\u17B6\u17C3\u17BF", "A"),
                **dict.fromkeys("\u17B7\u17B8\u17B9\u17BA\u17BE\u17C1\u17C2\u17C0", "E"),
                **dict.fromkeys("\u17BB\u17BC\u17BD\u17C4\u17C5", "O")}
_KHMER = re.compile("[\u1780-\u17DD]")
_COENG, _NIKAHIT = "\u17D2", "\u17C6"


def _khmer_word(word: str) -> tuple[str, str | None]:
    word = canonical(word)
    parts: list[list] = []  # [class, is a subscript, class of the vowel after it]
    i = 0
    while i < len(word):
        char = word[i]
        if char == _COENG and i + 1 < len(word):
            parts.append([_KHMER_CLASS.get(word[i + 1], ""), True, None])
            i += 2
            continue
        if char in _KHMER_CLASS:
            parts.append([_KHMER_CLASS[char], False, None])
        elif char in _KHMER_VOWEL and parts:
            parts[-1][2] = _KHMER_VOWEL[char]
        elif char == _NIKAHIT and parts:
            parts.append(["M", False, None])
        elif "\u17A5" <= char <= "\u17B3":  # independent vowels
            parts.append(["", False, "O" if char in "ឧឩឪឳ" else "E" if char in "ឥឦឯ" else "A"])
        i += 1
    if len(parts) > 1 and parts[-1][2] in ("E", "O") and word[-1] in "\u17B7\u17BB":
        parts[-1][2] = None  # silent final -i / -u of a Pali spelling
    while len(parts) > 1 and parts[-1][1] and parts[-1][2] is None:
        parts.pop()  # silent trailing subscript
    if len(parts) > 1 and parts[-1][0] in ("R", "V", "Y") and parts[-1][2] is None:
        glide = parts.pop()[0]  # a coda glide is part of the vowel
        final = {"V": "O", "Y": "E", "R": parts[-1][2]}[glide] or parts[-1][2] or "A"
    else:
        final = parts[-1][2] if parts else None
    out: list[str] = []
    previous, separated = None, True
    for cls, _, vowel in parts:
        if cls and not (cls == previous and not separated):
            out.append(cls)
        previous, separated = (cls or previous), vowel is not None or cls == "M"
    return "".join(out), final


_LATIN = (("tch", "C"), ("chh", "C"), ("ch", "C"), ("kh", "K"), ("ph", "P"), ("th", "T"), ("dh", "T"), ("sh", "S"),
          ("gn", "J"), ("nh", "J"), ("ñ", "J"), ("ng", "G"), ("j", "C"), ("q", "K"),
          ("x", "S"), ("z", "S"), ("g", "K"), ("c", "K"), ("k", "K"), ("d", "T"), ("t", "T"), ("f", "P"),
          ("p", "P"), ("b", "P"), ("s", "S"), ("n", "N"), ("m", "M"), ("l", "L"), ("w", "v"))
_NOT_LETTER = re.compile(r"[^a-zñ]")
_NY = re.compile(r"ny(?=[aeiou])")
_FINAL_VOWELS = re.compile(r"([aeiouy]+)[hrv]?$")
_FINAL_O = re.compile(r"(o|u|eo|ao|ov|ou|ev|av)[hr]?$")
_FINAL_E = re.compile(r"(i|e|y|ey|ei|ay|ai)[hr]?$")


def _latin_word(word: str) -> tuple[str, str | None]:
    letters = _NY.sub("J", _NOT_LETTER.sub("", word.lower()))
    for spelling, cls in _LATIN:
        letters = letters.replace(spelling, cls)
    out: list[str] = []
    previous, separated = None, True
    for i, char in enumerate(letters):
        after = letters[i + 1] if i + 1 < len(letters) else ""
        if char in "aeiou" or (char == "y" and i > 0) or (char in "hrv" and i > 0 and (not after or after not in "aeiouy")):
            separated = True
            continue
        cls = {"h": "H", "r": "R", "v": "V", "y": "Y"}.get(char, char)
        if not (cls == previous and not separated):
            out.append(cls)
        previous, separated = cls, False
    ending = _FINAL_VOWELS.search(letters)
    final = None
    if ending:
        vowels = ending.group(0)
        final = "O" if _FINAL_O.search(vowels) else "E" if _FINAL_E.search(vowels) else "A"
    return "".join(out), final


@lru_cache(maxsize=65536)
def _word(word: str) -> str:
    skeleton, final = _khmer_word(word) if _KHMER.search(word) else _latin_word(word)
    return skeleton + (final or "")


def roman_words(name: str) -> list[str]:
    """Each word of `name` (a stored full name: visible, NFC) as its romanised key."""
    return [key for key in (_word(word) for word in name.replace("-", " ").split()) if key]


def roman_key(name: str) -> str:
    """The name's words' keys in sorted order (Dara Sok = Sok Dara), one string: a blocking key."""
    return " ".join(sorted(roman_words(name)))
