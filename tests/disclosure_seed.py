"""The seeded registry of the attack tests (tests/test_disclosure_attack.py) and the
anonymous queries asked of it.

Three provinces, seven communes, September 2024 to January 2025; groups of 1 to 4 people in
many cells; months where a category grows by fewer than 5 (its headline is then not exact);
and the issue's five people in commune 070102, one a day on 6-10 January 2025.
"""
from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import date
from typing import Any

from registry import areas, vocab
from tests.import_files import good

CATEGORIES, GENDERS = list(vocab.CATEGORIES), list(vocab.GENDERS)
COMMUNES = ["120101", "120109", "120201", "070101", "070102", "070201", "010201"]
MONTHS = ["2024-08", "2024-09", "2024-10", "2024-11", "2024-12", "2025-01", "2025-02"]  # month ends asked
ATTACK_COMMUNE = "070102"


@dataclass(frozen=True)
class Person:
    commune: str
    category: str
    gender: str
    registered_on: date
    sector: str
    birth: date

    @property
    def month(self) -> str:
        return self.registered_on.strftime("%Y-%m")

    @property
    def age_band(self) -> str:
        return vocab.age_band(vocab.age_on(self.birth, self.registered_on))

    def value(self, dimension: str) -> str:
        return {"sector": self.sector, "channel": "outreach", "age": self.age_band}[dimension]


def seeded_people(seed: int = 2025) -> list[Person]:
    rng = random.Random(seed)
    people = []

    def add(commune: str, month: str, category: str, gender: str, n: int, **fixed: Any) -> None:
        for _ in range(n):
            year, number = map(int, month.split("-"))
            day = fixed.get("day") or date(year, number, rng.randint(1, 28))
            people.append(Person(commune, category, gender, day, fixed.get("sector") or rng.choice(list(vocab.SECTORS)[:4]),
                                 fixed.get("birth") or date(rng.randint(1955, 2004), rng.randint(1, 12), rng.randint(1, 28))))

    big = [("120101", 5), ("120109", 3)]
    for month, sizes in [("2024-09", (6, 5, 7)), ("2024-10", (6, 1, 6)), ("2024-11", (5, 4, 8)), ("2024-12", (7, 5, 6)),
                         ("2025-01", (4, 3, 5))]:
        for (commune, scale), category, gender in itertools.product(big, CATEGORIES, GENDERS):
            add(commune, month, category, gender, max(0, sizes[CATEGORIES.index(category)] * scale // 8 + rng.randint(-1, 1)))
    # Groups of 1 to 4 scattered over the small communes.
    small = [("120201", "2024-09", "employee", "male", 4), ("120201", "2024-11", "self_employed", "female", 1),
             ("070101", "2024-10", "micro_enterprise", "female", 2), ("070101", "2024-12", "employee", "female", 3),
             ("070201", "2024-11", "self_employed", "male", 1), ("010201", "2024-12", "self_employed", "female", 3),
             ("010201", "2024-09", "employee", "male", 2), ("070102", "2024-10", "employee", "male", 1)]
    for commune, month, category, gender, n in small:
        add(commune, month, category, gender, n)
    # The attack: five people in 070102, one a day on 6-10 January 2025; the one of
    # 8 January is a self-employed woman of 65 or more in domestic work.
    for i, (category, gender) in enumerate([("employee", "male"), ("micro_enterprise", "female"), ("self_employed", "female"),
                                            ("employee", "female"), ("self_employed", "male")]):
        fixed = {"day": date(2025, 1, 6 + i)}
        if i == 2:
            fixed.update(sector="domestic_work", birth=date(1950, 3, 3))
        add(ATTACK_COMMUNE, "2025-01", category, gender, 1, **fixed)
    return people


def rows_of(people: list[Person]) -> list[list[str]]:
    rows = []
    for n, p in enumerate(people):
        area = areas.area_by_code(p.commune)
        rows.append(good(20_000 + n, category=p.category, gender=p.gender, province=area.province_code,
                         district=area.district_code, commune=p.commune, sector=p.sector,
                         date_of_birth=p.birth.isoformat(), registered_on=p.registered_on.isoformat(),
                         business_name="Shop" if p.category == "micro_enterprise" else "",
                         workers="1" if p.category == "micro_enterprise" else ""))
    return rows


def queried_areas() -> list[str]:
    """Every area holding someone, at every level, and an empty one at each level."""
    found = {""} | {c[:2] for c in COMMUNES} | {c[:4] for c in COMMUNES} | set(COMMUNES)
    return sorted(found | {"08", "0703", "070103"})


def query_string(area: str, category: str | None, gender: str | None, as_of: str) -> str:
    params = {"as_of": as_of}
    if area:
        params[("province", "district", "commune")[len(area) // 2 - 1]] = area
    params.update({k: v for k, v in (("category", category), ("gender", gender)) if v})
    return "&".join(f"{k}={v}" for k, v in params.items())


def months_upto(month: str) -> list[str]:
    return [m for m in MONTHS[1:] if m <= month]
