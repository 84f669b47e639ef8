"""Staff search (/staff/actors), the record page and `actors find`/`show`: every kind of term,
filters, keyset pages that neither skip nor repeat, orders, capped counts, the province limit
inside the query, audit events holding the terms (never an address or a log line)."""
from __future__ import annotations

import json
import logging
import re
from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from registry.actors import lifecycle
from registry.actors.models import Actor
from registry.actors.numbers import registration_number
from registry.actors.services import register_actor
from registry.actors.validation import validate_registration
from registry.events.models import Event
from registry.extensions import db
from registry.records import search as search_module
from registry.records.search import Query, SearchError, read_terms, search
from registry.staff.models import StaffUser
from tests.helpers import csrf_token, make_user, sign_in

NOW = datetime(2025, 6, 30, 12, tzinfo=timezone.utc)
PEOPLE = [
    # name, phone, national ID, commune, category, registered_on
    ("សុខ ដារា", "012 345 678", "", "120101", "self_employed", "2024-03-01"),
    ("Sok Dara", "+855 15 222 333", "100000001", "120101", "employee", "2024-03-02"),
    ("O'Neil Chan-Thy", "017 444 555", "100000002", "170201", "self_employed", "2024-05-10"),
    ("ស្រី ពេជ្រ", "011 666 777", "", "170201", "employee", "2024-07-20"),
    ("Vann Rith", "015 888 999", "100000003", "120201", "self_employed", "2025-01-15"),
]


def raw(name: str, phone: str, nid: str, commune: str, category: str, registered_on: str) -> dict[str, str]:
    return {"category": category, "full_name": name, "gender": "female", "date_of_birth": "1990-01-25",
            "national_id": nid, "phone": phone, "province": commune[:2], "district": commune[:4], "commune": commune,
            "sector": "trade", "registered_on": registered_on}


def store(app: Flask, rows: list[tuple[str, ...]]) -> list[str]:
    numbers = []
    with app.app_context():
        for row in rows:
            reg, errors = validate_registration(raw(*row), today=NOW.date())
            assert reg is not None, errors
            numbers.append(register_actor(db.session, reg, channel="self", consented_at=NOW, now=NOW).registration_number)
        db.session.commit()
    return numbers


@pytest.fixture
def people(app: Flask) -> list[str]:
    return store(app, PEOPLE)


def staff(app: Flask, email: str, role: str = "ministry", province: str | None = None) -> FlaskClient:
    make_user(app, email, role, province)
    client = app.test_client()
    assert sign_in(client, email).status_code == 303
    return client


def post_search(client: FlaskClient, **fields: str):  # type: ignore[no-untyped-def]
    token = csrf_token(client, "/staff/actors")
    return client.post("/staff/actors", data={"csrf_token": token, **fields})


def found(client: FlaskClient, **fields: str) -> list[str]:
    """The numbers a search shows (all pages), following the redirect as a browser does."""
    answer = post_search(client, **fields)
    assert answer.status_code == 303, answer.get_data(as_text=True)[:2000]
    url, numbers = answer.headers["Location"], []
    while url:
        page = client.get(url)
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        numbers += re.findall(r'href="/staff/actors/(\d{10})" class="record-link"', html)
        more = re.search(r'href="([^"]+)" id="next-page"', html)
        url = more.group(1).replace("&amp;", "&") if more else ""
    return numbers


# --------------------------------------------------------------------------- reading the box
def test_the_box_is_read_as_the_form_stored_it() -> None:
    number = registration_number(1234)
    assert read_terms(f"{number[:4]}-{number[4:8]}-{number[8:]}").number == number
    assert read_terms(number).number == number
    assert read_terms("+855 12 345 678").phone == "+85512345678"
    assert read_terms("០១២ ៣៤៥ ៦៧៨").phone == "+85512345678"  # Khmer digits
    nine = read_terms("100-000-001")
    assert nine.national_id == "100000001"
    assert read_terms("  SOK   dara ").name_key == "sokdara"
    assert read_terms("សុខដារា").name_key == read_terms("សុខ  ដារា").name_key
    wrong = number[:9] + str((int(number[9]) + 1) % 10)
    for typed in (f"{wrong[:4]}-{wrong[4:8]}-{wrong[8:]}", "12"):
        with pytest.raises(SearchError) as error:
            read_terms(typed)
        assert error.value.field == "q"


# --------------------------------------------------------------------------- the page
def test_every_kind_of_term_finds_the_person(app: Flask, people: list[str]) -> None:
    client = staff(app, "ministry@example.org")
    dashed = f"{people[1][:4]}-{people[1][4:8]}-{people[1][8:]}"
    assert found(client, q=dashed) == [people[1]]
    assert found(client, q=people[1]) == [people[1]]
    assert found(client, q="100000002") == [people[2]]  # national ID
    assert found(client, q="+855 12 345 678") == [people[0]]
    assert found(client, q="012345678") == [people[0]]  # nine digits: a phone as well
    assert found(client, q="សុខដារា") == [people[0]]  # spaced differently from the stored name
    assert found(client, q="dara") == [people[1]]
    assert found(client, q="oneil chanthy") == [people[2]]  # punctuation and case ignored
    assert found(client, q="ពេជ្រ") == [people[3]]  # part of a name
    assert found(client, q="nobody") == []


def test_filters_and_orders(app: Flask, people: list[str]) -> None:
    client = staff(app, "ministry@example.org")
    assert found(client, province="17") == [people[3], people[2]]  # newest first
    assert found(client, province="17", sort="oldest") == [people[2], people[3]]
    assert found(client, province="12", district="1201", commune="120101", sort="number") == sorted([people[0], people[1]])
    assert found(client, category="employee", sort="oldest") == [people[1], people[3]]
    assert found(client, registered_from="01/05/2024", registered_to="2024-12-31") == [people[3], people[2]]
    assert found(client, channel="self", status="active", sort="name") == [people[2], people[1], people[4], people[0], people[3]]
    assert found(client, channel="outreach") == []


def test_wrong_input_names_the_field_and_nothing_is_searched(app: Flask, people: list[str]) -> None:
    client = staff(app, "ministry@example.org")
    wrong = people[0][:9] + str((int(people[0][9]) + 1) % 10)
    for fields, field in (({"q": ""}, "q"), ({"q": wrong}, "q"), ({"province": "99"}, "province"),
                          ({"province": "12", "district": "1702"}, "district"), ({"category": "king"}, "category"),
                          ({"status": "asleep"}, "status"), ({"registered_from": "31/02/2024"}, "registered_from"),
                          ({"registered_from": "01/02/2024", "registered_to": "01/01/2024"}, "registered_to"),
                          ({"batch": "x"}, "batch"), ({"q": "dara", "sort": "random"}, "sort")):
        answer = post_search(client, **fields)
        assert answer.status_code == 422, fields
        assert f'id="{field}-error"' in answer.get_data(as_text=True), fields
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Event).where(Event.kind == "actor_searched")) == 0
    token_missing = client.post("/staff/actors", data={"q": "dara"})
    assert token_missing.status_code == 400


def test_keyset_pages_neither_skip_nor_repeat_and_counts_are_capped(app: Flask, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    rows = [(f"Person {chr(65 + i % 26)}{chr(65 + i // 26)}", f"012 {i:03d} 111", "", "120101", "employee",
             f"2024-{1 + i % 12:02d}-{1 + i % 3:02d}") for i in range(57)]
    numbers = store(app, rows)
    client = staff(app, "ministry@example.org")
    for sort in ("newest", "oldest", "name", "number"):
        shown = found(client, q="person", sort=sort)
        assert len(shown) == 57 and sorted(shown) == sorted(numbers), sort  # two pages of 50 and 7
    assert found(client, q="person", sort="number") == sorted(numbers)
    with app.app_context():
        by_date = [a.registration_number for a in db.session.scalars(sa.select(Actor).order_by(Actor.registered_on.desc(), Actor.id.desc()))]
    assert found(client, q="person") == by_date
    page = client.get(post_search(client, q="person").headers["Location"] + "&lang=en").get_data(as_text=True)
    assert "57 registrations found" in page
    monkeypatch.setattr(search_module, "COUNT_CAP", 20)
    with app.app_context():
        capped = search(db.session, Query(text="person"), viewer_province=None)
    assert capped.more_than_cap and capped.count == 21 and len(capped.rows) == 50


def test_a_stored_search_is_its_author_s_only_and_terms_stay_out_of_addresses_and_logs(app: Flask, people: list[str], caplog) -> None:  # type: ignore[no-untyped-def]
    client = staff(app, "ministry@example.org")
    caplog.set_level(logging.DEBUG)
    answer = post_search(client, q="+855 12 345 678", province="12")
    location = answer.headers["Location"]
    assert re.fullmatch(r"/staff/actors\?search=\d+", location)
    page = client.get(location)
    assert people[0] in page.get_data(as_text=True)
    record = client.get(f"/staff/actors/{people[0]}")
    assert record.status_code == 200 and record.headers["Cache-Control"] == "no-store"
    for secret in ("855", "345 678", "12345678", "សុខ", "Sok"):
        assert secret not in caplog.text, secret
    with app.app_context():
        event = db.session.scalars(sa.select(Event).where(Event.kind == "actor_searched")).one()
        assert event.detail["terms"] == "+855 12 345 678" and event.detail["count"] == 1
        assert event.detail["filters"] == {"province_code": "12"} and event.staff_user_id is not None
        viewed = db.session.scalars(sa.select(Event).where(Event.kind == "actor_viewed")).one()
        viewed_id = db.session.scalar(sa.select(Actor.id).where(Actor.registration_number == people[0]))
        assert viewed.subject == f"actor {viewed_id}" and viewed.staff_user_id == event.staff_user_id
    other = staff(app, "admin@example.org", "admin")
    assert other.get(location).status_code == 404
    assert other.get("/staff/actors?search=abc").status_code == 404


def test_province_limited_accounts_find_and_open_their_province_only(app: Flask, people: list[str]) -> None:
    client = staff(app, "kandal@example.org", "outreach", province="12")
    assert found(client, q="dara") == [people[1]]
    assert sorted(found(client, category="self_employed")) == sorted([people[0], people[4]])  # not people[2], in 17
    assert found(client, q="ពេជ្រ") == []  # province 17
    assert found(client, province="17") == []
    assert found(client, q=people[2]) == []
    assert client.get(f"/staff/actors/{people[2]}").status_code == 404
    assert client.get(f"/staff/actors/{people[2]}/certificate").status_code == 404
    assert client.get(f"/staff/actors/{people[2]}/certificate.pdf").status_code == 404
    assert client.get(f"/staff/actors/{people[0]}").status_code == 200
    assert client.get("/staff/actors/0000000000").status_code == 404


def test_the_record_page_shows_every_field_the_status_the_history_and_the_certificate(app: Flask, people: list[str]) -> None:
    make_user(app, "admin@example.org", "admin")
    with app.app_context():
        admin = db.session.scalars(sa.select(StaffUser)).one()
        keep, other, dup = (db.session.scalars(sa.select(Actor).where(Actor.registration_number == n)).one()
                            for n in (people[0], people[2], people[4]))
        lifecycle.correct(db.session, other, {"phone": "017 444 556"}, "typo on the field sheet", admin, now=NOW)
        lifecycle.merge(db.session, keep, dup, "the same woman", admin, now=NOW)
        db.session.commit()
    client = app.test_client()
    assert sign_in(client, "admin@example.org").status_code == 303
    page = client.get(f"/staff/actors/{people[2]}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    for text in ("O&#39;Neil Chan-Thy", "+85517444556", "Self-employed", "Trade", "typo on the field sheet",
                 "+85517444555", "admin@example.org", "Correction", "Print the certificate again"):
        assert text in page, text
    merged = client.get(f"/staff/actors/{people[4]}").get_data(as_text=True)
    assert 'id="merged-notice"' in merged and f'href="/staff/actors/{people[0]}"' in merged
    survivor = client.get(f"/staff/actors/{people[0]}").get_data(as_text=True)
    assert f"/staff/actors/{people[4]}" in survivor  # merged from, linked
    certificate = client.get(f"/staff/actors/{people[2]}/certificate")
    assert certificate.status_code == 200 and f"/staff/actors/{people[2]}/certificate.pdf" in certificate.get_data(as_text=True)
    pdf = client.get(f"/staff/actors/{people[2]}/certificate.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Event).where(Event.kind == "actor_viewed")) == 5


def test_the_page_is_for_staff_roles(app: Flask, people: list[str]) -> None:
    assert app.test_client().get("/staff/actors").status_code in (302, 401)
    for role in ("outreach", "ministry", "admin"):
        client = staff(app, f"{role}@example.org", role)
        assert client.get("/staff/actors").status_code == 200
        assert 'href="/staff/actors"' in client.get("/staff/actors").get_data(as_text=True)  # in the staff bar


# --------------------------------------------------------------------------- the command line
def test_find_and_show_on_the_command_line(app: Flask, people: list[str]) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["actors", "find", "dara", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["number"].replace("-", "") for r in rows] == [people[1]]
    assert set(rows[0]) == {"number", "category", "full_name", "status", "province", "registered_on"}
    assert json.loads(runner.invoke(args=["actors", "find", "dara", "--province", "17", "--json"]).output) == []
    assert len(json.loads(runner.invoke(args=["actors", "find", "+855 12 345 678", "--status", "active", "--json"]).output)) == 1
    assert runner.invoke(args=["actors", "find", "12"]).exit_code == 1

    shown = runner.invoke(args=["actors", "show", people[2], "--json"])
    assert shown.exit_code == 0, shown.output
    record = json.loads(shown.output)
    assert record["status"]["code"] == "active" and record["history"] == [] and record["phone"] == "+85517444555"

    make_user(app, "kandal@example.org", "outreach", "12")
    limited = runner.invoke(args=["actors", "show", people[2], "--json", "--by", "kandal@example.org"])
    assert limited.exit_code == 1 and "no registration" in limited.output
    assert runner.invoke(args=["actors", "show", people[0], "--json", "--by", "kandal@example.org"]).exit_code == 0
    assert json.loads(runner.invoke(args=["actors", "find", "ពេជ្រ", "--json", "--by", "kandal@example.org"]).output) == []
    with app.app_context():
        events = db.session.scalars(sa.select(Event).where(Event.kind.in_(("actor_searched", "actor_viewed"))).order_by(Event.id)).all()
        assert events[0].staff_user_id is None and events[0].detail["via"] == "cli" and events[0].detail["terms"] == "dara"
        assert events[-1].staff_user_id is not None


def test_show_lists_the_history_newest_first(app: Flask, people: list[str]) -> None:
    make_user(app, "admin@example.org", "admin")
    runner = app.test_cli_runner()
    for phone in ("017 444 556", "017 444 557"):
        result = runner.invoke(args=["actors", "correct", people[2], "--set", f"phone={phone}", "--reason", "typo",
                                     "--by", "admin@example.org"])
        assert result.exit_code == 0, result.output
    record = json.loads(runner.invoke(args=["actors", "show", people[2], "--json"]).output)
    assert [(h["old"], h["new"]) for h in record["history"]] == [("+85517444556", "+85517444557"), ("+85517444555", "+85517444556")]
    assert set(record["history"][0]) >= {"at", "by", "field", "old", "new", "reason"} and record["history"][0]["by"] == "admin@example.org"


def test_a_corrected_name_is_found_by_its_new_name_only_and_short_parts_are_found_too(app: Flask, people: list[str]) -> None:
    make_user(app, "admin@example.org", "admin")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["actors", "correct", people[4], "--set", "full_name=Vannak Rithy", "--reason", "spelling",
                                 "--by", "admin@example.org"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        def numbers(text: str) -> list[str]:
            return [a.registration_number for a in search(db.session, Query(text=text), viewer_province=None).rows]

        assert numbers("vannakrith") == [people[4]] and numbers("NAK rit") == [people[4]]
        assert numbers("vannrith") == []  # the old name is gone from the index
        assert numbers("ពេ") == [people[3]] and numbers("sö") == []  # shorter than a trigram: every name read
        if db.engine.dialect.name == "sqlite":  # the FTS5 index agrees with the actor table
            db.session.execute(sa.text("INSERT INTO actor_name(actor_name, rank) VALUES ('integrity-check', 1)"))


def test_the_record_page_offers_what_the_account_may_do_and_prints_certificates_of_active_registrations_only(app: Flask) -> None:
    numbers = store(app, PEOPLE[:2])
    officer, reader = staff(app, "officer@example.org", "outreach"), staff(app, "ministry@example.org")
    page = officer.get(f"/staff/actors/{numbers[0]}?lang=en").get_data(as_text=True)
    assert f'/staff/actors/{numbers[0]}/correct"' in page and 'id="export-link"' in page and 'id="certificate-link"' in page
    page = reader.get(f"/staff/actors/{numbers[0]}?lang=en").get_data(as_text=True)
    assert "/correct" not in page and 'id="export-link"' not in page and 'id="certificate-link"' in page
    with app.app_context():
        actor = db.session.scalar(sa.select(Actor).where(Actor.registration_number == numbers[0]))
        lifecycle.deactivate(db.session, actor, "left", date(2025, 1, 10), None, now=NOW)
        db.session.commit()
    page = officer.get(f"/staff/actors/{numbers[0]}?lang=en").get_data(as_text=True)
    assert 'id="certificate-link"' not in page and "Certificates are printed for active registrations only." in page
    assert f'/staff/actors/{numbers[0]}/reactivate"' in page
    for suffix in ("/certificate", "/certificate.pdf"):
        assert officer.get(f"/staff/actors/{numbers[0]}{suffix}").status_code == 404
    assert officer.get(f"/staff/actors/{numbers[1]}/certificate.pdf").status_code == 200


def test_views_of_a_record_are_listed_in_the_person_s_record_export(app: Flask) -> None:
    """One log, one subject per registration ("actor <id>"): views, changes and exports are all
    found under it, so "what do you hold about me" lists who looked at the record."""
    from registry.record_export.services import personal_record

    numbers = store(app, PEOPLE[:1])
    officer = staff(app, "officer@example.org", "outreach")
    assert officer.get(f"/staff/actors/{numbers[0]}").status_code == 200
    assert officer.get(f"/staff/actors/{numbers[0]}/certificate").status_code == 200
    with app.app_context():
        actor = db.session.scalar(sa.select(Actor).where(Actor.registration_number == numbers[0]))
        kinds = [entry["kind"] for entry in personal_record(db.session, actor, "en", now=NOW)["staff_access"]]
    assert kinds == ["actor_viewed", "actor_viewed"]
