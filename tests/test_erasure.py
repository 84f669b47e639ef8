"""Consent withdrawal and erasure (issue 11 item 6): `flask purge` replaces a withdrawn person's
details by a tombstone after the retention period, redacts their history and the events
about them, and leaves every count exactly as it was; the append-only tables accept that
redaction and nothing else."""
from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from registry.actors import lifecycle
from registry.actors.erasure import ERASED_PHONE, MARKER, tombstone_birth
from registry.actors.lifecycle import Segment
from registry.actors.models import Actor
from registry.actors.services import register_actor
from registry.actors.validation import validate_registration
from registry.extensions import db
from registry.stats.queries import Query, statistics
from registry.actors.revisions import revisions
from registry.stats.tally import rebuild
from registry.vocab import CATEGORIES, GENDERS, age_band, age_on
from tests.helpers import csrf_token, make_app, make_user
from tests.test_migrations import scratch_url  # noqa: F401  (fixture)

NOW = datetime(2025, 7, 20, 5, tzinfo=timezone.utc)
DATES = [date(2024, 12, 31), date(2025, 3, 14), date(2025, 3, 15), date(2025, 4, 30), date(2025, 5, 1),
         date(2025, 6, 30), date(2025, 7, 20)]

# Two people who withdraw, one whose withdrawal is too recent, one who stays.
WITHDRAWING = {"full_name": "Chan Sophea", "phone": "012 777 888", "date_of_birth": "2000-03-10",
               "national_id": "", "gender": "female"}
WITHDRAWING_OWNER = {"category": "micro_enterprise", "full_name": "Keo Rithy", "phone": "097 555 4321",
                     "date_of_birth": "1960-08-02", "national_id": "123456789", "gender": "male",
                     "business_name": "Rithy Noodles", "workers": "3", "sector": "food_service"}
RECENT = {"full_name": "Lim Bopha", "phone": "010 222 333", "date_of_birth": "1985-11-30"}
STAYING = {"full_name": "Sok Dara", "phone": "012 345 678", "date_of_birth": "1990-01-25"}


def _register(session, **values: str) -> Actor:  # type: ignore[no-untyped-def]
    raw = {"category": "self_employed", "gender": "female", "national_id": "", "province": "12", "district": "1201",
           "commune": "120101", "sector": "trade", "registered_on": "2024-12-20", **values}
    reg, errors = validate_registration(raw, today=NOW.date())
    assert reg is not None, errors
    return register_actor(session, reg, channel="self", consented_at=NOW, now=NOW)


def _tally(session) -> list[tuple[int, int]]:  # type: ignore[no-untyped-def]
    return sorted(map(tuple, session.execute(sa.text("SELECT key, n FROM actor_tally WHERE n <> 0")).all()))


def _figures(session) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Every count the registry shows: the tally itself, the statistics (every breakdown,
    several dates and areas, new registrations by month) and the revision notes."""
    out: dict[str, Any] = {"tally": _tally(session)}
    for day in DATES:
        for area in ("", "12", "1201", "120101", "120109"):
            out[f"{day} {area}"] = statistics(session, Query(area=area, as_of=day)).as_dict()
        out[f"{day} since"] = statistics(session, Query(since=date(2024, 12, 1), as_of=day)).as_dict()
        out[f"{day} revisions"] = revisions(session, date(2024, 12, 1), day)
    return out


def _everything_as_text(session) -> list[str]:  # type: ignore[no-untyped-def]
    """Every value of every column of every table, as text (JSON decoded, so Khmer and
    escapes read as they are)."""
    found = []
    for table in db.metadata.sorted_tables:
        for row in session.execute(sa.select(table)).all():
            for value in row:
                if value is None:
                    continue
                found.append(json.dumps(value, ensure_ascii=False, default=str) if isinstance(value, (dict, list))
                             else str(value))
    return found


def _insert_search(session, terms: Any, at: datetime) -> int:  # type: ignore[no-untyped-def]
    """A staff search as the search page records it (the kind is the search feature's)."""
    detail = json.dumps({"terms": terms, "results": 1})
    session.execute(sa.text("INSERT INTO event (at, kind, subject, detail) VALUES (:at, 'actor_searched', NULL, :d)"),
                    {"at": at, "d": detail})
    return session.execute(sa.text("SELECT max(id) FROM event")).scalar_one()


def _setup(app) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    with app.app_context():
        s = db.session
        young = _register(s, **WITHDRAWING)
        owner = _register(s, **WITHDRAWING_OWNER)
        recent = _register(s, **RECENT)
        staying = _register(s, **STAYING)
        s.commit()
        # Young: 24 on registration (15-24), moves commune at 25 (25-34), withdraws.
        lifecycle.correct(s, young, {"commune": "120109"}, "Moved to the next commune", None,
                          effective=date(2025, 3, 15), now=NOW)
        lifecycle.correct(s, young, {"phone": "012 777 889"}, "Typo in the phone: 012 777 888 was right", None, now=NOW)
        lifecycle.correct(s, young, {"phone": "012 777 888"}, "Back to 012 777 888", None, now=NOW)
        lifecycle.deactivate(s, young, "consent_withdrawn", date(2025, 5, 1), None, now=NOW)
        lifecycle.correct(s, owner, {"full_name": "Keo Rithi", "business_name": "Rithi Noodle Shop"},
                          "Spelling from the ID card", None, now=NOW)
        lifecycle.deactivate(s, owner, "consent_withdrawn", date(2025, 6, 1), None, now=NOW)
        lifecycle.deactivate(s, recent, "consent_withdrawn", date(2025, 7, 15), None, now=NOW)
        s.commit()
        searches = {
            "young_phone": _insert_search(s, "+855 12 777 888", NOW),
            "young_name": _insert_search(s, {"name": "chan  sophea", "province": "12"}, NOW),
            "owner_id": _insert_search(s, "1234-5678-9", NOW),
            "other": _insert_search(s, "Sok Dara", NOW),
        }
        s.commit()
        return {"young": young.id, "owner": owner.id, "recent": recent.id, "staying": staying.id,
                "numbers": {k: a.registration_number for k, a in (("young", young), ("owner", owner), ("recent", recent))},
                "searches": searches}


def test_purge_erases_after_the_retention_period_and_every_count_stays_exact(app, runner, client) -> None:  # type: ignore[no-untyped-def]
    app.config["ERASURE_RETENTION_DAYS"] = 30
    ids = _setup(app)
    with app.app_context():
        before = _figures(db.session)
        staying_before = {c.key: getattr(db.session.get(Actor, ids["staying"]), c.key) for c in Actor.__table__.columns}
        young_birth = db.session.get(Actor, ids["young"]).date_of_birth

    dry = runner.invoke(args=["purge", "--dry-run", "--today", "2025-06-30"])
    assert dry.exit_code == 0 and "Due for erasure: 1 registrations" in dry.output, dry.output
    first = runner.invoke(args=["purge", "--today", "2025-06-30"])  # young: 1 May + 30 days; the owner not yet
    assert first.exit_code == 0 and first.output.startswith("Erased 1 registrations"), first.output
    second = runner.invoke(args=["purge", "--today", "2025-07-01"])  # the owner's 30 days are up
    assert second.output.startswith("Erased 1 registrations"), second.output
    again = runner.invoke(args=["purge", "--today", "2025-07-01"])
    assert again.output.startswith("Erased 0 registrations"), again.output  # idempotent
    for output in (dry.output, first.output, second.output):
        assert not any(word in output for word in ("Chan", "Keo", "777", "555", "123456789"))

    with app.app_context():
        s = db.session
        assert _figures(s) == before  # every count, every breakdown, every date, the revision notes
        with s.begin_nested() as nested:  # the tables alone still recount the same tally
            rebuild(s)
            assert _tally(s) == before["tally"]
            nested.rollback()
        young, owner, recent = (s.get(Actor, ids[k]) for k in ("young", "owner", "recent"))
        assert young.erased_at is not None and owner.erased_at is not None and recent.erased_at is None
        assert (young.phone, young.national_id, young.full_name) == (ERASED_PHONE, None, "[erased]")
        assert owner.business_name == "[erased]" and owner.workers == 3  # the CHECKs still hold
        assert young.date_of_birth != young_birth
        assert young.status == "deactivated" and young.status_reason == "consent_withdrawn"
        staying = s.get(Actor, ids["staying"])
        assert {c.key: getattr(staying, c.key) for c in Actor.__table__.columns} == staying_before
        # No personal value of either person anywhere in the database.
        text = "\n".join(_everything_as_text(s))
        for value in ("Chan Sophea", "chansophea", "+85512777888", "+85512777889", "12 777 888", "777 888",
                      young_birth.isoformat(), "Keo Rithy", "Keo Rithi", "keorith", "Rithy Noodles", "Rithi Noodle",
                      "+85597555432", "123456789", "1234-5678-9", "1960-08-02"):
            assert value not in text, value
        assert "Sok Dara" in text and "Lim Bopha" in text  # other people untouched
        # The search naming someone else keeps its terms; the history keeps its shape.
        events = dict(s.execute(sa.text("SELECT id, detail FROM event WHERE kind = 'actor_searched'")).all())
        details = {k: (v if isinstance(v, dict) else json.loads(v)) for k, v in events.items()}
        assert details[ids["searches"]["other"]] == {"terms": "Sok Dara", "results": 1}
        for key in ("young_phone", "young_name", "owner_id"):
            assert details[ids["searches"][key]] == {"terms": MARKER, "results": 1}
        history = s.execute(sa.text("SELECT kind, field, old, new, reason FROM actor_change WHERE actor_id = :a ORDER BY id"),
                            {"a": ids["young"]}).all()
        assert ("change", "commune_code", "120101", "120109", MARKER) in [tuple(r) for r in history]  # areas are not personal
        assert all(r.reason == MARKER for r in history if r.kind != "deactivation")  # free text: redacted
        assert ("deactivation", "status", "active", "deactivated", "consent_withdrawn") in [tuple(r) for r in history]
        assert all(r.old in (None, MARKER) and r.new in (None, MARKER) for r in history if r.field == "phone")
        erased = s.execute(sa.text("SELECT subject, staff_user_id FROM event WHERE kind = 'actor_erased' ORDER BY id")).all()
        assert [r.subject for r in erased] == [f"actor {ids['young']}", f"actor {ids['owner']}"]

    # The public status look-up answers as for a number never issued.
    token = csrf_token(client, "/status")
    page = client.post("/status", data={"registration_number": ids["numbers"]["young"], "phone": "012 777 888",
                                        "date_of_birth": "10/03/2000", "csrf_token": token, "lang": "en"})
    assert page.status_code == 404
    assert "Chan" not in page.get_data(as_text=True)

    # Every further change is refused; the person who comes back registers again.
    make_user(app, "data@example.org", "admin")
    refused = runner.invoke(args=["actors", "reactivate", ids["numbers"]["young"], "--reason", "Came back",
                                  "--by", "data@example.org"])
    assert refused.exit_code == 1 and "erased" in refused.output, refused.output
    with app.app_context():
        young = db.session.get(Actor, ids["young"])
        for operation in (lambda: lifecycle.reactivate(db.session, young, "back", None, now=NOW),
                          lambda: lifecycle.correct(db.session, young, {"sector": "food_service"}, "x", None, now=NOW)):
            with pytest.raises(lifecycle.ChangeRefused) as refusal:
                operation()
            assert refusal.value.errors[0].field == "status"
        db.session.rollback()
        again = _register(db.session, **WITHDRAWING, registered_on="2025-07-20")
        db.session.commit()
        assert again.registration_number != ids["numbers"]["young"]


@pytest.mark.parametrize("seed", range(3))
def test_the_tombstone_birth_date_keeps_every_age_band(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(400):
        birth = date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 70))
        first = max(birth + timedelta(days=365 * 15 + 4), date(2015, 1, 1)) + timedelta(days=rng.randrange(3000))
        starts = sorted({first + timedelta(days=rng.randrange(4000)) for _ in range(rng.randrange(1, 5))} | {first})
        segments = [Segment(day, None, "120101", "employee", "trade") for day in starts]
        stone = tombstone_birth(segments, birth)
        assert stone >= birth
        assert [age_band(age_on(stone, d)) for d in starts] == [age_band(age_on(birth, d)) for d in starts]
        assert age_on(stone, starts[0]) >= min(15, age_on(birth, starts[0]))
        # the latest such date: a day later breaks a band (or the minimum age)
        later = stone + timedelta(days=1)
        assert ([age_band(age_on(later, d)) for d in starts] != [age_band(age_on(birth, d)) for d in starts]
                or age_on(later, starts[0]) < min(15, age_on(birth, starts[0])))


def test_the_append_only_tables_accept_a_redaction_and_nothing_else(app) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        actor = _register(db.session, **STAYING)
        db.session.commit()
        lifecycle.correct(db.session, actor, {"phone": "012 999 000"}, "New phone", None, now=NOW)
        db.session.commit()
        event_id = db.session.execute(sa.text("SELECT max(id) FROM event")).scalar_one()
        change_id = db.session.execute(sa.text("SELECT max(id) FROM actor_change")).scalar_one()
    refused = [
        "UPDATE event SET kind = 'sign_in' WHERE id = :e",
        "UPDATE event SET subject = 'actor 999' WHERE id = :e",
        "UPDATE event SET detail = '{\"via\": \"cli\", \"fields\": [\"phone\"]}' WHERE id = :e",  # another value
        "UPDATE event SET detail = '{\"fields\": \"[redacted]\"}' WHERE id = :e",  # a key dropped
        "UPDATE event SET detail = NULL WHERE id = :e",
        "DELETE FROM event WHERE id = :e",
        "UPDATE actor_change SET new = '+85512999001' WHERE id = :c",
        "UPDATE actor_change SET field = 'full_name' WHERE id = :c",
        "UPDATE actor_change SET at = :at WHERE id = :c",
        "UPDATE actor_change SET reason = 'Changed my mind' WHERE id = :c",
        "DELETE FROM actor_change WHERE id = :c",
    ]
    engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        for statement in refused:
            with pytest.raises(sa.exc.DatabaseError, match="append-only"):
                with engine.begin() as connection:
                    connection.execute(sa.text(statement), {"e": event_id, "c": change_id, "at": NOW + timedelta(days=1)})
        with engine.begin() as connection:  # the redaction itself
            connection.execute(sa.text("UPDATE event SET detail = :d WHERE id = :e"),
                               {"d": json.dumps({"via": MARKER, "fields": ["phone"]}), "e": event_id})
            connection.execute(sa.text("UPDATE actor_change SET old = :m, new = :m, reason = :m WHERE id = :c"),
                               {"m": MARKER, "c": change_id})
            assert connection.execute(sa.text("SELECT old, new, reason FROM actor_change WHERE id = :c"),
                                      {"c": change_id}).one() == (MARKER, MARKER, MARKER)
    finally:
        engine.dispose()


def test_migration_0012_adds_erasure_and_its_downgrade_restores_the_strict_triggers(scratch_url: str) -> None:  # noqa: F811
    app = make_app(scratch_url)
    with app.app_context():
        upgrade()
        db.session.execute(sa.text("INSERT INTO event (at, kind, detail) VALUES (:at, 'actor_searched', :d)"),
                           {"at": NOW, "d": json.dumps({"terms": "Sok", "results": 2})})
        db.session.commit()
        db.session.execute(sa.text("UPDATE event SET detail = :d"), {"d": json.dumps({"terms": MARKER, "results": 2})})
        db.session.commit()
        db.session.remove()
        downgrade(revision="0014_actor_change_at")
        assert "erased_at" not in {c["name"] for c in sa.inspect(db.engine).get_columns("actor")}
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            db.session.execute(sa.text("UPDATE event SET detail = :d"), {"d": json.dumps({"terms": MARKER, "results": MARKER})})
        db.session.rollback()
        db.session.remove()
        upgrade()
        assert db.session.execute(sa.text("SELECT detail FROM event")).scalar_one() in (
            {"terms": MARKER, "results": 2}, json.dumps({"terms": MARKER, "results": 2}))
