"""Speed for the validation core, kept apart from its rules (registry.actors.validation).

Two tricks the bulk importer needs (bench/import_bench.py; a million rows call each parser
a million times), neither of which changes an answer:
- `memoised`: categories, places and dates repeat down a file, so a parser's answer is
  remembered per text;
- `kh_phone`: the common shapes of a valid Cambodian number checked against
  libphonenumber's own KH patterns without a full parse (~1 µs instead of ~20).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import phonenumbers

MEMO_LIMIT = 100_000
_MISS = object()


@dataclass(frozen=True)
class _Failure:
    error: type
    message: str
    params: Mapping[str, Any]


def memoised(parser: Callable[[Any], Any], failure: type) -> Callable[[Any], Any]:
    """`parser` with its answer remembered per text (at most MEMO_LIMIT texts).

    A `failure` exception (with `message` and `params`) is remembered too and raised
    afresh each time; other values (dates from a workbook cell) are parsed every time.
    """
    answers: dict[str, Any] = {}

    def parse(value: Any) -> Any:
        if value.__class__ is not str:
            return parser(value)
        answer = answers.get(value, _MISS)
        if answer is _MISS:
            try:
                answer = parser(value)
            except failure as problem:
                answer = _Failure(failure, problem.message, problem.params)  # type: ignore[attr-defined]
            if len(answers) < MEMO_LIMIT:
                answers[value] = answer
        if answer.__class__ is _Failure:
            raise answer.error(answer.message, **answer.params)
        return answer

    parse.__wrapped__ = parser  # type: ignore[attr-defined]
    return parse


PHONE_REGION = "KH"
PHONE_SEPARATORS = " -()."  # with any other white space, ignored between the digits of a number
_PHONE_SEPARATORS = re.compile(rf"[\s{re.escape(PHONE_SEPARATORS)}]+")


def _compiled_kh_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """libphonenumber's own KH patterns, compiled once: the general pattern, and any
    number type (mobile, fixed line, ...) in one expression."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region(PHONE_REGION)
    types = (meta.mobile, meta.fixed_line, meta.toll_free, meta.premium_rate, meta.shared_cost,
             meta.personal_number, meta.voip, meta.pager, meta.uan, meta.voicemail)
    any_type = "|".join(f"(?:{d.national_number_pattern})" for d in types if d and d.national_number_pattern)
    return re.compile(meta.general_desc.national_number_pattern), re.compile(any_type)


_KH_GENERAL, _KH_ANY_TYPE = _compiled_kh_patterns()


def kh_phone(text: str) -> str | None:
    """E.164 for the common shapes of a valid KH number; None sends anything unusual to
    the full parse (which gives the same answer, only slower)."""
    digits = _PHONE_SEPARATORS.sub("", text)
    if digits.startswith("+855"):
        national = digits[4:]
    elif digits.startswith("855") and len(digits) >= 11:
        national = digits[3:]
    elif digits.startswith("0") and not digits.startswith("00"):
        national = digits[1:]
    else:
        return None
    if national.isdigit() and _KH_GENERAL.fullmatch(national) and _KH_ANY_TYPE.fullmatch(national):
        return "+855" + national
    return None


def kh_phone_pattern() -> str:
    """The shapes above as one regular expression over a number's digits (separators removed):
    +855, 855 or 0 (or nothing, which the full parse accepts) before a national number of a
    valid KH type. For a form that checks a number before it reaches us (registry.imports.xlsform);
    it uses only what Java's and JavaScript's regular expressions share."""
    return rf"^(?:\+855|855|0)?(?=(?:{_KH_ANY_TYPE.pattern})$)(?:{_KH_GENERAL.pattern})$"
