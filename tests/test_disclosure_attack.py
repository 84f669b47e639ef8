"""An attacker with every anonymous answer learns nothing about a group smaller than the
threshold: the issue's attack, and a bounds checker over a seeded registry.

The seeded registry (tests/disclosure_seed.py) holds groups of 1 to 4 people and the
issue's five people in commune 070102, one a day on 6-10 January 2025. The attacker asks
/api/v1/stats for every area at every level, every category and gender filter and every
month end around the data; every published figure becomes an interval on the true count of
a set of fine cells, and the checker (tests/disclosure_checker.py) finds every group whose
count those intervals fix.
"""
from __future__ import annotations

import hashlib
import itertools
import random
from collections import Counter
from datetime import date
from typing import Any, Iterator

import pytest

from registry.stats.disclosure import MAX_DIFFERENCE, THRESHOLD, threshold_for
from registry.stats.release import month_end
from tests.disclosure_checker import Attacker, as_vector
from tests.disclosure_seed import (
    ATTACK_COMMUNE, CATEGORIES, COMMUNES, GENDERS, MONTHS, Person, months_upto, queried_areas, query_string, rows_of,
    seeded_people,
)
from tests.helpers import OPEN_APPS, POSTGRES_URL, close_app, empty_postgres, make_app
from tests.import_files import write_csv

B = MAX_DIFFERENCE
DIMENSIONS = {"by_sector": "sector", "by_channel": "channel", "by_age_band": "age"}


@pytest.fixture(scope="module")
def published(migrated_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Every anonymous answer over the seeded registry, and the release behind them."""
    if POSTGRES_URL:
        url = POSTGRES_URL
    else:
        import shutil
        path = tmp_path_factory.mktemp("attack") / "registry.sqlite3"
        shutil.copyfile(migrated_database, path)
        url = f"sqlite:///{path}"
    app = make_app(url)
    OPEN_APPS.remove(app)
    people = seeded_people()
    csv_path = write_csv(tmp_path_factory.mktemp("attack-csv") / "people.csv", rows_of(people))
    result = app.test_cli_runner().invoke(args=["import-actors", str(csv_path), "--json"])
    assert result.exit_code == 0 and f'"imported": {len(people)}' in result.output, result.output
    client = app.test_client()
    answers = {}
    for area, category, gender, month in itertools.product(queried_areas(), [None, *CATEGORIES], [None, *GENDERS], MONTHS):
        as_of = month_end(date.fromisoformat(month + "-01")).isoformat()
        response = client.get("/api/v1/stats?" + query_string(area, category, gender, as_of))
        assert response.status_code == 200, response.get_json()
        answers[(area, category, gender, month)] = response.get_json()
    release = app.extensions["registry.public_release"]["release"]
    yield {"app": app, "client": client, "people": people, "answers": answers, "release": release}
    close_app(app)
    if POSTGRES_URL:
        empty_postgres(POSTGRES_URL)


# --- the issue's attack ------------------------------------------------------------------

def test_the_issue_attack_day_windows_are_refused_and_the_commune_is_hidden(published) -> None:  # type: ignore[no-untyped-def]
    client = published["client"]
    # Each single day, the 4-day windows, the 5-day window: refused, naming the parameter and the fix.
    for since, as_of in [("2025-01-08", "2025-01-08"), ("2025-01-06", "2025-01-09"), ("2025-01-07", "2025-01-10"),
                         ("2025-01-06", "2025-01-10")]:
        response = client.get(f"/api/v1/stats?commune={ATTACK_COMMUNE}&since={since}&as_of={as_of}&lang=en")
        assert response.status_code == 400 and response.get_json()["error"]["field"] == "since"
    for day in range(6, 11):
        response = client.get(f"/api/v1/stats?commune={ATTACK_COMMUNE}&as_of=2025-01-{day:02d}&lang=en")
        assert response.status_code == 400
        assert response.get_json()["error"] == {
            "field": "as_of", "message": "Anonymous statistics are published as of a month's last day; use 2025-01-31."}
    # The whole month: the commune's 6 people (1 in October, 5 in January) are below its threshold of 10,
    # so its answer is suppressed whole, breakdowns included (no zero beside a hidden cell).
    answer = published["answers"][(ATTACK_COMMUNE, None, None, "2025-01")]
    assert answer["total"] == {"count": None, "suppressed": True, "exact": False}
    assert all(c["suppressed"] and c["count"] is None for cells in answer["breakdowns"].values() for c in cells)
    assert "by_day" not in answer["breakdowns"]
    # One level up, the commune is a hidden cell of its district; the province shows no cell of 1 to 4.
    district = published["answers"][("0701", None, None, "2025-01")]
    assert {c["code"]: c["suppressed"] for c in district["breakdowns"]["by_area"]}[ATTACK_COMMUNE] is True
    province = published["answers"][("07", "self_employed", "female", "2025-01")]
    for cells in province["breakdowns"].values():
        for c in cells:
            assert c["suppressed"] or c["count"] == 0 or c["count"] >= THRESHOLD


def test_the_public_page_hides_the_attack_commune_too(published) -> None:  # type: ignore[no-untyped-def]
    client = published["client"]
    html = client.get("/stats?year=2025&area=0701&lang=en").get_data(as_text=True)
    row = html.split("<td>Ankor Chey</td>")[1].split("</tr>")[0]  # commune 070102 in the table of communes
    assert '<td class="num">&lt;10</td>' in row
    assert "active on 2025-12-31" in html and "since=" not in html and "by_day" not in html


# --- the bounds checker ------------------------------------------------------------------

def fine_cells(people: list[Person], release: Any) -> tuple[list[Any], Counter]:
    """The attacker's unknowns: where someone is, and where the release put someone (conservative:
    the attacker is told every other cell is empty)."""
    truth: Counter = Counter()
    for p in people:
        truth[("y", p.commune, p.category, p.gender, p.month)] += 1
        for dimension in DIMENSIONS.values():
            truth[("z", dimension, p.commune[:2], p.value(dimension), p.category, p.gender, p.month)] += 1
    cells = set(truth)
    first = release.first
    for (area, category, gender), series in release.stocks.items():
        if len(area) == 6:
            for t, (before, after) in enumerate(zip([0, *series], series)):
                if after > before:
                    cells.add(("y", area, category, gender, _month_key(first, t)))
    for (area, dimension, value, category, gender), series in release.values.items():
        if area:
            for t, (before, after) in enumerate(zip([0, *series], series)):
                if after > before:
                    cells.add(("z", dimension, area, value, category, gender, _month_key(first, t)))
    return sorted(cells, key=str), truth


def _month_key(first: date, t: int) -> str:
    year, month = divmod(first.month - 1 + t, 12)
    return f"{first.year + year}-{month + 1:02d}"


class Forms:
    """The fine cells a published figure counts."""

    def __init__(self, cells: list[Any]) -> None:
        self.y = [c for c in cells if c[0] == "y"]
        self.z = [c for c in cells if c[0] == "z"]

    def stock(self, area: str, cats: list[str], gens: list[str], months: list[str]) -> dict[Any, float]:
        return {c: 1 for c in self.y if c[1].startswith(area) and c[2] in cats and c[3] in gens and c[4] in months}

    def values(self, area: str, dimension: str, value: str, cats: list[str], gens: list[str], months: list[str]) -> dict[Any, float]:
        return {c: 1 for c in self.z if c[1] == dimension and c[2].startswith(area) and c[3] == value
                and c[4] in cats and c[5] in gens and c[6] in months}


def interval(cell: dict[str, Any], threshold: int, low: float, high: float) -> tuple[float, float]:
    """What one published cell says of its true count, given the range [low, high] of
    (published - true) that the method promises for it."""
    if cell["exact"]:
        return cell["count"], cell["count"]
    if cell["suppressed"]:
        return max(0.0, -high), threshold - 1 - low
    return cell["count"] - high, cell["count"] - low


def learn_everything(attacker: Attacker, forms: Forms, answers: dict, publish: Any = interval) -> list[dict[Any, float]]:
    """Every published cell as a constraint: `publish(form, cell, threshold, low, high)` is
    the interval it puts on the form's true count (another method can stand in); returns
    every cell's form and, for each answer, the total less each of its cells and the same
    total at the month end before."""
    exact_at = {(c["code"], month): c["exact"] for (area, cat, gen, month), a in answers.items()
                if area == "" and cat is None and gen is None for c in a["breakdowns"]["by_category"]}
    groups = []
    for (area, category, gender, month), answer in answers.items():
        level = len(area) // 2
        cats = [c for c in CATEGORIES if category in (None, c)]
        gens = [g for g in GENDERS if gender in (None, g)]
        headline = area == "" and gender is None

        def stock_range(categories: list[str], parts: int, at: str) -> tuple[float, float]:
            if headline:  # the country's count of a whole category: exact, or at most B below
                return -B * sum(not exact_at.get((c, at), True) for c in categories), 0
            return -B * parts, B * parts

        def add(form: dict[Any, float], cell: dict[str, Any], threshold: int, low: float, high: float) -> None:
            lo, hi = publish(form, cell, threshold, low, high) if publish is not interval else interval(cell, threshold, low, high)
            attacker.learn(form, lo, hi)
            groups.append(form)

        months = months_upto(month)
        total = forms.stock(area, cats, gens, months)
        add(total, answer["total"], threshold_for(level), *stock_range(cats, len(cats) * len(gens), month))
        if months:
            before = forms.stock(area, cats, gens, months[:-1])
            groups.append({k: 1 for k in total if k not in before})
        for name, cells in answer["breakdowns"].items():
            for cell in cells:
                code = cell["code"]
                if name == "by_category":
                    if code not in cats:
                        continue
                    form, rng = forms.stock(area, [code], gens, months), stock_range([code], len(gens), month)
                elif name == "by_gender":
                    if code not in gens:
                        continue
                    form, rng = forms.stock(area, cats, [code], months), (-B * len(cats), B * len(cats))
                elif name == "by_area":
                    form, rng = forms.stock(code, cats, gens, months), (-B * len(cats) * len(gens), B * len(cats) * len(gens))
                elif name == "by_month":
                    previous = MONTHS[MONTHS.index(code) - 1] if code in MONTHS[1:] else None
                    form = forms.stock(area, cats, gens, [code])
                    if headline:
                        ne_now = sum(not exact_at.get((c, code), True) for c in cats)
                        ne_before = sum(not exact_at.get((c, previous), True) for c in cats) if previous else 0
                        rng = (-B * ne_now, B * ne_before)
                    else:
                        rng = (-2 * B * len(cats) * len(gens), 2 * B * len(cats) * len(gens))
                else:
                    parts = len(cats) * len(gens) * (25 if area == "" else 1)
                    form, rng = forms.values(area, DIMENSIONS[name], code, cats, gens, months), (-B * parts, B * parts)
                below = threshold_for(level + 1 if name == "by_area" else level)
                add(form, cell, below, *rng)
                groups.append({k: 1 for k in total if k not in form})  # the total less this cell
    return groups


def headline_rule(attacker: Attacker, forms: Forms, answers: dict) -> None:
    """What the `exact` flags say through the headline rule. It is judged on the figure the
    table would otherwise publish (at most B below the truth) and the previous published
    one (at most B below the truth): an exact category count rose by at least
    THRESHOLD - B since the month end before; "not exact" says nothing the figures do not."""
    for month, before in zip(MONTHS[1:], MONTHS):
        for cell in answers[("", None, None, month)]["breakdowns"]["by_category"]:
            if cell["exact"]:
                attacker.learn(forms.stock("", [cell["code"]], GENDERS, [month]), THRESHOLD - B, float("inf"))


def linking(attacker: Attacker, forms: Forms) -> None:
    """Every person has one sector, one channel and one age band."""
    for province, category, gender, month in itertools.product({c[:2] for c in COMMUNES}, CATEGORIES, GENDERS, MONTHS):
        area = forms.stock(province, [category], [gender], [month])
        for dimension in DIMENSIONS.values():
            form = dict(area)
            form.update({c: -1 for c in forms.z if c[1] == dimension and c[2] == province and c[4:] == (category, gender, month)})
            if form:
                attacker.learn(form, 0, 0)


def pinned_small_groups(attacker: Attacker, truth: Counter, groups: list[dict[Any, float]]) -> list[tuple[int, list[Any]]]:
    pinned = attacker.pinned_space()
    found = []
    for group in groups:
        value = sum(truth[c] * k for c, k in group.items())
        if 1 <= value < THRESHOLD and pinned.contains(as_vector(attacker, group)):
            found.append((value, sorted(group, key=str)))
    return found


def candidate_groups(cells: list[Any], published_groups: list[dict[Any, float]]) -> list[dict[Any, float]]:
    rng = random.Random(7)
    singles = [{c: 1} for c in cells]
    randoms = [{c: 1 for c in rng.sample(cells, rng.randint(2, 4))} for _ in range(3000)]
    unique = {tuple(sorted(g, key=str)): g for g in published_groups + singles + randoms if g}
    return list(unique.values())


@pytest.fixture(scope="module")
def attack(published) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    cells, truth = fine_cells(published["people"], published["release"])
    forms = Forms(cells)
    return {"cells": cells, "truth": truth, "forms": forms}


def test_no_combination_of_anonymous_answers_pins_down_a_group_below_the_threshold(published, attack) -> None:  # type: ignore[no-untyped-def]
    attacker = Attacker(attack["cells"])
    groups = learn_everything(attacker, attack["forms"], published["answers"])
    linking(attacker, attack["forms"])
    headline_rule(attacker, attack["forms"], published["answers"])
    # The method keeps its promise: the truth lies in every interval the answers give.
    assert attacker.feasible(attack["truth"]) == []
    groups = candidate_groups(attack["cells"], groups)
    assert len(groups) > 4000  # every cell, cell less sub-cell, month less month before, 3,000 random
    assert pinned_small_groups(attacker, attack["truth"], groups) == []
    # What the attacker can say of the attack commune's January (5 people) and of the woman of 8 January:
    january = attack["forms"].stock(ATTACK_COMMUNE, CATEGORIES, GENDERS, ["2025-01"])
    woman = attack["forms"].stock(ATTACK_COMMUNE, ["self_employed"], ["female"], ["2025-01"])
    for group, true_count in [(january, 5), (woman, 1)]:
        low, high = attacker.bounds(group)
        assert low <= true_count <= high and high - low >= 2, (low, high)


def test_the_checker_finds_what_the_rounding_published_before_gave_away(published, attack) -> None:  # type: ignore[no-untyped-def]
    """The same answers under the previous method (the exact headline, 0 shown, 1-4
    suppressed, others rounded to a multiple of 5): the checker pins down groups of 1 to 4
    — it has teeth."""
    truth = attack["truth"]

    def rounding(form: dict[Any, float], cell: dict[str, Any], threshold: int, low: float, high: float) -> tuple[float, float]:
        n = sum(truth[c] * k for c, k in form.items())
        if cell["exact"] or n == 0:
            return n, n
        if n < 5:
            return 1, 4
        rounded = 5 * ((n + 2) // 5)
        return rounded - 2, rounded + 2

    attacker = Attacker(attack["cells"])
    groups = learn_everything(attacker, attack["forms"], published["answers"], publish=rounding)
    linking(attacker, attack["forms"])
    assert attacker.feasible(truth) == []
    assert len(pinned_small_groups(attacker, truth, candidate_groups(attack["cells"], groups))) > 100  # 730


def test_the_checker_finds_what_independent_noise_per_cell_gives_away(published, attack) -> None:  # type: ignore[no-untyped-def]
    """Noise drawn for each published cell on its own (the cell-key method: same cell, same
    noise, within 2; small results suppressed; the exact headline kept): the routes to one
    group carry different errors and meet in one value — why the release is one table that
    adds up."""
    truth = attack["truth"]

    def cell_key(form: dict[Any, float], cell: dict[str, Any], threshold: int, low: float, high: float) -> tuple[float, float]:
        n = sum(truth[c] * k for c, k in form.items())
        if cell["exact"]:
            return n, n
        key = hashlib.sha256(repr(sorted(map(str, form))).encode()).digest()
        noisy = max(0, n + (-2, -1, -1, 0, 0, 0, 1, 1, 2)[key[0] % 9]) if n else 0
        if noisy < threshold:
            return 0, threshold - 1 + 2
        return noisy - 2, noisy + 2

    attacker = Attacker(attack["cells"])
    groups = learn_everything(attacker, attack["forms"], published["answers"], publish=cell_key)
    linking(attacker, attack["forms"])
    assert attacker.feasible(truth) == []
    assert len(pinned_small_groups(attacker, truth, candidate_groups(attack["cells"], groups))) > 5  # 36
