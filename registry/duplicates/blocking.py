"""Which two registrations may be one person: blocking keys say which pairs to look at (never
all pairs), then `verify` says why and how sure (reason codes, score 0..100). Pure functions
of plain rows, shared by the look-up at registration and import and by the full scan.

Blocks (within one category; registrations of two categories are compared by national ID only):
- date of birth + identity name key (`same_birth_name`), date of birth + romanised key
  (`same_birth_roman`: `សុខ ដារ៉ា` and `Sok Dara`);
- the phone and its neighbours: the same phone with one digit replaced, two neighbouring
  digits swapped, or one digit left out (`phone_near`, only with the same name: the same
  identity key or the same romanised key);
- the national ID in another category (`same_national_id_other_category`).
"""
from __future__ import annotations

from datetime import date
from typing import NamedTuple

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

from registry.actors.romanise import roman_key

# token_sort_ratio of two romanised keys (or two Latin name keys) from which names count as
# similar: the research's threshold (docs/research/issue-12: 19,479/19,479 planted pairs found).
SIMILAR = 85
PHONE_PREFIX = "+855"
DIGITS = "0123456789"


class Person(NamedTuple):
    """What the blocking and the scores read of a registration (no other personal field)."""
    id: int
    category: str
    date_of_birth: date
    phone: str
    national_id: str | None
    name_key: str
    full_name: str
    province_code: str


class Found(NamedTuple):
    first_id: int
    second_id: int
    score: int
    reasons: tuple[str, ...]
    province_code: str | None


def phone_neighbours(phone: str) -> set[str]:
    """Every stored phone one edit away: one digit replaced, two neighbouring digits swapped,
    one digit left out or one added (about 200; the phone itself is not included)."""
    digits = phone.removeprefix(PHONE_PREFIX)
    out: set[str] = set()
    for i, digit in enumerate(digits):
        for other in DIGITS:
            if other != digit:
                out.add(digits[:i] + other + digits[i + 1:])
        if i + 1 < len(digits) and digits[i + 1] != digit:
            out.add(digits[:i] + digits[i + 1] + digit + digits[i + 2:])
        out.add(digits[:i] + digits[i + 1:])
    for i in range(len(digits) + 1):
        for other in DIGITS:
            out.add(digits[:i] + other + digits[i:])
    out.discard(digits)
    return {PHONE_PREFIX + d for d in out if 8 <= len(d) <= 9}


def phone_passes(longest: int) -> list[tuple[str, int]]:
    """The scan's passes over phones of at most `longest` digits after +855 (8 or 9 as the
    validation core stores them): two phones at most one edit apart share a key in one."""
    return [*(("blank", i) for i in range(longest)), *(("swap", i) for i in range(longest - 1)), ("short", 0)]


def phone_keys(digits: str, kind: str, i: int) -> list[str]:
    """The keys of `digits` (a phone without +855) in one pass: `blank` i, digit i left out
    (same-length phones: one digit replaced, or the same phone); `swap` i, digits i and i+1 in
    order (two neighbouring digits swapped); `short`, the phone itself and each way of leaving
    one digit out (a phone one digit shorter). The scan computes the same keys inline."""
    if kind == "blank":
        return [digits[:i] + digits[i + 1:]] if i < len(digits) else []
    if kind == "swap":
        if i + 1 >= len(digits) or digits[i] == digits[i + 1]:
            return []
        low, high = sorted(digits[i:i + 2])
        return [digits[:i] + low + high + digits[i + 2:]]
    return [digits, *{digits[:k] + digits[k + 1:] for k in range(len(digits))}]


def similar_names(a: str, b: str, key_a: str, key_b: str) -> int:
    """How alike two names are, 0..100: the token-sort ratio of their romanised keys (100 when
    equal; 100 across scripts, where the key is all there is to compare), or of the names
    themselves when both are in Latin letters and that is higher. Pass empty keys to compare
    the names only (100 unless both are Latin)."""
    if not (a.isascii() and b.isascii()):
        return 100 if not (key_a or key_b) or key_a == key_b else round(fuzz.token_sort_ratio(key_a, key_b))
    ratio = fuzz.token_sort_ratio(key_a, key_b) if key_a and key_b else 0
    return round(max(ratio, fuzz.token_sort_ratio(a.lower(), b.lower())))


def verify(a: Person, b: Person, key_a: str | None = None, key_b: str | None = None) -> Found | None:
    """The reasons `a` and `b` may be one person, with a score; None when there is none."""
    key_a = roman_key(a.full_name) if key_a is None else key_a
    key_b = roman_key(b.full_name) if key_b is None else key_b
    reasons: list[str] = []
    scores: list[int] = []
    if a.category == b.category:
        if a.date_of_birth == b.date_of_birth:
            if a.name_key == b.name_key:
                reasons.append("same_birth_name")
                scores.append(90)
            elif key_a and key_a == key_b and similar_names(a.full_name, b.full_name, "", "") >= SIMILAR:
                reasons.append("same_birth_roman")
                scores.append(75)
        if OSA.distance(a.phone.removeprefix(PHONE_PREFIX), b.phone.removeprefix(PHONE_PREFIX)) <= 1:
            # The same name: the same identity key, or across scripts (or Latin spellings) the
            # same romanised key. A name merely *similar* is not enough: a family or a shop
            # shares a phone, and its members' names often differ by a letter or two.
            if a.name_key == b.name_key:
                reasons.append("phone_near")
                scores.append(70)
            elif key_a and key_a == key_b:
                reasons.append("phone_near")
                scores.append(60)
    elif a.national_id and a.national_id == b.national_id:
        reasons.append("same_national_id_other_category")
        scores.append(80)
    if not reasons:
        return None
    score = min(100, max(scores) + 10 * (len(reasons) - 1))
    first, second = (a, b) if a.id < b.id else (b, a)
    province = a.province_code if a.province_code == b.province_code else None
    return Found(first.id, second.id, score, tuple(reasons), province)
