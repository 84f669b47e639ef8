"""Coded values of a registration: their labels, their display order and their permanent slots.

Reference data on the ground floor: every package may read it, it imports nothing of ours
but the translation marker.

A value's *slot* is the number the statistics store for it (registry.stats.tally packs it
into the tally key). Slots are permanent and append-only: a new value takes the next free
slot (`Vocabulary.next_slot`) wherever it is shown in the list, a retired value stays in
the list with `retired=True` and keeps its slot, and no slot is ever given to another
value. The order of the list is the order people see; it never changes a slot.
tests/vocab_slots.json is the stored copy a test holds every vocabulary to.

Labels are English msgids; their Khmer is in the catalog.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Iterable, Iterator, Mapping

from registry.i18n import N_


@dataclass(frozen=True)
class Term:
    code: str  # what is stored in the actor table and written in files
    label: str  # English msgid
    slot: int  # permanent number in the statistics (never reused, never renumbered)
    retired: bool = False  # kept for what is stored; no longer offered or accepted


class Vocabulary(Mapping[str, str]):
    """code -> label of the values in use, in display order; every value, retired ones
    too, has a permanent slot."""

    def __init__(self, name: str, terms: Iterable[Term]) -> None:
        self.name = name
        self.terms = tuple(terms)
        self._labels = {t.code: t.label for t in self.terms if not t.retired}
        self.slots: dict[str, int] = {t.code: t.slot for t in self.terms}  # every code, retired too
        self._codes = {t.slot: t.code for t in self.terms}
        if len(self.slots) != len(self.terms) or len(self._codes) != len(self.terms):
            raise ValueError(f"vocabulary {name}: a code or a slot is used twice")
        if any(t.slot < 0 for t in self.terms):
            raise ValueError(f"vocabulary {name}: slots are numbers from 0")

    def __getitem__(self, code: str) -> str:
        return self._labels[code]

    def __iter__(self) -> Iterator[str]:
        return iter(self._labels)

    def __len__(self) -> int:
        return len(self._labels)

    def __repr__(self) -> str:
        return f"Vocabulary({self.name!r}, {list(self.slots)!r})"

    def code_at(self, slot: int) -> str:
        """The code stored under `slot` (retired codes included)."""
        return self._codes[slot]

    def label_of(self, code: str) -> str:
        """The label of any code ever used, retired ones included."""
        for term in self.terms:
            if term.code == code:
                return term.label
        raise KeyError(code)

    @property
    def stored_codes(self) -> tuple[str, ...]:
        """Every code a stored row may hold: what the database's CHECK constraint allows."""
        return tuple(self.slots)

    @property
    def highest_slot(self) -> int:
        return max(self._codes, default=-1)

    @property
    def next_slot(self) -> int:
        """The slot a new value takes."""
        return self.highest_slot + 1


CATEGORIES = Vocabulary("category", [
    Term("employee", N_("Employee of an informal business"), 0),
    Term("micro_enterprise", N_("Micro-enterprise owner"), 1),
    Term("self_employed", N_("Self-employed"), 2),
])
# Short labels also accepted on input ("Employee", "Micro-enterprise", ...).
CATEGORY_SHORT: dict[str, str] = {
    "employee": N_("Employee"),
    "micro_enterprise": N_("Micro-enterprise"),
    "self_employed": N_("Self-employed"),
}

# One line of everyday examples under each category on the form: people know their work, not
# the statistical term for it.
CATEGORY_EXAMPLES: dict[str, str] = {
    "employee": N_("You work for someone else's small business: a shop assistant, a waiter at a food stall, "
                   "a helper in a repair workshop."),
    "micro_enterprise": N_("You own a small business where up to 10 people work, you included: a noodle shop, "
                           "a tailoring workshop, a grocery."),
    "self_employed": N_("You work for yourself, without workers: a market vendor, a tuk-tuk or motodop driver, "
                        "a hairdresser, a farmer selling produce."),
}

GENDERS = Vocabulary("gender", [
    Term("female", N_("Female"), 0),
    Term("male", N_("Male"), 1),
])

SECTORS = Vocabulary("sector", [
    Term("agriculture", N_("Agriculture"), 0),
    Term("manufacturing", N_("Manufacturing"), 1),
    Term("construction", N_("Construction"), 2),
    Term("trade", N_("Trade"), 3),
    Term("transport", N_("Transport"), 4),
    Term("food_service", N_("Food service"), 5),
    Term("repair", N_("Repair"), 6),
    Term("personal_services", N_("Personal services"), 7),
    Term("domestic_work", N_("Domestic work"), 8),
    Term("other", N_("Other"), 9),
])

CHANNELS = Vocabulary("channel", [
    Term("self", N_("Self-registration"), 0),
    Term("outreach", N_("Outreach"), 1),
    Term("assisted", N_("Assisted by outreach staff"), 2),
])

# Age bands of the statistics (age on the date registered), as the ministry reports them.
AGE_BANDS = Vocabulary("age_band", [
    Term("15-24", N_("15–24 years"), 0),
    Term("25-34", N_("25–34 years"), 1),
    Term("35-44", N_("35–44 years"), 2),
    Term("45-54", N_("45–54 years"), 3),
    Term("55-64", N_("55–64 years"), 4),
    Term("65+", N_("65 years and over"), 5),
])


def vocabularies() -> Mapping[str, Vocabulary]:
    """Every vocabulary by name, as the module holds them now."""
    return {v.name: v for v in (CATEGORIES, GENDERS, SECTORS, CHANNELS, AGE_BANDS)}


MIN_AGE = 15
MAX_AGE = 120
MIN_WORKERS = 1
MAX_WORKERS = 10


def age_on(birth: date, day: date) -> int:
    """Age in whole years on `day`."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def age_band(age: int) -> str:
    """The band of an age (registrations are 15 or older)."""
    if age >= 65:
        return "65+"
    low = max(15, age - (age - 5) % 10)
    return f"{low}-{low + 9}"
