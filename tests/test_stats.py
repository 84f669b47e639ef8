"""Statistics: exact counts from the maintained tally, every breakdown, the as-of cutoff."""
from __future__ import annotations

import random
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from registry import vocab
from registry.extensions import db
from registry.stats.periods import ORDER, Run, after, cost, cover
from registry.stats.queries import Query, QueryError, make_query, statistics
from registry.stats.tally import rebuild
from tests.helpers import csrf_token, tally_rows, valid_form
from tests.import_files import good, write_csv

COMMUNES = [("12", "1201", "120101"), ("12", "1201", "120109"), ("12", "1202", "120201"), ("01", "0102", "010201")]


def known_rows(n: int = 120) -> list[list[str]]:
    """Varied, valid people across two months, four communes, every category, sector and age band."""
    rng = random.Random(7)
    rows = []
    for i in range(n):
        province, district, commune = COMMUNES[i % len(COMMUNES)]
        category = list(vocab.CATEGORIES)[i % 3]
        day = date(2024, 11, 20) + timedelta(days=i % 25)  # 20 Nov .. 14 Dec
        birth = date(1950 + i % 55, 1 + i % 12, 1 + i % 27)
        rows.append(good(
            1000 + i, category=category, gender=("female", "male")[rng.randrange(2)], province=province,
            district=district, commune=commune, sector=list(vocab.SECTORS)[i % 10], date_of_birth=birth.isoformat(),
            registered_on=day.isoformat(), business_name="Shop" if category == "micro_enterprise" else "",
            workers="2" if category == "micro_enterprise" else "",
        ))
    return rows


@pytest.fixture
def known(app, runner, tmp_path: Path):  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["import-actors", str(write_csv(tmp_path / "known.csv", known_rows())), "--json"])
    assert result.exit_code == 0, result.output
    client = app.test_client()
    token = csrf_token(client, "/register")
    assert client.post("/register", data={**valid_form(), "csrf_token": token}).status_code == 303  # today, channel self
    return app


def direct_counts(query: Query, group: str) -> Counter[str]:
    """The same statistic counted straight from the actor table (what the tally must equal)."""
    actors = db.session.execute(sa.text(
        "SELECT category, gender, sector, channel, date_of_birth, registered_on, province_code, district_code, commune_code FROM actor"
    )).all()
    counts: Counter[str] = Counter()
    for category, gender, sector, channel, birth, registered, province, district, commune in actors:
        registered = registered if isinstance(registered, date) else date.fromisoformat(registered)
        birth = birth if isinstance(birth, date) else date.fromisoformat(birth)
        if registered > query.end() or (query.since and registered < query.since):
            continue
        if query.area and not commune.startswith(query.area):
            continue
        if (query.category and category != query.category) or (query.gender and gender != query.gender):
            continue
        age = registered.year - birth.year - ((registered.month, registered.day) < (birth.month, birth.day))
        key = {
            "total": "", "by_category": category, "by_gender": gender, "by_sector": sector, "by_channel": channel,
            "by_age_band": vocab.age_band(age), "by_month": registered.strftime("%Y-%m"), "by_day": registered.isoformat(),
            "by_area": (province, district, commune)[query.level] if query.level < 3 else "",
        }[group]
        counts[key] += 1
    return counts


QUERIES = [
    Query(),
    Query(as_of=date(2024, 12, 1)),
    Query(as_of=date(2024, 11, 30)),
    Query(since=date(2024, 11, 25), as_of=date(2024, 12, 10)),
    Query(area="12"),
    Query(area="12", category="employee", gender="female"),
    Query(area="1201", as_of=date(2024, 12, 5)),
    Query(area="120109", category="self_employed"),
    Query(area="01", since=date(2024, 12, 1)),
    Query(since=date(2024, 12, 1), as_of=date(2024, 12, 31), gender="male"),
    # Parts of a period read as the whole period less the rest (registry.stats.periods):
    Query(as_of=date(2024, 12, 10)),  # the year 2024 less December, plus its first ten days
    Query(area="1201", as_of=date(2024, 12, 13), gender="female"),
    Query(since=date(2024, 11, 3), as_of=date(2024, 12, 12)),  # November less its first two days
    Query(area="12", since=date(2024, 1, 1), as_of=date(2024, 11, 26)),
]


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: repr(q)[6:60])
def test_every_breakdown_equals_a_direct_count_of_the_actors(known, query: Query) -> None:  # type: ignore[no-untyped-def]
    with known.app_context():
        stats = statistics(db.session, query)
        assert stats.total == sum(direct_counts(query, "total").values())
        for name, counts in stats.breakdowns.items():
            expected = direct_counts(query, name)
            assert {k: v for k, v in counts.items() if v} == dict(expected), name
        assert sum(stats.breakdowns["by_category"].values()) == stats.total


def test_as_of_counts_the_whole_day_and_nothing_after(known) -> None:  # type: ignore[no-untyped-def]
    with known.app_context():
        day = date(2024, 12, 3)
        on = statistics(db.session, Query(as_of=day)).total
        before = statistics(db.session, Query(as_of=day - timedelta(days=1))).total
        registered_that_day = db.session.execute(
            sa.text("SELECT count(*) FROM actor WHERE registered_on = :d"), {"d": day}).scalar_one()
        assert registered_that_day > 0
        assert on - before == registered_that_day


def test_known_totals_by_category(known) -> None:  # type: ignore[no-untyped-def]
    with known.app_context():
        stats = statistics(db.session, Query(as_of=date(2024, 12, 31)))
        assert stats.total == 120
        assert stats.breakdowns["by_category"] == {"employee": 40, "micro_enterprise": 40, "self_employed": 40}
        assert stats.breakdowns["by_channel"] == {"self": 0, "outreach": 120, "assisted": 0}
        assert statistics(db.session, Query()).breakdowns["by_channel"]["self"] == 1  # the form's registration, today


def test_rebuilding_the_tally_gives_the_same_statistics(known) -> None:  # type: ignore[no-untyped-def]
    with known.app_context():
        before = [statistics(db.session, q).as_dict() for q in QUERIES]
        assert rebuild(db.session) == 121
        db.session.commit()
        assert [statistics(db.session, q).as_dict() for q in QUERIES] == before


def test_a_rebuild_adding_up_small_batches_gives_the_maintained_tally(known) -> None:  # type: ignore[no-untyped-def]
    """The rebuild streams the actors and adds to the tally every `batch` keys (flat memory at
    any size): batches of 7 give, key by key, the tally the registrations maintained, timelines
    of deactivated and reactivated people included."""
    from datetime import datetime, timezone

    from registry.actors import lifecycle
    from registry.actors.models import Actor

    now = datetime(2025, 6, 30, 12, tzinfo=timezone.utc)
    with known.app_context():
        leaving, returning = db.session.scalars(sa.select(Actor).order_by(Actor.id).limit(2)).all()
        lifecycle.deactivate(db.session, leaving, "consent_withdrawn", date(2025, 1, 5), None, now=now)
        lifecycle.deactivate(db.session, returning, "consent_withdrawn", date(2025, 2, 1), None, now=now)
        lifecycle.reactivate(db.session, returning, "Consent given again", None, effective=date(2025, 3, 1), now=now)
        db.session.commit()
        maintained = tally_rows(db.session)
        assert len(maintained) > 7 * 10
        assert rebuild(db.session, batch=7) == 121
        assert tally_rows(db.session) == maintained


def test_a_duplicate_or_rejected_row_is_not_counted(known, runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    again = runner.invoke(args=["import-actors", str(write_csv(tmp_path / "again.csv", known_rows()[:10] + [good(5000, gender="x")])), "--json"])
    assert again.exit_code == 0
    with known.app_context():
        assert statistics(db.session, Query(as_of=date(2024, 12, 31))).total == 120


@pytest.mark.parametrize("kwargs, field", [
    ({"area": "99"}, "area"), ({"category": "worker"}, "category"), ({"gender": "x"}, "gender"),
    ({"since": date(2024, 2, 1), "as_of": date(2024, 1, 1)}, "since"), ({"as_of": date(1999, 1, 1)}, "as_of"),
])
def test_bad_filters_name_the_field(kwargs, field) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(QueryError) as raised:
        make_query(**kwargs)
    assert raised.value.field == field


def test_stats_command_uses_the_same_counts(known) -> None:  # type: ignore[no-untyped-def]
    import json

    result = known.test_cli_runner().invoke(args=["stats", "--as-of", "2024-12-31", "--json"])
    assert json.loads(result.output) == {"as_of": "2024-12-31", "total": 120,
                                         "by_category": {"employee": 40, "micro_enterprise": 40, "self_employed": 40}}


def test_the_whole_answer_reads_the_tally_in_one_statement(known) -> None:  # type: ignore[no-untyped-def]
    """Every breakdown of the country (25 provinces, four dimensions, months and days) in one
    round trip: read span by span it took ~90 (bench/scale_bench.py)."""
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    with known.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", seen)
        try:
            stats = statistics(db.session, Query(since=date(2024, 11, 25), as_of=date(2024, 12, 10)))
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", seen)
    assert len([s for s in statements if "actor_tally" in s]) == 1
    assert len(stats.breakdowns["by_area"]) == 25 and stats.breakdowns["by_day"] and stats.breakdowns["by_sector"]


def test_sums_over_the_fields_not_kept_equal_the_cells_summed(known) -> None:  # type: ignore[no-untyped-def]
    from registry.stats.tally import Span, read_range, read_sums

    first, last = date(2024, 11, 1), date(2024, 12, 31)
    with known.app_context():
        cells = read_range(db.session, 1, "sector", "d", "12", first, last)
        every, summed, females = read_sums(db.session, [
            Span(1, "sector", "d", "12", first, last, frozenset(("day", "category", "gender", "value"))),
            Span(1, "sector", "d", "12", first, last),
            Span(1, "sector", "d", "12", first, last, frozenset(("value",)), gender="female"),
        ])
    assert sorted(every) == sorted(cells) and cells
    assert sum(c.n for c in summed) == sum(c.n for c in cells) and {(c.category, c.value) for c in summed} == {("", "")}
    by_sector: Counter[str] = Counter()
    for c in cells:
        if c.gender == "female":
            by_sector[c.value] += c.n
    assert {c.value: c.n for c in females} == {k: v for k, v in by_sector.items() if v}


def _signed_days(runs: tuple[Run, ...]) -> Counter[date]:
    days: Counter[date] = Counter()
    for run in runs:
        day = run.first
        while day < after(run.period, run.last):
            days[day] += run.sign
            day += timedelta(days=1)
    return Counter({day: n for day, n in days.items() if n})  # a day counted and taken away drops out; a day taken away more than counted stays, negative


@pytest.mark.parametrize("coarsest, take_away", [("y", True), ("m", True), ("m", False)])
def test_a_range_is_read_as_runs_that_add_up_to_exactly_its_days(coarsest: str, take_away: bool) -> None:
    rng = random.Random(11)
    for _ in range(400):
        first = date(2000, 1, 1) + timedelta(days=rng.randrange(9000))
        last = first + timedelta(days=rng.choice((0, 1, 27, 31, 59, 365, 366, rng.randrange(3000))))
        runs = cover(first, last, coarsest, take_away=take_away)
        signed = _signed_days(runs)
        assert signed == Counter({first + timedelta(days=i): 1 for i in range((last - first).days + 1)}), (first, last, runs)
        assert all(r.period in ORDER[ORDER.index(coarsest):] for r in runs)
        assert take_away or all(r.sign == 1 for r in runs)
        assert cost(runs) <= cost(cover(first, last, coarsest, take_away=False))


def test_a_long_range_reads_a_few_rows_a_cell() -> None:
    """The country today: every year, less the rest of this month (past today), plus its
    first days; not every month since 2000."""
    assert cover(date(2000, 1, 1), date(2026, 12, 5)) == (
        Run("y", date(2000, 1, 1), date(2026, 1, 1)), Run("d", date(2026, 12, 1), date(2026, 12, 5)),
        Run("m", date(2026, 12, 1), date(2026, 12, 1), -1))
    assert cover(date(2000, 1, 1), date(2026, 12, 25)) == (
        Run("y", date(2000, 1, 1), date(2026, 1, 1)), Run("d", date(2026, 12, 26), date(2026, 12, 31), -1))
    assert cover(date(2024, 3, 5), date(2024, 3, 20)) == (Run("d", date(2024, 3, 5), date(2024, 3, 20)),)
    assert cover(date(2000, 1, 1), date(2026, 11, 30), "m", take_away=False) == (
        Run("m", date(2000, 1, 1), date(2026, 11, 1)),)


def test_a_year_and_a_month_are_the_sums_of_their_months_and_days_and_can_be_taken_away(known) -> None:  # type: ignore[no-untyped-def]
    from registry.stats.tally import Span, read_sums

    keep = frozenset(("category", "gender", "value"))

    def summed(*spans: Span) -> Counter[tuple[str, str, str, str]]:
        out: Counter[tuple[str, str, str, str]] = Counter()
        for cells in read_sums(db.session, list(spans)):
            for c in cells:
                out[(c.flow, c.category, c.gender, c.value)] += c.n
        return +out

    with known.app_context():
        year = summed(Span(1, "sector", "y", "12", date(2024, 1, 1), date(2024, 1, 1), keep))
        months = summed(Span(1, "sector", "m", "12", date(2024, 1, 1), date(2024, 12, 1), keep))
        days = summed(Span(1, "sector", "d", "12", date(2024, 1, 1), date(2024, 12, 31), keep))
        assert year == months == days and sum(year.values()) == 90  # three of the four communes
        first_days = summed(Span(1, "sector", "d", "12", date(2024, 12, 1), date(2024, 12, 10), keep))
        assert first_days and summed(
            Span(1, "sector", "m", "12", date(2024, 12, 1), date(2024, 12, 1), keep),
            Span(1, "sector", "d", "12", date(2024, 12, 11), date(2024, 12, 31), keep, sign=-1)) == first_days
