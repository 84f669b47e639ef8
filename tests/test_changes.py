"""The staff pages that change a registration (/staff/actors/<number>/correct, deactivate,
reactivate, merge), through the test client: the counts `flask stats` prints equal a direct
count of the records after every change, each change is in the history with its reason and
in the event log, every refusal a person can hit is a 4xx naming the field with nothing
stored, a province-limited account gets 404 outside its province on every route, and the
ministry (read only) gets 403."""
from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, render_template_string
from flask_login import login_user

from registry.extensions import db
from registry.staff.models import StaffUser
from tests.helpers import csrf_token, make_user, sign_in
from tests.import_files import good, write_csv

ROUTES = ("correct", "deactivate", "reactivate", "merge")


# --------------------------------------------------------------------------- set-up
@pytest.fixture
def people(app: Flask, runner, tmp_path: Path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Nine registrations of 20 Dec 2024: six in Phnom Penh (12), two in Siem Reap (17), one
    micro-enterprise; A (12) and B (17) hold national IDs. Name -> registration number."""
    siem_reap = {"province": "17", "district": "1702", "commune": "170201"}
    rows = [good(1, national_id="100000001"), good(2), good(3), good(4), good(5, category="employee"),
            good(6, category="micro_enterprise", business_name="Noodle shop", workers="3"),
            good(7, national_id="100000002", **siem_reap), good(8, **siem_reap), good(9)]
    result = runner.invoke(args=["import-actors", str(write_csv(tmp_path / "people.csv", rows))])
    assert result.exit_code == 0, result.output
    with app.app_context():
        found = dict(db.session.execute(sa.text("SELECT full_name, registration_number FROM actor")).all())
    names = {"A": 1, "C": 2, "D": 3, "E": 4, "employee": 5, "micro": 6, "B": 7, "F": 8, "G": 9}
    return {key: found[f"Person {chr(65 + n)}A"] for key, n in names.items()}


def staff(app: Flask, email: str, role: str, province: str | None = None):  # type: ignore[no-untyped-def]
    make_user(app, email, role, province=province)
    client = app.test_client()
    assert sign_in(client, email).status_code == 303
    client.get("/?lang=en")  # kept in the session: the pages in English, for the words below
    return client


@pytest.fixture
def outreach(app: Flask):  # type: ignore[no-untyped-def]
    """An outreach officer without a province limit, reading English."""
    return staff(app, "outreach@example.org", "outreach")


def post(client, path: str, **data: str):  # type: ignore[no-untyped-def]
    return client.post(path, data={"csrf_token": csrf_token(client, path), **data})


def page_of(number: str, route: str) -> str:
    return f"/staff/actors/{number}/{route}"


def text(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


def stats(runner, as_of: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["stats", "--as-of", as_of, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["by_category"]


def direct_count(app: Flask, as_of: str) -> dict[str, int]:
    """Who is active on `as_of`, from the records alone (these tests make no change of
    circumstances and no reactivation but in their own test)."""
    with app.app_context():
        rows = db.session.execute(sa.text(
            "SELECT category, count(*) FROM actor WHERE registered_on <= :day AND (status = 'active' OR "
            "(status = 'deactivated' AND status_reason NOT IN ('error', 'duplicate') AND status_effective > :day)) "
            "GROUP BY category"), {"day": date.fromisoformat(as_of)}).all()
    return {category: n for category, n in rows if n}


def counts_agree(app: Flask, runner, *days: str) -> None:  # type: ignore[no-untyped-def]
    for day in days:
        assert {k: v for k, v in stats(runner, day).items() if v} == direct_count(app, day), day


def history(app: Flask, number: str) -> list[tuple[str, str, str | None, str | None, str, Any]]:
    with app.app_context():
        return [tuple(r) for r in db.session.execute(sa.text(
            "SELECT c.kind, c.field, c.old, c.new, c.reason, c.effective FROM actor_change c JOIN actor a ON a.id = c.actor_id "
            "WHERE a.registration_number = :n ORDER BY c.id"), {"n": number}).all()]


def events(app: Flask, kind: str) -> list[tuple[Any, ...]]:
    with app.app_context():
        return [tuple(r) for r in db.session.execute(sa.text(
            "SELECT e.subject, u.email FROM event e LEFT JOIN staff_user u ON u.id = e.staff_user_id WHERE e.kind = :k"),
            {"k": kind}).all()]


def actor_row(app: Flask, number: str) -> dict[str, Any]:
    with app.app_context():
        return dict(db.session.execute(sa.text("SELECT * FROM actor WHERE registration_number = :n"),
                                       {"n": number}).mappings().one())


def correction(number: str, client, **changes: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The correction form as it opens (prefilled), with `changes` typed over it."""
    page = text(client.get(page_of(number, "correct")))
    form = {name: value for name, value in re.findall(r'<input id="(\w+)" name="\1" type="\w+" value="([^"]*)"', page)}
    for name in ("category", "gender"):
        form[name] = re.search(rf'name="{name}" value="(\w+)" checked', page).group(1)  # type: ignore[union-attr]
    for name in ("province", "district", "commune", "sector"):
        form[name] = re.search(rf'<select id="{name}".*?<option value="(\w+)" selected', page, re.S).group(1)  # type: ignore[union-attr]
    form.update(changes)
    return form


def correct(client, number: str, **changes: str):  # type: ignore[no-untyped-def]
    return post(client, page_of(number, "correct"), **correction(number, client, **changes))


# --------------------------------------------------------------------------- happy paths
def test_a_phone_correction_is_stored_with_its_reason_and_moves_no_count(app, runner, outreach, people) -> None:  # type: ignore[no-untyped-def]
    number = people["C"]
    page = text(outreach.get(page_of(number, "correct")))
    assert 'id="phone" name="phone" type="tel" value="+85512000002"' in page  # the stored record, prefilled
    assert 'name="csrf_token"' in page and "Show the districts of this province" in page  # works without JavaScript
    before = stats(runner, "2025-06-30")
    response = correct(outreach, number, phone="012 999 888", kind="correction", reason="Typo on the field sheet")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/staff/actors/{number}")
    assert actor_row(app, number)["phone"] == "+85512999888"
    assert history(app, number) == [("correction", "phone", "+85512000002", "+85512999888", "Typo on the field sheet", None)]
    assert stats(runner, "2025-06-30") == before
    counts_agree(app, runner, "2024-12-19", "2024-12-31", "2025-06-30")
    with app.app_context():
        subject = f"actor {db.session.scalar(sa.text('SELECT id FROM actor WHERE registration_number = :n'), {'n': number})}"
        detail = db.session.scalar(sa.text("SELECT detail FROM event WHERE kind = 'actor_corrected'"))
    assert events(app, "actor_corrected") == [(subject, "outreach@example.org")]
    assert "855" not in str(detail)  # the event names the field, never the value
    with outreach.session_transaction() as session:
        assert any("Correction saved" in message for _category, message in session["_flashes"])


def test_a_category_correction_moves_exactly_one_count(app, runner, outreach, people) -> None:  # type: ignore[no-untyped-def]
    before = stats(runner, "2024-12-31")
    assert before == {"employee": 1, "micro_enterprise": 1, "self_employed": 7}
    response = correct(outreach, people["D"], category="employee", kind="correction", reason="Works for the noodle shop")
    assert response.status_code == 303, text(response)
    after = stats(runner, "2024-12-31")
    assert after == {"employee": 2, "micro_enterprise": 1, "self_employed": 6}  # revised, as if always right
    counts_agree(app, runner, "2024-12-19", "2024-12-20", "2024-12-31", "2026-01-01")
    assert history(app, people["D"])[0][:4] == ("correction", "category", "self_employed", "employee")


def test_a_change_of_circumstances_keeps_the_figures_before_its_date(app, runner, outreach, people) -> None:  # type: ignore[no-untyped-def]
    number = people["E"]
    response = correct(outreach, number, province="17", district="1702", commune="170201", kind="change",
                       effective="01/03/2025", reason="Moved to Siem Reap")
    assert response.status_code == 303, text(response)
    with app.app_context():
        from registry.stats.queries import Query, statistics
        by_area = lambda day: statistics(db.session, Query(as_of=day, area="17")).total  # noqa: E731
        assert (by_area(date(2025, 2, 28)), by_area(date(2025, 3, 1))) == (2, 3)
    assert history(app, number)[0][0] == "change" and history(app, number)[0][5] in (date(2025, 3, 1), "2025-03-01")
    assert stats(runner, "2025-06-30") == stats(runner, "2024-12-31")  # moved, not gone
    assert len(events(app, "actor_changed")) == 1


def test_a_left_deactivation_next_year_leaves_this_years_counts(app, runner, outreach, people) -> None:  # type: ignore[no-untyped-def]
    number = people["G"]
    page = text(outreach.get(page_of(number, "deactivate")))
    assert "Revises past figures" in page and "Past figures stay" in page  # the hint says which revise
    this_year = stats(runner, "2024-12-31")
    response = post(outreach, page_of(number, "deactivate"), reason="left", effective="10/01/2025")
    assert response.status_code == 303
    assert stats(runner, "2024-12-31") == this_year
    assert stats(runner, "2025-01-09") == this_year
    assert stats(runner, "2025-01-10")["self_employed"] == this_year["self_employed"] - 1
    counts_agree(app, runner, "2024-12-31", "2025-01-09", "2025-01-10", "2026-01-01")
    assert history(app, number) == [("deactivation", "status", "active", "deactivated", "left",
                                     history(app, number)[0][5])]
    assert str(history(app, number)[0][5]).startswith("2025-01-10")
    assert len(events(app, "actor_deactivated")) == 1


def test_an_error_deactivation_revises_the_past(app, runner, outreach, people) -> None:  # type: ignore[no-untyped-def]
    this_year = stats(runner, "2024-12-31")
    assert post(outreach, page_of(people["G"], "deactivate"), reason="error", effective="10/01/2025").status_code == 303
    assert stats(runner, "2024-12-31")["self_employed"] == this_year["self_employed"] - 1
    counts_agree(app, runner, "2024-12-20", "2024-12-31")


def test_other_needs_a_note_and_keeps_it(app, outreach, people) -> None:  # type: ignore[no-untyped-def]
    path = page_of(people["G"], "deactivate")
    refused = post(outreach, path, reason="other", effective="10/01/2025")
    assert refused.status_code == 422 and 'href="#field-note"' in text(refused) and "Required when the reason is" in text(refused)
    assert actor_row(app, people["G"])["status"] == "active" and history(app, people["G"]) == []
    assert post(outreach, path, reason="other", effective="10/01/2025", note="Moved abroad").status_code == 303
    assert history(app, people["G"])[0][4] == "other: Moved abroad"


def test_reactivation_counts_again_from_its_date(app, runner, outreach, people) -> None:  # type: ignore[no-untyped-def]
    number = people["G"]
    assert post(outreach, page_of(number, "deactivate"), reason="left", effective="10/01/2025").status_code == 303
    assert "Reactivate" in text(outreach.get(page_of(number, "reactivate")))
    response = post(outreach, page_of(number, "reactivate"), reason="Trading again", effective="01/06/2025")
    assert response.status_code == 303
    assert actor_row(app, number)["status"] == "active"
    assert stats(runner, "2025-05-31")["self_employed"] == 6 and stats(runner, "2025-06-01")["self_employed"] == 7
    assert history(app, number)[-1][:5] == ("reactivation", "status", "deactivated (left)", "active", "Trading again")
    assert len(events(app, "actor_reactivated")) == 1


def test_a_merge_shows_both_then_merges(app, runner, outreach, people) -> None:  # type: ignore[no-untyped-def]
    keep, duplicate = people["C"], people["D"]
    path = page_of(duplicate, "merge")
    review = post(outreach, path, other=keep, keep="other", reason="Same person, two phones", step="review")
    page = text(review)
    assert review.status_code == 200 and "Person CA" in page and "Person DA" in page  # side by side
    assert "+85512000002" in page and "+85512000003" in page
    assert actor_row(app, duplicate)["status"] == "active" and history(app, duplicate) == []  # nothing changed yet
    before = stats(runner, "2024-12-31")
    confirm = post(outreach, path, other=keep, keep="other", reason="Same person, two phones", step="confirm")
    assert confirm.status_code == 303 and confirm.headers["Location"].endswith(f"/staff/actors/{keep}")
    assert actor_row(app, duplicate)["status"] == "merged"
    assert stats(runner, "2024-12-31")["self_employed"] == before["self_employed"] - 1  # never counted
    counts_agree(app, runner, "2024-12-20", "2024-12-31")
    assert history(app, duplicate)[0][:5] == ("merge", "status", "active", "merged", "Same person, two phones")
    assert history(app, keep)[0][:4] == ("merge", "merged_from", None, duplicate)
    assert len(events(app, "actor_merged")) == 1


def test_the_area_lists_refresh_without_javascript(app, outreach, people) -> None:  # type: ignore[no-untyped-def]
    number = people["C"]
    form = correction(number, outreach, province="17", refresh="province")
    response = post(outreach, page_of(number, "correct"), **form)
    assert response.status_code == 200 and 'option value="1702"' in text(response)
    assert history(app, number) == []


# --------------------------------------------------------------------------- refusals
def test_every_change_needs_the_csrf_token(app, outreach, people) -> None:  # type: ignore[no-untyped-def]
    number = people["C"]
    for route, data in (("correct", {"phone": "012 999 888", "kind": "correction", "reason": "x"}),
                        ("deactivate", {"reason": "left", "effective": "10/01/2025"}),
                        ("reactivate", {"reason": "x"}), ("merge", {"other": people["D"], "keep": "this", "reason": "x", "step": "confirm"})):
        assert outreach.post(page_of(number, route), data=data).status_code == 400, route
    assert history(app, number) == [] and actor_row(app, number)["status"] == "active"


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"phone": "012 999 888", "kind": "correction", "reason": "  "}, "reason", "Required. Say why"),
    ({"phone": "012 999 888", "reason": "Typo"}, "kind", "Choose one"),
    ({"phone": "1", "kind": "correction", "reason": "Typo"}, "phone", "Phone"),
    ({"category": "employee", "kind": "change", "effective": "", "reason": "New job"}, "effective", "Required. Give the date"),
    ({"category": "employee", "kind": "change", "effective": "01/01/2024", "reason": "New job"}, "effective", "Cannot be before the registration"),
    ({"category": "employee", "kind": "change", "effective": "01/01/2099", "reason": "New job"}, "effective", "Cannot be in the future"),
    ({"category": "employee", "kind": "change", "effective": "31/02/2025", "reason": "New job"}, "effective", "not a real calendar date"),
    ({"phone": "012 999 888", "kind": "correction", "effective": "01/03/2025", "reason": "Typo"}, "effective", "Leave the date empty"),
    ({"gender": "male", "kind": "change", "effective": "01/03/2025", "reason": "Typo"}, "gender", "corrected, never changed from a date"),
    ({"kind": "correction", "reason": "Nothing"}, "values", "Nothing would change"),
])
def test_correction_refusals_name_the_field_and_store_nothing(app, outreach, people, changes, field, words) -> None:  # type: ignore[no-untyped-def]
    number = people["C"]
    response = correct(outreach, number, **changes)
    page = text(response)
    assert response.status_code == 422, page
    assert words in page
    assert f'href="#field-{field}"' in page or field == "values"
    assert history(app, number) == [] and actor_row(app, number)["phone"] == "+85512000002"


def test_a_merged_registration_cannot_be_corrected(app, outreach, people) -> None:  # type: ignore[no-untyped-def]
    assert post(outreach, page_of(people["D"], "merge"), other=people["C"], keep="other", reason="Twice",
                step="confirm").status_code == 303
    response = correct(outreach, people["D"], phone="012 999 888", kind="correction", reason="Typo")
    assert response.status_code == 422 and "merged into another" in text(response) and "Status" in text(response)
    assert len(history(app, people["D"])) == 1


@pytest.mark.parametrize(("data", "field", "words"), [
    ({"effective": "10/01/2025"}, "reason", "Required. Choose the reason"),
    ({"reason": "bored", "effective": "10/01/2025"}, "reason", "is not a reason"),
    ({"reason": "left", "effective": "01/01/2024"}, "effective", "Cannot be before the registration"),
    ({"reason": "left", "effective": "01/01/2099"}, "effective", "Cannot be in the future"),
    ({"reason": "left", "effective": "soon"}, "effective", "is not a date"),
    ({"reason": "left", "effective": ""}, "effective", "Required. Give the date"),
])
def test_deactivation_refusals(app, outreach, people, data, field, words) -> None:  # type: ignore[no-untyped-def]
    response = post(outreach, page_of(people["G"], "deactivate"), **data)
    assert response.status_code == 422 and words in text(response) and f'href="#field-{field}"' in text(response)
    assert actor_row(app, people["G"])["status"] == "active"


def test_reactivation_refusals(app, outreach, people) -> None:  # type: ignore[no-untyped-def]
    number = people["G"]
    active = post(outreach, page_of(number, "reactivate"), reason="Back", effective="01/06/2025")
    assert active.status_code == 422 and "Only a deactivated registration" in text(active)
    assert post(outreach, page_of(number, "deactivate"), reason="left", effective="10/01/2025").status_code == 303
    no_reason = post(outreach, page_of(number, "reactivate"), reason="", effective="01/06/2025")
    assert no_reason.status_code == 422 and 'href="#field-reason"' in text(no_reason)
    too_early = post(outreach, page_of(number, "reactivate"), reason="Back", effective="01/01/2025")
    assert too_early.status_code == 422 and 'href="#field-effective"' in text(too_early)
    assert actor_row(app, number)["status"] == "deactivated"


def test_merge_refusals(app, outreach, people) -> None:  # type: ignore[no-untyped-def]
    c, d, e = people["C"], people["D"], people["E"]
    cases = [
        (c, {"other": c, "keep": "this", "reason": "Twice"}, "other", "cannot be merged into itself"),
        (c, {"other": "", "keep": "this", "reason": "Twice"}, "other", "Required. Give the number"),
        (c, {"other": "1234567890", "keep": "this", "reason": "Twice"}, "other", "No registration with this number"),
        (c, {"other": d, "keep": "", "reason": "Twice"}, "keep", "Required. Choose which"),
        (c, {"other": d, "keep": "this", "reason": ""}, "reason", "Required. Say why"),
        (c, {"other": people["employee"], "keep": "this", "reason": "Twice"}, "other", "different categories"),
    ]
    for step in ("review", "confirm"):
        for number, data, field, words in cases:
            response = post(outreach, page_of(number, "merge"), step=step, **data)
            assert response.status_code == 422, (step, data, text(response))
            assert words in text(response) and f'href="#field-{field}"' in text(response), (step, data)
    assert post(outreach, page_of(e, "merge"), other=d, keep="this", reason="Twice", step="confirm").status_code == 303
    into_merged = post(outreach, page_of(c, "merge"), other=d, keep="other", reason="Twice", step="review")
    assert into_merged.status_code == 422 and "must be active" in text(into_merged) and 'href="#field-keep"' in text(into_merged)
    assert post(outreach, page_of(people["G"], "deactivate"), reason="left", effective="10/01/2025").status_code == 303
    into_deactivated = post(outreach, page_of(c, "merge"), other=people["G"], keep="other", reason="Twice", step="confirm")
    assert into_deactivated.status_code == 422 and "must be active" in text(into_deactivated)
    with app.app_context():
        assert db.session.scalar(sa.text("SELECT count(*) FROM actor WHERE status = 'merged'")) == 1


# --------------------------------------------------------------------------- conflicts
def test_a_conflict_names_the_registration_this_account_may_see(app, outreach, people) -> None:  # type: ignore[no-untyped-def]
    response = correct(outreach, people["A"], national_id="100000002", kind="correction", reason="Typo in the ID")
    page = text(response)
    assert response.status_code == 409
    b = people["B"]
    assert f'href="/staff/actors/{b}"' in page and f"{b[:4]}-{b[4:8]}-{b[8:]}" in page
    assert "merge them" in page and f'name="other" value="{b}"' in page  # the merge, one button away
    assert actor_row(app, people["A"])["national_id"] == "100000001" and history(app, people["A"]) == []
    merge = outreach.post(page_of(people["A"], "merge"), data={"csrf_token": csrf_token(outreach, page_of(people["A"], "merge")),
                                                              "other": b, "step": "start"})
    assert merge.status_code == 200 and f'value="{b}"' in text(merge)


def test_a_conflict_in_another_province_is_not_named(app, people) -> None:  # type: ignore[no-untyped-def]
    phnom_penh = staff(app, "pp@example.org", "outreach", province="12")
    response = correct(phnom_penh, people["A"], national_id="100000002", kind="correction", reason="Typo in the ID")
    page = text(response)
    assert response.status_code == 409 and "a registration in another province is the same person" in page
    b = people["B"]
    assert b not in page and f"{b[:4]}-{b[4:8]}-{b[8:]}" not in page and "Siem Reap" not in page
    assert history(app, people["A"]) == []


# --------------------------------------------------------------------------- who may
def test_a_province_limited_account_gets_404_outside_its_province_on_every_route(app, people) -> None:  # type: ignore[no-untyped-def]
    phnom_penh = staff(app, "pp@example.org", "outreach", province="12")
    inside, outside = people["C"], people["F"]
    token = csrf_token(phnom_penh, page_of(inside, "correct"))
    for route in ROUTES:
        assert phnom_penh.get(page_of(inside, route)).status_code == 200, route
        assert phnom_penh.get(page_of(outside, route)).status_code == 404, route
        posted = phnom_penh.post(page_of(outside, route), data={"csrf_token": token, "reason": "left", "kind": "correction",
                                                               "effective": "10/01/2025", "other": inside, "keep": "this",
                                                               "step": "confirm", "phone": "012 999 888"})
        assert posted.status_code == 404, route
    # Naming a registration outside the province as the other one: as if it did not exist.
    response = post(phnom_penh, page_of(inside, "merge"), other=outside, keep="other", reason="Twice", step="review")
    assert response.status_code == 422 and "No registration with this number" in text(response)
    assert actor_row(app, outside)["status"] == "active" and history(app, outside) == []


def test_the_ministry_reads_only(app, people) -> None:  # type: ignore[no-untyped-def]
    ministry = staff(app, "minister@example.org", "ministry")
    token = csrf_token(ministry, "/dashboard")
    for route in ROUTES:
        assert ministry.get(page_of(people["C"], route)).status_code == 403, route
        assert ministry.post(page_of(people["C"], route), data={"csrf_token": token, "reason": "left",
                                                               "effective": "10/01/2025"}).status_code == 403, route
    assert history(app, people["C"]) == []


def test_an_admin_changes_records_too(app, people) -> None:  # type: ignore[no-untyped-def]
    admin = staff(app, "admin@example.org", "admin")
    assert correct(admin, people["C"], phone="012 999 888", kind="correction", reason="Typo").status_code == 303


def test_signed_out_people_are_sent_to_sign_in(app, client, people) -> None:  # type: ignore[no-untyped-def]
    for route in ROUTES:
        response = client.get(page_of(people["C"], route))
        assert response.status_code in (302, 303) and "/staff/login" in response.headers["Location"]


def test_the_actions_offered_follow_the_state_and_the_role(app, people) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "outreach@example.org", "outreach")
    make_user(app, "minister@example.org", "ministry")
    make_user(app, "pp@example.org", "outreach", province="12")

    def offered(email: str, key: str) -> list[str]:
        with app.test_request_context("/"):
            user = db.session.scalar(sa.select(StaffUser).where(StaffUser.email == email))
            login_user(user)
            from registry.actors.models import Actor
            actor = db.session.scalar(sa.select(Actor).where(Actor.registration_number == people[key]))
            html = render_template_string('{% include "changes/_actions.html" %}', actor=actor)
            return re.findall(r'href="/staff/actors/\d+/(\w+)"', html)

    assert offered("outreach@example.org", "G") == ["correct", "deactivate", "merge"]
    assert offered("minister@example.org", "G") == []
    assert offered("pp@example.org", "F") == []  # another province
    with app.app_context():
        from registry.actors import lifecycle
        from registry.actors.models import Actor
        g, c, d = (db.session.scalar(sa.select(Actor).where(Actor.registration_number == people[k])) for k in "GCD")
        lifecycle.deactivate(db.session, g, "left", date(2025, 1, 10), None)
        lifecycle.merge(db.session, c, d, "Twice", None)
        db.session.commit()
    assert offered("outreach@example.org", "G") == ["correct", "reactivate", "merge"]
    assert offered("outreach@example.org", "D") == []


def test_moving_someone_out_of_the_province_ends_on_the_search_page(app, people) -> None:  # type: ignore[no-untyped-def]
    """A province's staff may record that a person moved away; the record is then the other
    province's, so the answer is not its page (which would now be 404 for them)."""
    phnom_penh = staff(app, "pp@example.org", "outreach", province="12")
    number = people["C"]
    response = correct(phnom_penh, number, province="17", district="1702", commune="170201", kind="change",
                       effective="01/03/2025", reason="Moved to Siem Reap")
    assert response.status_code == 303 and response.headers["Location"].endswith("/staff/actors")
    assert actor_row(app, number)["province_code"] == "17"
    assert phnom_penh.get(page_of(number, "correct")).status_code == 404


@pytest.mark.parametrize(("route", "data"), [
    ("correct", {"kind": "sideways", "reason": "x"}),
    ("correct", {"kind": "change", "effective": "99/99/9999", "reason": "x", "workers": "abc"}),
    ("correct", {"kind": "correction", "reason": "x" * 5000, "full_name": "x" * 5000, "province": "99", "commune": "../"}),
    ("correct", {"kind": "correction", "reason": "x", "registered_on": "01/01/2099", "date_of_birth": "0/0/0"}),
    ("deactivate", {"reason": "'; drop table actor; --", "effective": "2025-13-45", "note": "n" * 600}),
    ("deactivate", {"reason": "other", "effective": "10/01/2025", "note": "n" * 600}),
    ("reactivate", {"reason": "r" * 600, "effective": "-1"}),
    ("merge", {"other": "9" * 500, "keep": "both", "reason": "x", "step": "confirm"}),
    ("merge", {"other": "0000-0000-00", "keep": "this", "reason": "x", "step": "review"}),
    ("merge", {"other": "", "keep": "", "reason": "", "step": "nonsense"}),
])
def test_wrong_input_is_never_a_server_error(app, outreach, people, route, data) -> None:  # type: ignore[no-untyped-def]
    number = people["C"]
    base = correction(number, outreach) if route == "correct" else {}
    response = post(outreach, page_of(number, route), **{**base, **data})
    assert 200 <= response.status_code < 500 and response.status_code != 303, text(response)[:300]
    assert history(app, number) == []


def test_an_erased_registration_offers_nothing_to_change(app, runner, outreach, people) -> None:  # type: ignore[no-untyped-def]
    number, other = people["G"], people["C"]
    assert post(outreach, page_of(number, "deactivate"), reason="consent_withdrawn", effective="10/01/2025").status_code == 303
    result = runner.invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    assert actor_row(app, number)["erased_at"] is not None
    for route in ROUTES:
        response = outreach.get(page_of(number, route))
        assert response.status_code == 409 and "erased" in text(response), route
    review = post(outreach, page_of(other, "merge"), other=number, keep="this", reason="Twice", step="review")
    assert review.status_code == 422 and "erased" in text(review) and 'href="#field-other"' in text(review)
