"""Assisted registration: outreach staff register people on the public form, one after
another, each credited to them, each with their own certificate; the province of a
province-limited account; limits per account, not per address; who may do it."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask import Flask

from registry.extensions import db
from registry.stats.queries import Query, statistics
from registry.stats.tally import rebuild
from tests.helpers import count_actors, csrf_token, make_app, make_user, sign_in, valid_form

PAGE = "/staff/register"
PEOPLE = [
    valid_form(full_name="Sok Dara", phone="012 345 678"),
    valid_form(full_name="Chan Vanna", gender="male", phone="017 654 321", date_of_birth="03/04/1985",
               category="micro_enterprise", business_name="Noodle shop", workers="3", sector="food_service"),
]


def signed_in(app: Flask, role: str, province: str | None = None):  # type: ignore[no-untyped-def]
    email = f"{role}{province or ''}@example.org"
    make_user(app, email, role, province)
    client = app.test_client()
    assert sign_in(client, email).status_code == 303
    return client


def register(client, form: dict[str, str]):  # type: ignore[no-untyped-def]
    return client.post(PAGE, data={**form, "csrf_token": csrf_token(client, PAGE)})


def stored(app: Flask) -> list[tuple]:  # type: ignore[type-arg]
    with app.app_context():
        return [tuple(r) for r in db.session.execute(sa.text(
            "SELECT a.registration_number, a.full_name, a.channel, s.email, a.consented_at IS NOT NULL"
            " FROM actor a LEFT JOIN staff_user s ON s.id = a.assisted_by_id ORDER BY a.id"))]


def test_two_people_in_a_row_each_with_their_number_and_certificate(app) -> None:  # type: ignore[no-untyped-def]
    officer = signed_in(app, "outreach")
    form = officer.get(PAGE + "?lang=en").get_data(as_text=True)
    assert "Register a person" in form and "I read this notice to the person" in form
    numbers = []
    for person in PEOPLE:
        response = register(officer, person)
        assert response.status_code == 303, response.get_data(as_text=True)
        done = officer.get(response.headers["Location"] + "?lang=en").get_data(as_text=True)
        number = re.search(r'id="registration-number">([0-9-]+)<', done).group(1)
        assert response.headers["Location"] == f"{PAGE}/{number.replace('-', '')}"
        assert "Print certificate" in done and "Download certificate (PDF)" in done
        again = re.search(r'href="([^"]+)" id="register-another"', done).group(1)
        assert again == PAGE
        fresh = officer.get(again).get_data(as_text=True)  # a fresh, empty form
        assert person["full_name"] not in fresh
        numbers.append(number)
    assert numbers[0] != numbers[1]
    rows = stored(app)
    assert [(name, channel, by, consent) for _n, name, channel, by, consent in rows] == [
        ("Sok Dara", "assisted", "outreach@example.org", True), ("Chan Vanna", "assisted", "outreach@example.org", True)]

    # The second person's certificate is the second person's, the first's still the first's.
    for number, person, other in ((numbers[1], PEOPLE[1], PEOPLE[0]), (numbers[0], PEOPLE[0], PEOPLE[1])):
        plain = number.replace("-", "")
        page = officer.get(f"{PAGE}/{plain}/certificate").get_data(as_text=True)
        assert number in page and person["full_name"] in page and other["full_name"] not in page
        assert f'href="{PAGE}/{plain}/certificate.pdf"' in page
        pdf = officer.get(f"{PAGE}/{plain}/certificate.pdf")
        assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
        assert f"certificate-{number}.pdf" in pdf.headers["Content-Disposition"]
    # The staff session holds nobody: the public certificate pages know no one.
    assert officer.get("/certificate").status_code == 404

    with app.app_context():
        recorded = db.session.execute(sa.text(
            "SELECT e.kind, s.email, a.registration_number FROM event e JOIN staff_user s ON s.id = e.staff_user_id"
            " JOIN actor a ON e.subject = 'actor ' || a.id WHERE e.kind = 'actor_registered' ORDER BY e.id")).all()
    assert [tuple(r) for r in recorded] == [("actor_registered", "outreach@example.org", n.replace("-", "")) for n in numbers]


def test_the_channel_is_counted_and_shown_on_the_dashboard_and_the_public_page(app) -> None:  # type: ignore[no-untyped-def]
    officer = signed_in(app, "outreach")
    for person in PEOPLE:
        assert register(officer, person).status_code == 303
    worker = app.test_client()  # and one person on their own
    assert worker.post("/register", data={**valid_form(full_name="Keo Sophea", phone="015 111 222"),
                                          "csrf_token": csrf_token(worker, "/register")}).status_code == 303
    with app.app_context():
        counted = statistics(db.session, Query()).breakdowns["by_channel"]
        assert (counted["assisted"], counted["self"], counted["outreach"]) == (2, 1, 0)
        rebuild(db.session)  # a recount from the actor table gives the same
        assert statistics(db.session, Query()).breakdowns["by_channel"] == counted
        db.session.rollback()
    make_user(app, "ministry@example.org", "ministry")
    ministry = app.test_client()
    sign_in(ministry, "ministry@example.org")
    assert "Assisted by outreach staff" in ministry.get("/dashboard?lang=en").get_data(as_text=True)
    assert "Assisted by outreach staff" in app.test_client().get("/stats?lang=en").get_data(as_text=True)


def test_a_province_limited_account_registers_in_its_province_only(app) -> None:  # type: ignore[no-untyped-def]
    officer = signed_in(app, "outreach", "12")
    form = officer.get(PAGE + "?lang=en").get_data(as_text=True)
    provinces = re.search(r'<select[^>]*name="province".*?</select>', form, re.S).group(0)
    assert re.findall(r'<option value="(\d+)"', provinces) == ["12"]  # the one province, chosen
    outside = register(officer, valid_form(province="17", district="1702", commune="170201"))
    assert outside.status_code == 422 and 'href="#field-province"' in outside.get_data(as_text=True)
    assert count_actors(app) == 0
    assert register(officer, PEOPLE[0]).status_code == 303
    assert count_actors(app) == 1


def test_the_province_refusal_names_the_field(app) -> None:  # type: ignore[no-untyped-def]
    officer = signed_in(app, "outreach", "12")
    token = csrf_token(officer, PAGE)
    page = officer.post(PAGE + "?lang=en", data={**valid_form(province="17", district="1702", commune="170201"),
                                                 "csrf_token": token}).get_data(as_text=True)
    assert '<a href="#field-province">Province: Outside your province: you may register people of' in page


def test_ministry_may_not_and_signed_out_goes_to_sign_in(app) -> None:  # type: ignore[no-untyped-def]
    ministry = signed_in(app, "ministry")
    assert ministry.get(PAGE).status_code == 403
    assert ministry.post(PAGE, data={**PEOPLE[0], "csrf_token": csrf_token(ministry, "/register")}).status_code == 403
    assert app.test_client().get(PAGE).status_code == 302
    admin = signed_in(app, "admin")
    assert register(admin, PEOPLE[0]).status_code == 303
    assert stored(app)[0][2:4] == ("assisted", "admin@example.org")


def test_certificates_of_people_registered_by_someone_else_or_elsewhere_are_not_found(app) -> None:  # type: ignore[no-untyped-def]
    officer = signed_in(app, "outreach")
    response = register(officer, PEOPLE[0])
    number = response.headers["Location"].rsplit("/", 1)[1]
    colleague = signed_in(app, "outreach", "17")
    for path in (f"{PAGE}/{number}", f"{PAGE}/{number}/certificate", f"{PAGE}/{number}/certificate.pdf",
                 f"{PAGE}/0000000000", f"{PAGE}/nonsense/certificate"):
        assert colleague.get(path).status_code == 404, path
    assert officer.get(f"{PAGE}/{number[:4]}-{number[4:8]}-{number[8:]}").status_code == 200  # with dashes too


def test_a_duplicate_is_refused_and_nothing_is_stored_twice(app) -> None:  # type: ignore[no-untyped-def]
    officer = signed_in(app, "outreach")
    assert register(officer, PEOPLE[0]).status_code == 303
    assert register(officer, PEOPLE[0]).status_code == 409
    assert count_actors(app) == 1


def test_csrf_is_required(app) -> None:  # type: ignore[no-untyped-def]
    officer = signed_in(app, "outreach")
    assert officer.post(PAGE, data=PEOPLE[0]).status_code == 400
    assert officer.post(PAGE, data={**PEOPLE[0], "csrf_token": "forged"}).status_code == 400
    assert count_actors(app) == 0


def test_consent_is_required_and_named(app) -> None:  # type: ignore[no-untyped-def]
    officer = signed_in(app, "outreach")
    page = officer.post(PAGE + "?lang=en", data={**PEOPLE[0], "consent": "", "csrf_token": csrf_token(officer, PAGE)})
    assert page.status_code == 422 and 'href="#field-consent"' in page.get_data(as_text=True)
    assert count_actors(app) == 0


def test_thirty_people_in_a_row_from_one_address_hit_no_limit(database_url: str) -> None:
    app = make_app(database_url, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")
    officer = signed_in(app, "outreach")
    shared_phone = "012 999 888"  # a family or a market stall may share one phone
    for i in range(30):
        response = register(officer, valid_form(full_name=f"Person {chr(65 + i % 26)}{chr(65 + i // 26)}",
                                                date_of_birth=f"{1 + i % 28:02d}/01/1990", phone=shared_phone))
        assert response.status_code == 303, (i, response.status_code)
    assert count_actors(app) == 30


def test_staff_are_limited_per_account(database_url: str) -> None:
    app = make_app(database_url, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://",
                   ASSISTED_RATE_LIMIT="3 per hour")
    officer, colleague = signed_in(app, "outreach"), signed_in(app, "admin")
    statuses = [register(officer, valid_form(full_name=f"Person {c}A", phone=f"012 000 00{i}")).status_code
                for i, c in enumerate("ABCD")]
    assert statuses == [303, 303, 303, 429]
    assert register(colleague, valid_form(full_name="Person EA", phone="012 000 009")).status_code == 303
