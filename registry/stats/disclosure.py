"""What the public may see of a count: no count from 1 to 4 ever, and nothing that lets one
be worked out from other published figures.

1. A count from 1 to 4 is suppressed (shown "<5"; JSON null with `suppressed: true`).
2. Every other public count is rounded to a multiple of 5. So every sum or difference of
   published figures is a multiple of 5 too, and can never be a number from 1 to 4: no
   hidden count is recovered by subtracting a breakdown from its total, one area or
   category from another, or one date's counts from another's (which cell suppression
   alone cannot stop once queries combine filters and dates freely).
3. Complementary suppression: when a breakdown hides exactly one cell, its next smallest
   non-zero cell is hidden too, so total minus the rest does not even bound it to one cell.
4. Zero stays 0: nobody is there to protect.

Signed-in ministry staff get exact counts; none of this applies to them.
"""
from __future__ import annotations

from dataclasses import dataclass

THRESHOLD = 5  # counts below this (and above 0) are never shown to the public
BASE = 5  # public counts are rounded to a multiple of this


@dataclass(frozen=True)
class Shown:
    count: int | None  # None when suppressed
    suppressed: bool


def exact(count: int) -> Shown:
    return Shown(count, False)


def public(count: int) -> Shown:
    if count == 0:
        return Shown(0, False)
    if count < THRESHOLD:
        return Shown(None, True)
    return Shown(BASE * ((count + BASE // 2) // BASE), False)


def protect_group(counts: dict[str, int]) -> dict[str, Shown]:
    """One breakdown (cells that add up to a total) for the public."""
    shown = {code: public(n) for code, n in counts.items()}
    hidden = [code for code, s in shown.items() if s.suppressed]
    if len(hidden) == 1:
        others = sorted((n, code) for code, n in counts.items() if n > 0 and code not in hidden)
        if others:
            shown[others[0][1]] = Shown(None, True)
    return shown


def show_group(counts: dict[str, int], *, exact_counts: bool) -> dict[str, Shown]:
    if exact_counts:
        return {code: exact(n) for code, n in counts.items()}
    return protect_group(counts)


def show_total(count: int, *, exact_counts: bool) -> Shown:
    return exact(count) if exact_counts else public(count)
