"""The dashboard and the public page say when figures already readable were revised, and why:
corrections of counted fields, `error`/`duplicate` deactivations and merges revise; changes of
circumstances, other deactivations and corrections of uncounted fields do not."""
from __future__ import annotations

from datetime import date, datetime, timezone

from registry.actors import lifecycle
from registry.extensions import db
from registry.actors.revisions import revisions
from tests.test_dashboard import ministry_client
from tests.test_lifecycle import _register

LATER = datetime(2025, 3, 4, 5, tzinfo=timezone.utc)  # 4 March 2025, noon in Phnom Penh
YEAR_2024 = (date(2024, 1, 1), date(2024, 12, 31))


def _reasons(session, start: date = YEAR_2024[0], end: date = YEAR_2024[1], area: str = "") -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {r.reason: r.registrations for r in revisions(session, start, end, area)}


def test_only_changes_that_rewrite_the_past_are_revisions(app) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        people = [_register(db.session, n) for n in range(1, 9)]
        db.session.commit()
        assert _reasons(db.session) == {}
        # None of these touch a figure before its own date, or a counted field:
        lifecycle.correct(db.session, people[0], {"phone": "017 555 444"}, "New SIM", None, now=LATER)
        lifecycle.correct(db.session, people[1], {"commune": "120109"}, "Moved", None, effective=date(2025, 3, 1), now=LATER)
        lifecycle.deactivate(db.session, people[2], "left", date(2025, 3, 1), None, now=LATER)
        db.session.commit()
        assert _reasons(db.session) == {}
        # These say the records were wrong from the start:
        lifecycle.correct(db.session, people[3], {"category": "employee"}, "Typed in the wrong box", None, now=LATER)
        lifecycle.correct(db.session, people[4], {"gender": "male", "commune": "120109"}, "Field sheet misread", None, now=LATER)
        lifecycle.deactivate(db.session, people[5], "error", date(2025, 3, 4), None, note="test entry", now=LATER)
        lifecycle.deactivate(db.session, people[6], "duplicate", date(2025, 3, 4), None, now=LATER)
        lifecycle.merge(db.session, people[0], people[7], "Same person", None, now=LATER)
        db.session.commit()
        assert _reasons(db.session) == {"correction": 2, "error": 1, "duplicate": 1, "merge": 1}
        assert {r.last for r in revisions(db.session, *YEAR_2024)} == {date(2025, 3, 4)}
        # Figures of 2026 (nobody counted on or before them was revised since 2026 began) and of
        # another province were not revised.
        assert _reasons(db.session, date(2026, 1, 1), date(2026, 12, 31)) == {}
        assert _reasons(db.session, area="01") == {}
        assert _reasons(db.session, area="12") == {"correction": 2, "error": 1, "duplicate": 1, "merge": 1}
        # 2025's figures from 1 January on included those people: revised too (on 4 March).
        assert _reasons(db.session, date(2025, 1, 1), date(2025, 12, 31)) == {"correction": 2, "error": 1, "duplicate": 1,
                                                                             "merge": 1}


def test_a_registration_date_correction_revises_the_year_it_leaves(app) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        person = _register(db.session, 1, registered_on="2024-12-20")
        db.session.commit()
        lifecycle.correct(db.session, person, {"registered_on": "2025-01-02"}, "Registered in January, typed December",
                          None, now=LATER)
        db.session.commit()
        assert _reasons(db.session) == {"correction": 1}


def test_dashboard_and_public_page_say_so(app) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        person = _register(db.session, 1)
        other = _register(db.session, 2)
        db.session.commit()
        lifecycle.deactivate(db.session, other, "left", date(2025, 3, 1), None, now=LATER)
        db.session.commit()
    staff = ministry_client(app)
    page = staff.get("/dashboard?year=2024&lang=en").get_data(as_text=True)
    assert 'id="revised"' not in page
    assert "people whose registration was active on that date" in page
    public = app.test_client().get("/stats?year=2024&lang=en").get_data(as_text=True)
    assert 'id="revised"' not in public

    with app.app_context():
        lifecycle.deactivate(db.session, db.session.merge(person), "error", date(2025, 3, 4), None, now=LATER)
        db.session.commit()
    page = staff.get("/dashboard?year=2024&lang=en").get_data(as_text=True)
    assert 'id="revised"' in page
    assert "1 registrations deactivated as registered in error · latest on 2025-03-04" in page
    public = app.test_client().get("/stats?year=2024&lang=en").get_data(as_text=True)
    assert "Figures of 2024 were revised on 2025-03-04" in public
    khmer = staff.get("/dashboard?year=2024&lang=km").get_data(as_text=True)
    assert "registered in error" not in khmer
