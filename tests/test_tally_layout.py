"""The tally key: permanent slots, a layout checked at start-up, counts that keep their labels."""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from registry import vocab
from registry.extensions import db
from registry.stats import tally
from registry.stats.present import as_json, exact_answer
from registry.stats.queries import Query, statistics
from registry.vocab import Term, Vocabulary
from tests.test_stats import QUERIES, direct_counts, known  # noqa: F401  (fixture)

STORED_SLOTS = Path(__file__).with_name("vocab_slots.json")
# The module attribute of each vocabulary, and the statistics breakdown it labels.
VOCABULARIES = {"category": ("CATEGORIES", "by_category"), "gender": ("GENDERS", "by_gender"),
                "sector": ("SECTORS", "by_sector"), "channel": ("CHANNELS", "by_channel"),
                "age_band": ("AGE_BANDS", "by_age_band")}


def test_slots_are_append_only_against_the_stored_copy() -> None:
    stored = json.loads(STORED_SLOTS.read_text(encoding="utf-8"))
    current = {name: v.slots for name, v in vocab.vocabularies().items()}
    assert set(current) == set(stored["vocabularies"])
    for name, slots in stored["vocabularies"].items():
        for code, slot in slots.items():
            assert current[name].get(code) == slot, (
                f"{name} {code!r} had slot {slot}: a slot is permanent (retire the value instead of removing it)")
        new = {code: slot for code, slot in current[name].items() if code not in slots}
        assert not new, (f"new {name} values {new}: add them to {STORED_SLOTS.name}; "
                         f"a new value takes the next slot ({max(slots.values()) + 1})")
    numbers = {"dimensions": tally.DIMENSIONS, "periods": tally.PERIODS, "flows": tally.FLOWS}
    assert numbers == stored["tally"], "tally numbers are permanent: a change needs a migration that rebuilds the tally"


def test_a_slot_cannot_be_given_twice() -> None:
    with pytest.raises(ValueError, match="used twice"):
        Vocabulary("sector", [Term("trade", "Trade", 3), Term("fishing", "Fishing", 3)])
    with pytest.raises(ValueError, match="used twice"):
        Vocabulary("sector", [Term("trade", "Trade", 3), Term("trade", "Trade again", 4)])


def test_the_layout_has_room_for_what_the_next_issues_need() -> None:
    assert 1 << tally.WIDTH["gender"] >= 8
    assert 1 << tally.WIDTH["category"] >= 16
    assert 1 << tally.WIDTH["value"] >= 256
    assert 1 << tally.WIDTH["dimension"] > len(tally.DIMENSIONS)  # a fifth dimension fits
    assert set(tally.FLOWS) == {"arrived", "left", "moved_in", "moved_out"}
    assert max(tally.FLOWS.values()) < 1 << tally.WIDTH["flow"]
    assert sum(tally.WIDTH.values()) <= tally.KEY_BITS


@pytest.mark.parametrize("overflow", ["category", "gender", "value"])
def test_a_vocabulary_that_outgrows_its_field_stops_the_start(overflow: str) -> None:
    big = Vocabulary("big", [Term(f"v{i}", f"Value {i}", i) for i in range((1 << tally.WIDTH[overflow]) + 1)])
    kwargs = {"categories": big} if overflow == "category" else {"genders": big} if overflow == "gender" else \
        {"values": {**tally.dimension_vocabularies(), "sector": big}}
    with pytest.raises(tally.LayoutError, match=overflow):
        tally.check_layout(**kwargs)
    # One value fewer fits.
    fits = Vocabulary("fits", big.terms[:-1])
    kwargs = {key: (fits if value is big else {**value, "sector": fits}) for key, value in kwargs.items()}
    tally.check_layout(**kwargs)


def _labelled(session, locale: str = "en") -> dict[str, dict[str, tuple[str, int]]]:  # type: ignore[no-untyped-def]
    """Every breakdown of the country's statistics as code -> (label, count), exact."""
    result = as_json(exact_answer(statistics(session, Query(as_of=date(2024, 12, 31)))), locale=locale)
    return {name: {c["code"]: (c["label"], c["count"]) for c in cells} for name, cells in result["breakdowns"].items()}


def _with_new_value_in_the_middle(current: Vocabulary) -> Vocabulary:
    terms = list(current.terms)
    middle = len(terms) // 2
    terms.insert(middle, Term("new_value", "A value added later", current.next_slot))
    return Vocabulary(current.name, terms)


@pytest.mark.parametrize("name", VOCABULARIES)
def test_a_value_inserted_in_the_middle_of_a_vocabulary_leaves_every_count_with_its_label(
        known, monkeypatch, name: str) -> None:  # type: ignore[no-untyped-def]
    attribute, breakdown = VOCABULARIES[name]
    with known.app_context():
        before = _labelled(db.session)
        assert any(count for _label, count in before[breakdown].values())
        monkeypatch.setattr(vocab, attribute, _with_new_value_in_the_middle(getattr(vocab, attribute)))
        tally.check_layout()
        after = _labelled(db.session)
    assert list(after[breakdown]).index("new_value") == len(before[breakdown]) // 2  # shown where it was put
    assert after[breakdown].pop("new_value") == ("A value added later", 0)
    assert after == before


def test_a_retired_value_keeps_its_counts_and_its_label(known, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    with known.app_context():
        before = _labelled(db.session)
        retired = Vocabulary("sector", [replace(t, retired=True) if t.code == "trade" else t for t in vocab.SECTORS.terms])
        monkeypatch.setattr(vocab, "SECTORS", retired)
        assert "trade" not in vocab.SECTORS and vocab.SECTORS.slots["trade"] == 3
        after = _labelled(db.session)
    assert after["by_sector"]["trade"] == before["by_sector"]["trade"] == ("Trade", 12)
    assert after == before


def _fine_of(row) -> tally.Fine:  # type: ignore[no-untyped-def]
    registered = tally._as_date(row.registered_on)
    return tally.fine_key(registered, row.commune_code, row.category, row.gender, row.sector, row.channel,
                          tally._as_date(row.date_of_birth))


def test_people_leaving_are_counted_from_the_day_they_leave(known) -> None:  # type: ignore[no-untyped-def]
    left_on = date(2024, 12, 10)
    with known.app_context():
        people = db.session.execute(sa.text(
            "SELECT category, gender, sector, channel, date_of_birth, registered_on, commune_code FROM actor"
            " WHERE registered_on < '2024-12-05' ORDER BY id LIMIT 3")).all()
        before = {q: statistics(db.session, q).as_dict() for q in QUERIES}
        tally.adjust(db.session, Counter(("left", _fine_of(p)._replace(day=left_on)) for p in people))
        db.session.commit()
        for query, was in before.items():
            now = statistics(db.session, query).as_dict()
            gone = [p for p in people if (query.since or date.min) <= left_on <= query.end()
                    and p.commune_code.startswith(query.area)
                    and query.category in (None, p.category) and query.gender in (None, p.gender)]
            assert now["total"] == was["total"] - len(gone), query
            assert now["by_category"] == {c: n - sum(p.category == c for p in gone) for c, n in was["by_category"].items()}
            assert now["by_month"] == was["by_month"]  # registrations per month do not change
        day_before = Query(as_of=date(2024, 12, 9))
        assert statistics(db.session, day_before).total == sum(direct_counts(day_before, "total").values())
        that_day = Query(as_of=left_on)
        assert statistics(db.session, that_day).total == sum(direct_counts(that_day, "total").values()) - 3


def test_a_count_can_never_go_below_zero(known) -> None:  # type: ignore[no-untyped-def]
    with known.app_context():
        someone = db.session.execute(sa.text(
            "SELECT category, gender, sector, channel, date_of_birth, registered_on, commune_code FROM actor LIMIT 1")).one()
        nobody_then = _fine_of(someone)._replace(day=date(2021, 3, 3))
        with pytest.raises(tally.TallyMismatch):  # taken from a cell nobody is in
            tally.adjust(db.session, {("arrived", nobody_then): -1})
        db.session.rollback()
        with pytest.raises(IntegrityError):  # taken below zero (CHECK n >= 0)
            tally.adjust(db.session, {("arrived", _fine_of(someone)): -1_000_000})
        db.session.rollback()
