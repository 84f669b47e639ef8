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
