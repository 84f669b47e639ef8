"""The duplicate review queue: candidates found at registration, by `find-duplicates` and after
an import, by blocking keys (Khmer and Latin spellings of one name, phones one digit apart,
one national ID in two categories); pairs proposed once; closed when nothing is left to decide."""
from __future__ import annotations

from datetime import date, datetime, timezone

import sqlalchemy as sa
from flask import Flask

from registry.actors.normalise import identity_name
from registry.actors.services import insert_actors
from registry.actors.validation import Registration
from registry.duplicates.blocking import Person, phone_keys, phone_neighbours, verify
from registry.extensions import db
from tests.helpers import csrf_token, valid_form

NOW = datetime(2026, 12, 1, 9, tzinfo=timezone.utc)


def register(client, **overrides: str):  # type: ignore[no-untyped-def]
    form = valid_form(**overrides)
    response = client.post("/register", data={**form, "csrf_token": csrf_token(client, "/register")})
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return response


def pairs(app: Flask) -> list[tuple]:  # type: ignore[type-arg]
    with app.app_context():
        return [tuple(r) for r in db.session.execute(sa.text(
            "SELECT a.full_name, b.full_name, p.reasons, p.score, p.status, p.source, p.province_code"
            " FROM duplicate_pair p JOIN actor a ON a.id = p.first_actor_id JOIN actor b ON b.id = p.second_actor_id"
            " ORDER BY p.id"))]


def test_sok_dara_in_latin_after_khmer_with_a_phone_one_digit_apart_is_queued(app, client) -> None:  # type: ignore[no-untyped-def]
    register(client, full_name="សុខ ដារ៉ា", phone="012 345 678")
    assert pairs(app) == []
    register(client, full_name="Sok Dara", phone="012 345 679")
    [(first, second, reasons, score, status, source, province)] = pairs(app)
    assert (first, second) == ("សុខ ដារ៉ា", "Sok Dara")
    assert reasons == "same_birth_roman,phone_near" and status == "pending" and source == "registration"
    assert province == "12" and 80 <= score <= 100


def test_different_people_are_not_queued(app, client) -> None:  # type: ignore[no-untyped-def]
    register(client, full_name="សុខ ដារ៉ា", phone="012 345 678")
    register(client, full_name="Chan Vanna", phone="012 345 679")  # a phone one digit apart, another name
    register(client, full_name="Sok Dara", phone="097 111 222", date_of_birth="26/01/1990")  # another day of birth
    register(client, full_name="Sok Dara", phone="012 345 678", category="employee")  # another category, no national ID
    assert pairs(app) == []


# --------------------------------------------------------------------------- the staff pages
from tests.helpers import make_user, sign_in  # noqa: E402


def staff(app: Flask, role: str, province: str | None = None):  # type: ignore[no-untyped-def]
    email = f"{role}{province or ''}@example.org"
    make_user(app, email, role, province)
    client = app.test_client()
    assert sign_in(client, email).status_code == 303
    return client


def pair_ids(app: Flask) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(sa.text("SELECT id FROM duplicate_pair ORDER BY id")))


def decide(client, pair_id: int, **data: str):  # type: ignore[no-untyped-def]
    path = f"/staff/duplicates/{pair_id}"
    return client.post(path + "?lang=en", data={**data, "csrf_token": csrf_token(client, path)})


def active(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(sa.text("SELECT full_name FROM actor WHERE status = 'active' ORDER BY id")))


def test_a_merge_from_the_queue_leaves_one_active_registration(app, client) -> None:  # type: ignore[no-untyped-def]
    register(client, full_name="សុខ ដារ៉ា", phone="012 345 678")
    register(client, full_name="Sok Dara", phone="012 345 679")
    officer = staff(app, "outreach", "12")
    queue = officer.get("/staff/duplicates?lang=en").get_data(as_text=True)
    [pair_id] = pair_ids(app)
    assert f"/staff/duplicates/{pair_id}" in queue and "Sok Dara" in queue and "names that sound alike across Khmer and Latin" in queue
    page = officer.get(f"/staff/duplicates/{pair_id}?lang=en").get_data(as_text=True)
    assert "The two registrations side by side" in page and "សុខ ដារ៉ា" in page and "+85512345679" in page
    refused = decide(officer, pair_id, action="merge", reason="Same person")
    assert refused.status_code == 422 and "Choose which registration stays" in refused.get_data(as_text=True)
    assert active(app) == ["សុខ ដារ៉ា", "Sok Dara"]
    done = decide(officer, pair_id, action="merge", keep="first", reason="Same person, two scripts")
    assert done.status_code == 303 and done.headers["Location"] == "/staff/duplicates"
    assert active(app) == ["សុខ ដារ៉ា"]
    assert pairs(app)[0][4] == "merged"
    with app.app_context():
        events = db.session.execute(sa.text("SELECT kind, subject, detail FROM event WHERE kind LIKE 'duplicate%' OR kind = 'actor_merged'")).all()
        history = db.session.scalars(sa.text("SELECT reason FROM actor_change WHERE kind = 'merge'")).all()
    assert {e.kind for e in events} == {"actor_merged", "duplicate_merged"}
    assert "Sok" not in str([tuple(e) for e in events])  # no personal values in the event log
    assert history == ["Same person, two scripts"] * 2
    again = decide(officer, pair_id, action="dismiss")
    assert again.status_code == 409
    assert "No pairs to review" in officer.get("/staff/duplicates?lang=en").get_data(as_text=True)


def test_a_dismissed_pair_is_not_proposed_again(app, client) -> None:  # type: ignore[no-untyped-def]
    register(client, full_name="សុខ ដារ៉ា", phone="012 345 678")
    register(client, full_name="Sok Dara", phone="012 345 679")
    officer = staff(app, "outreach")
    [pair_id] = pair_ids(app)
    assert decide(officer, pair_id, action="dismiss").status_code == 303
    result = app.test_cli_runner().invoke(args=["find-duplicates"])
    assert result.exit_code == 0, result.output
    assert "1 possible duplicates, 0 new in the queue" in result.output
    assert [p[4] for p in pairs(app)] == ["dismissed"] and active(app) == ["សុខ ដារ៉ា", "Sok Dara"]


def test_defer_keeps_the_pair_after_the_pending_ones(app, client) -> None:  # type: ignore[no-untyped-def]
    register(client, full_name="សុខ ដារ៉ា", phone="012 345 678")
    register(client, full_name="Sok Dara", phone="012 345 679")
    register(client, full_name="Chan Vanna", phone="017 222 333", date_of_birth="02/02/1992")
    register(client, full_name="Chan Vana", phone="017 222 334", date_of_birth="02/02/1992")
    officer = staff(app, "admin")
    first, second = pair_ids(app)
    assert decide(officer, first, action="defer").status_code == 303
    queue = officer.get("/staff/duplicates?lang=en").get_data(as_text=True)
    assert queue.index(f"/staff/duplicates/{second}") < queue.index(f"/staff/duplicates/{first}")
    assert "Deferred" in queue
    assert decide(officer, second, action="nothing").status_code == 422


def test_pairs_spanning_provinces_go_to_admins_and_other_provinces_get_404(app, client) -> None:  # type: ignore[no-untyped-def]
    register(client, full_name="សុខ ដារ៉ា", phone="012 345 678")
    register(client, full_name="Sok Dara", phone="012 345 679", province="17", district="1702", commune="170201")
    [(_a, _b, _reasons, _score, _status, _source, province)] = pairs(app)
    assert province is None
    [pair_id] = pair_ids(app)
    for who in (staff(app, "outreach", "12"), staff(app, "outreach", "17"), staff(app, "outreach")):
        assert "No pairs to review" in who.get("/staff/duplicates?lang=en").get_data(as_text=True)
        assert who.get(f"/staff/duplicates/{pair_id}").status_code == 404
        assert decide_raw(who, pair_id).status_code == 404
    admin = staff(app, "admin")
    assert f"/staff/duplicates/{pair_id}" in admin.get("/staff/duplicates").get_data(as_text=True)
    assert admin.get(f"/staff/duplicates/{pair_id}").status_code == 200
    ministry = staff(app, "ministry")
    assert ministry.get("/staff/duplicates").status_code == 403
    assert ministry.get(f"/staff/duplicates/{pair_id}").status_code == 403


def decide_raw(client, pair_id: int):  # type: ignore[no-untyped-def]
    token = csrf_token(client, "/staff/actors")
    return client.post(f"/staff/duplicates/{pair_id}", data={"action": "dismiss", "csrf_token": token})


def test_another_provinces_officer_gets_404_and_their_own_sees_it(app, client) -> None:  # type: ignore[no-untyped-def]
    register(client, full_name="សុខ ដារ៉ា", phone="012 345 678")
    register(client, full_name="Sok Dara", phone="012 345 679")
    [pair_id] = pair_ids(app)
    assert staff(app, "outreach", "17").get(f"/staff/duplicates/{pair_id}").status_code == 404
    assert staff(app, "outreach", "12").get(f"/staff/duplicates/{pair_id}").status_code == 200
    assert staff(app, "outreach").get(f"/staff/duplicates/{pair_id}").status_code == 200
    assert staff(app, "admin").get("/staff/duplicates?after=x-1").status_code == 400
