"""The record lifecycle: corrections, changes of circumstances, deactivation, reactivation and
merging keep every count exact "as of any date" (the issue's Done-when figures, through
`statistics`, the API, `flask stats` and DHIS2), the history is append-only, scope holds,
and a random sequence of operations always matches an independent count."""
from __future__ import annotations

import json
import random
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from registry import vocab
from registry.actors import lifecycle
from registry.actors.models import Actor, ActorChange
from registry.actors.services import DuplicateRegistration, register_actor
from registry.actors.validation import validate_registration
from registry.extensions import db
from registry.stats.queries import Query, statistics
from registry.staff.models import StaffUser
from registry.vocab import age_band, age_on
from tests.helpers import csrf_token, make_user, sign_in, tally_matches_a_recount
from tests.test_dashboard import december_2024_file, ministry_client

NOW = datetime(2025, 6, 30, 12, tzinfo=timezone.utc)


def _numbers(session, category: str, count: int) -> list[str]:  # type: ignore[no-untyped-def]
    return list(session.scalars(sa.select(Actor.registration_number).where(Actor.category == category)
                                .order_by(Actor.id).limit(count)))


def _by_category(session, as_of: date) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return statistics(session, Query(as_of=as_of), with_areas=False).breakdowns["by_category"]


# --------------------------------------------------------------------------- the Done-when
def test_three_leaving_in_2025_leave_2024_at_1185_and_lower_2025_by_three(app, runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert runner.invoke(args=["import-actors", str(december_2024_file(tmp_path))]).exit_code == 0
    assert runner.invoke(args=["load-indicators"]).exit_code == 0
    make_user(app, "data@example.org", "admin")
    with app.app_context():
        leaving = _numbers(db.session, "self_employed", 3)
        before_2025 = _by_category(db.session, date(2025, 12, 31))
    for number in leaving:
        dashed = f"{number[:4]}-{number[4:8]}-{number[8:]}"  # with dashes, as printed on the certificate
        result = runner.invoke(args=["actors", "deactivate", dashed, "--reason", "left", "--effective", "2025-01-10",
                                     "--by", "data@example.org"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["status"] == "deactivated"
    with app.app_context():
        assert _by_category(db.session, date(2024, 12, 31)) == {"employee": 168, "micro_enterprise": 159, "self_employed": 858}
        assert _by_category(db.session, date(2025, 1, 9)) == {"employee": 168, "micro_enterprise": 159, "self_employed": 858}
        after_2025 = _by_category(db.session, date(2025, 12, 31))
        assert before_2025["self_employed"] - after_2025["self_employed"] == 3
        assert sum(before_2025.values()) - sum(after_2025.values()) == 3
        assert statistics(db.session, Query(as_of=date(2025, 1, 10))).total == 1182
        # New registrations of December 2024 are unchanged; nobody "registered" in 2025.
        stats = statistics(db.session, Query(since=date(2024, 12, 1), as_of=date(2025, 1, 31)))
        assert stats.breakdowns["by_month"] == {"2024-12": 1185, "2025-01": 0} or stats.breakdowns["by_month"] == {"2024-12": 1185}
        assert stats.total == 1182  # the net change over the period
        tally_matches_a_recount(db.session)
    stats_cli = runner.invoke(args=["stats", "--as-of", "2024-12-31", "--json"])
    assert json.loads(stats_cli.output)["total"] == 1185
    assert json.loads(stats_cli.output)["by_category"] == {"employee": 168, "micro_enterprise": 159, "self_employed": 858}
    assert json.loads(runner.invoke(args=["stats", "--as-of", "2025-12-31", "--json"]).output)["total"] == 1182
    client = ministry_client(app)
    api = client.get("/api/v1/stats?as_of=2024-12-31").get_json()
    assert api["total"]["count"] == 1185
    assert {c["code"]: c["count"] for c in api["breakdowns"]["by_category"]} == {
        "employee": 168, "micro_enterprise": 159, "self_employed": 858}
    assert client.get("/api/v1/stats?as_of=2025-12-31").get_json()["total"]["count"] == 1182
    html = client.get("/dashboard?year=2024&lang=en").get_data(as_text=True)
    row = html.split('id="indicator-IE_ACTORS_TOTAL"')[1].split("</tr>")[0]
    assert ">1,185</td>" in row
    public = app.test_client()  # the public release follows the same rule
    payload = public.get("/api/v1/stats?as_of=2024-12-31").get_json()
    assert payload["total"] == {"count": 1185, "suppressed": False, "exact": True}
    assert {c["code"]: c["count"] for c in payload["breakdowns"]["by_category"]} == {
        "employee": 168, "micro_enterprise": 159, "self_employed": 858}
    january = public.get("/api/v1/stats?as_of=2025-01-31").get_json()["total"]["count"]
    assert 1182 - 2 <= january <= 1182  # three left: the headline is never above the truth
    # DHIS2: exits and the active count at the period's end are separate data elements.
    values = client.get("/api/v1/dhis2/dataValueSet?period=2025").get_json()["dataValues"]
    provinces = [v for v in values if len(v["orgUnit"]) == 2]
    assert sum(int(v["value"]) for v in provinces if v["dataElement"] == "IE_EXIT_SELF_EMPLOYED") == 3
    assert sum(int(v["value"]) for v in provinces if v["dataElement"].startswith("IE_ACTIVE_")) == 1182
    assert not [v for v in provinces if v["dataElement"].startswith("IE_REG_")]
    december = client.get("/api/v1/dhis2/dataValueSet?period=202412").get_json()["dataValues"]
    assert sum(int(v["value"]) for v in december if len(v["orgUnit"]) == 2 and v["dataElement"].startswith("IE_REG_")) == 1185
    with app.app_context():  # the event log names the change, not the person
        events = db.session.execute(sa.text("SELECT kind, subject, detail FROM event WHERE kind = 'actor_deactivated'")).all()
        assert len(events) == 3 and all("left" in str(detail) and "Person" not in str(detail) for _k, _s, detail in events)


def test_a_category_correction_moves_exactly_one_count(app, runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert runner.invoke(args=["import-actors", str(december_2024_file(tmp_path))]).exit_code == 0
    make_user(app, "data@example.org", "admin")
    with app.app_context():
        (number,) = _numbers(db.session, "employee", 1)
        before = {day: _by_category(db.session, day) for day in (date(2024, 12, 31), date(2025, 6, 1))}
    result = runner.invoke(args=["actors", "correct", number, "--set", "category=self_employed",
                                 "--reason", "Field sheet misread", "--by", "data@example.org"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["fields"] == ["category"]
    with app.app_context():
        for day, counts in before.items():
            after = _by_category(db.session, day)
            assert after == {**counts, "employee": counts["employee"] - 1, "self_employed": counts["self_employed"] + 1}
        history = db.session.execute(sa.select(ActorChange.kind, ActorChange.field, ActorChange.old, ActorChange.new,
                                               ActorChange.reason, ActorChange.via)).all()
        assert [tuple(h) for h in history] == [("correction", "category", "employee", "self_employed", "Field sheet misread", "cli")]
        tally_matches_a_recount(db.session)
    # To micro-enterprise: the micro-enterprise rule applies (business name and workers).
    refused = runner.invoke(args=["actors", "correct", number, "--set", "category=micro_enterprise",
                                  "--reason", "It is a shop", "--by", "data@example.org"])
    assert refused.exit_code == 1 and "Business name" in refused.output and "Number of workers" in refused.output
    ok = runner.invoke(args=["actors", "correct", number, "--set", "category=micro_enterprise", "--set", "business_name=Stall",
                             "--set", "workers=2", "--reason", "It is a shop", "--by", "data@example.org"])
    assert ok.exit_code == 0, ok.output


def _register(session, n: int, **overrides: Any) -> Actor:  # type: ignore[no-untyped-def]
    raw = {"category": "self_employed", "full_name": f"Person {chr(65 + n % 26)}{chr(65 + n // 26 % 26)}",
           "gender": "female", "date_of_birth": "1990-01-25", "national_id": "", "phone": f"012 {n // 1000 % 1000:03d} {n % 1000:03d}",
           "province": "12", "district": "1201", "commune": "120101", "sector": "trade", "registered_on": "2024-12-20"}
    raw.update(overrides)
    reg, errors = validate_registration(raw, today=NOW.date())
    assert reg is not None, errors
    return register_actor(session, reg, channel="self", consented_at=NOW, now=NOW)


def test_merge_leaves_one_active_and_the_merged_number_finds_the_survivor(app, client) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        keep = _register(db.session, 1)
        duplicate = _register(db.session, 2, full_name="Person BA", phone="012 999 888")  # the same person, another phone
        db.session.commit()
        lifecycle.merge(db.session, keep, duplicate, "Same person, two phones", None, now=NOW)
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Actor).where(Actor.status == "active")) == 1
        assert statistics(db.session, Query(as_of=date(2024, 12, 31))).total == 1
        keep_number, duplicate_number = keep.registration_number, duplicate.registration_number
        tally_matches_a_recount(db.session)
    token = csrf_token(client, "/status")
    page = client.post("/status", data={"registration_number": duplicate_number, "phone": "012999888",
                                        "date_of_birth": "25/01/1990", "csrf_token": token, "lang": "en"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    survivor = f"{keep_number[:4]}-{keep_number[4:8]}-{keep_number[8:]}"
    assert survivor in html


def test_error_deactivated_person_registers_again_and_a_returning_one_is_reactivated(app) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        first = _register(db.session, 5)
        db.session.commit()
        lifecycle.deactivate(db.session, first, "error", date(2025, 1, 5), None, now=NOW)
        db.session.commit()
        assert statistics(db.session, Query(as_of=date(2024, 12, 31))).total == 0  # revised: it never counted
        again = _register(db.session, 5)  # the identity indexes cover active registrations only
        db.session.commit()
        assert again.registration_number != first.registration_number
        lifecycle.deactivate(db.session, again, "consent_withdrawn", date(2025, 2, 1), None, now=NOW)
        db.session.commit()
        assert statistics(db.session, Query(as_of=date(2025, 1, 31))).total == 1
        assert statistics(db.session, Query(as_of=date(2025, 2, 1))).total == 0
        # The person comes back: the identity rule finds the deactivated record (same number).
        with pytest.raises(DuplicateRegistration) as found:
            _register(db.session, 5)
        db.session.rollback()
        assert found.value.registration_number == again.registration_number
        lifecycle.reactivate(db.session, again, "Consent given again", None, effective=date(2025, 3, 1), now=NOW)
        db.session.commit()
        assert [statistics(db.session, Query(as_of=d)).total for d in (date(2025, 2, 15), date(2025, 3, 1))] == [0, 1]
        by_month = statistics(db.session, Query(since=date(2025, 1, 1), as_of=date(2025, 3, 31))).breakdowns["by_month"]
        assert by_month == {"2025-03": 1}  # the reactivation is an arrival of March
        tally_matches_a_recount(db.session)


def test_changes_of_circumstances_keep_the_past_and_province_scope_holds(app, runner) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "kandal@example.org", "outreach", province="08")
    make_user(app, "phnompenh@example.org", "outreach", province="12")
    with app.app_context():
        actor = _register(db.session, 7)  # in 12, Phnom Penh
        db.session.commit()
        number = actor.registration_number
    outside = runner.invoke(args=["actors", "correct", number, "--set", "phone=012 777 666", "--reason", "new phone",
                                  "--by", "kandal@example.org"])
    # Answered as a number that does not exist: the account learns nothing about it.
    assert outside.exit_code == 1 and f"no registration {number[:4]}-{number[4:8]}-{number[8:]}" in outside.output
    reader = "reader@example.org"
    make_user(app, reader, "ministry")
    refused = runner.invoke(args=["actors", "correct", number, "--set", "phone=012 777 666", "--reason", "r", "--by", reader])
    assert refused.exit_code == 1 and "a ministry account may not" in refused.output
    for args in (["deactivate", number, "--reason", "left", "--effective", "2025-01-01"], ["reactivate", number, "--reason", "x"]):
        assert runner.invoke(args=["actors", *args, "--by", "kandal@example.org"]).exit_code == 1
    moved = runner.invoke(args=["actors", "correct", number, "--set", "commune=080101", "--effective", "2025-03-01",
                                "--reason", "Moved to Kandal", "--by", "phnompenh@example.org"])
    assert moved.exit_code == 0, moved.output
    with app.app_context():
        for day, expected in ((date(2025, 2, 28), {"12": 1, "08": 0}), (date(2025, 3, 1), {"12": 0, "08": 1})):
            by_area = statistics(db.session, Query(as_of=day)).breakdowns["by_area"]
            assert {code: by_area[code] for code in expected} == expected
        stats = statistics(db.session, Query(since=date(2025, 1, 1), as_of=date(2025, 3, 31)))
        assert sum(stats.breakdowns["by_month"].values()) == 0  # a move is not a new registration
        tally_matches_a_recount(db.session)
    # Now the record is Kandal's: its staff may act, Phnom Penh's may not.
    assert runner.invoke(args=["actors", "correct", number, "--set", "phone=012 777 666", "--reason", "new phone",
                               "--by", "phnompenh@example.org"]).exit_code == 1
    assert runner.invoke(args=["actors", "correct", number, "--set", "phone=012 777 666", "--reason", "new phone",
                               "--by", "kandal@example.org"]).exit_code == 0


def test_refusals_name_the_field_or_the_other_registration(app, runner) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "data@example.org", "admin")
    with app.app_context():
        one, two = _register(db.session, 11), _register(db.session, 12)
        db.session.commit()
        one_number, two_number = one.registration_number, two.registration_number
    cases = [
        (["correct", one_number, "--set", "phone=12", "--reason", "typo"], "Phone number"),
        (["correct", one_number, "--set", "colour=red", "--reason", "typo"], "colour"),
        (["correct", one_number, "--set", "phone=012 345 678", "--reason", "  "], "Say why"),
        (["correct", one_number, "--set", "date_of_birth=1980-01-01", "--effective", "2025-01-01", "--reason", "x"], "corrected"),
        (["correct", one_number, "--set", "commune=080101", "--effective", "2024-01-01", "--reason", "x"], "before the registration"),
        (["correct", one_number, "--set", "commune=080101", "--effective", "2099-01-01", "--reason", "x"], "future"),
        (["deactivate", one_number, "--reason", "other", "--effective", "2025-01-01"], "other"),
        (["correct", "12345", "--set", "phone=012 345 678", "--reason", "x"], "not a registration number"),
        (["correct", "0000000000", "--set", "phone=012 345 678", "--reason", "x"], "no registration 0000-0000-00"),
        (["merge", one_number, one_number, "--reason", "x"], "itself"),
        # The same name, birth date and category: the second's phone would make it the first.
        (["correct", two_number, "--set", f"phone={one.phone}", "--set", "full_name=Person LA", "--reason", "x"],
         f"{one_number[:4]}-{one_number[4:8]}-{one_number[8:]}"),
    ]
    for args, words in cases:
        result = runner.invoke(args=["actors", *args, "--by", "data@example.org"])
        assert result.exit_code == 1, (args, result.output)
        assert words in result.output, (args, result.output)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ActorChange)) == 0


def test_the_history_is_append_only(app) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        actor = _register(db.session, 21)
        lifecycle.correct(db.session, actor, {"phone": "012 555 444"}, "New phone", None, now=NOW)
        db.session.commit()
        for statement in ("UPDATE actor_change SET reason = 'x'", "DELETE FROM actor_change"):
            with pytest.raises(sa.exc.DatabaseError, match="append-only"):
                with db.session.begin_nested():
                    db.session.execute(sa.text(statement))
        db.session.rollback()


# --------------------------------------------------------------------------- the property
DATES = (date(2024, 6, 30), date(2024, 12, 31), date(2025, 2, 15), date(2025, 6, 30))
COMMUNES = ("120101", "120201", "080101", "010201")
SECTORS = ("trade", "food_service", "repair")


class Model:
    """The statistics rule written the plain way: per person, intervals [start, end) with the
    values counted, changed exactly as the issue says. No code of registry.actors.lifecycle."""

    def __init__(self) -> None:
        self.people: dict[int, dict[str, Any]] = {}

    def register(self, actor: Actor) -> None:
        self.people[actor.id] = {"gender": actor.gender, "birth": actor.date_of_birth, "channel": actor.channel,
                                 "spans": [[actor.registered_on, None, actor.commune_code, actor.category, actor.sector, True]]}

    def count(self, as_of: date, area: str = "") -> dict[str, Counter[str]]:
        out: dict[str, Counter[str]] = {k: Counter() for k in ("total", "category", "gender", "sector", "channel", "age", "area", "month")}
        for person in self.people.values():
            for start, end, commune, category, sector, arrived in person["spans"]:
                if not commune.startswith(area):
                    continue
                if arrived and start <= as_of:
                    out["month"][start.strftime("%Y-%m")] += 1
                if not (start <= as_of and (end is None or as_of < end)):
                    continue
                out["total"][""] += 1
                out["category"][category] += 1
                out["gender"][person["gender"]] += 1
                out["sector"][sector] += 1
                out["channel"][person["channel"]] += 1
                out["age"][age_band(age_on(person["birth"], start))] += 1
                out["area"][commune[: len(area) + 2]] += 1
        return out


def _compare(session, model: Model) -> None:  # type: ignore[no-untyped-def]
    for as_of in DATES:
        for area in ("", "12"):
            stats = statistics(session, Query(area=area, as_of=as_of)).breakdowns
            expected = model.count(as_of, area)
            assert statistics(session, Query(area=area, as_of=as_of)).total == expected["total"][""], (as_of, area)
            for name, key in (("by_category", "category"), ("by_gender", "gender"), ("by_sector", "sector"),
                              ("by_channel", "channel"), ("by_age_band", "age"), ("by_area", "area"), ("by_month", "month")):
                got = {code: n for code, n in stats[name].items() if n}
                assert got == {code: n for code, n in expected[key].items() if n}, (as_of, area, name)
    tally_matches_a_recount(session)


def _apply(session, model: Model, rng: random.Random, serial: list[int]) -> None:  # type: ignore[no-untyped-def]
    people = list(model.people)
    actors = {a.id: a for a in session.scalars(sa.select(Actor).where(Actor.id.in_(people)))} if people else {}
    active = [a for a in actors.values() if a.status == "active"]
    operation = rng.choice(["register", "register", "correct", "change", "deactivate", "reactivate", "merge"])
    day = lambda lo, hi: lo + timedelta(days=rng.randrange((hi - lo).days + 1))  # noqa: E731
    if operation == "register" or not active:
        serial[0] += 1
        commune = rng.choice(COMMUNES)
        actor = _register(session, serial[0], category=rng.choice(["employee", "self_employed"]), sector=rng.choice(SECTORS),
                          gender=rng.choice(["female", "male"]), date_of_birth=rng.choice(["1990-01-25", "2008-05-05", "1960-03-03"]),
                          province=commune[:2], district=commune[:4], commune=commune,
                          registered_on=day(date(2024, 1, 1), date(2025, 3, 31)).isoformat())
        model.register(actor)
        return
    actor = rng.choice(active if operation != "reactivate" else list(actors.values()))
    person = model.people[actor.id]
    spans = person["spans"]
    if operation == "correct":
        field = rng.choice(["category", "commune", "sector", "gender", "date_of_birth", "registered_on"])
        value = {"category": rng.choice(["employee", "self_employed"]), "commune": rng.choice(COMMUNES),
                 "sector": rng.choice(SECTORS), "gender": rng.choice(["female", "male"]),
                 "date_of_birth": rng.choice(["1990-01-25", "1985-07-07"]),
                 "registered_on": day(date(2024, 1, 1), date(2025, 3, 31)).isoformat()}[field]
        old = {"category": actor.category, "commune": actor.commune_code, "sector": actor.sector}
        registered_on = actor.registered_on
        lifecycle.correct(session, actor, {field: value}, "fix", None, now=NOW)
        if field in old:
            position = {"commune": 2, "category": 3, "sector": 4}[field]
            for span in reversed(spans):
                if span[position] != old[field]:
                    break
                span[position] = value
        elif field == "gender":
            person["gender"] = value
        elif field == "date_of_birth":
            person["birth"] = date.fromisoformat(value)
        elif field == "registered_on" and spans and spans[0][5] and spans[0][0] == registered_on:
            spans[0][0] = date.fromisoformat(value)
    elif operation == "change":
        field = rng.choice(["category", "commune", "sector"])
        value = {"category": rng.choice(["employee", "self_employed"]), "commune": rng.choice(COMMUNES), "sector": rng.choice(SECTORS)}[field]
        effective = day(date(2024, 1, 1), date(2025, 6, 30))
        lifecycle.correct(session, actor, {field: value}, "moved", None, effective=effective, now=NOW)
        last = spans[-1]
        last[1] = effective
        new = [effective, None, last[2], last[3], last[4], False]
        new[{"commune": 2, "category": 3, "sector": 4}[field]] = value
        spans.append(new)
    elif operation == "deactivate":
        reason = rng.choice(["error", "duplicate", "left", "left", "deceased", "consent_withdrawn"])
        effective = day(date(2024, 1, 1), date(2025, 6, 30))
        lifecycle.deactivate(session, actor, reason, effective, None, now=NOW)
        if reason in ("error", "duplicate"):
            spans.clear()
        else:
            spans[-1][1] = effective
    elif operation == "reactivate":
        effective = day(date(2024, 1, 1), date(2025, 6, 30))
        lifecycle.reactivate(session, actor, "back", None, effective=effective, now=NOW)
        spans.append([effective, None, actor.commune_code, actor.category, actor.sector, True])
    elif operation == "merge":
        keep = rng.choice(active)
        lifecycle.merge(session, keep, actor, "same person", None, now=NOW)
        spans.clear()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_operations_always_match_an_independent_count(app, seed: int) -> None:  # type: ignore[no-untyped-def]
    rng, model, serial = random.Random(seed), Model(), [100 * seed]
    applied = Counter[str]()
    with app.app_context():
        session = db.session
        for step in range(60):
            before = {pid: [list(s) for s in p["spans"]] for pid, p in model.people.items()}
            saved = {pid: (p["gender"], p["birth"]) for pid, p in model.people.items()}
            try:
                with session.begin_nested():
                    _apply(session, model, rng, serial)
                applied["ok"] += 1
            except (lifecycle.ChangeRefused, lifecycle.ConflictingRegistration, DuplicateRegistration):
                for pid in list(model.people):  # refused: nothing changed, in the database or the model
                    if pid in before:
                        model.people[pid]["spans"] = before[pid]
                        model.people[pid]["gender"], model.people[pid]["birth"] = saved[pid]
                    else:
                        del model.people[pid]
                session.expire_all()
                applied["refused"] += 1
            session.commit()
            if step % 5 == 4:
                _compare(session, model)
        _compare(session, model)
    assert applied["ok"] > 30  # the sequence did real work


def test_concurrent_changes_of_one_person_move_the_counts_once_each(app) -> None:  # type: ignore[no-untyped-def]
    """Writers changing the same person at once (two staff members, two workers): the actor
    row is locked, so each change starts from the one committed before it."""
    import threading

    with app.app_context():
        actor_id = _register(db.session, 31).id
        db.session.commit()
    writers, rounds = 4, 5
    start = threading.Barrier(writers)
    failures: list[BaseException] = []
    done: list[str] = []

    def writer(worker: int) -> None:
        try:
            with app.app_context():
                start.wait()
                for i in range(rounds):
                    actor = db.session.get(Actor, actor_id)
                    values = ({"category": ("employee", "self_employed")[(worker + i) % 2]} if worker % 2
                              else {"commune": COMMUNES[(worker + i) % len(COMMUNES)]})
                    try:
                        lifecycle.correct(db.session, actor, values, f"writer {worker}", None, now=NOW)
                        db.session.commit()
                        done.append("ok")
                    except lifecycle.ChangeRefused:  # already so: nothing to change
                        db.session.rollback()
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert done
    with app.app_context():
        actor = db.session.get(Actor, actor_id)
        stats = statistics(db.session, Query(as_of=date(2025, 1, 1)))
        assert stats.total == 1
        assert {k: v for k, v in stats.breakdowns["by_category"].items() if v} == {actor.category: 1}
        assert {k: v for k, v in stats.breakdowns["by_area"].items() if v} == {actor.province_code: 1}
        events = db.session.execute(sa.text("SELECT count(*) FROM event WHERE kind = 'actor_corrected'")).scalar_one()
        assert events == len(done)
        tally_matches_a_recount(db.session)
