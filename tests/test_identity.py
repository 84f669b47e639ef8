"""Identity: the same person is never stored twice, by the service or by the database itself."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from registry.actors.models import Actor
from registry.actors.numbers import normalise_number
from registry.actors.services import DuplicateRegistration, register_actor
from registry.actors.validation import validate_registration

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=timezone.utc)


def registration(**overrides: str):  # type: ignore[no-untyped-def]
    raw = {
        "category": "employee", "full_name": "Chan Sophea", "gender": "F",
        "date_of_birth": "1995-03-08", "national_id": "", "phone": "011 222 333",
        "province": "02", "district": "0203", "commune": "020301", "sector": "repair",
    }
    raw.update(overrides)
    reg, errors = validate_registration(raw, today=date(2026, 11, 25))
    assert not errors, errors
    return reg


def store(session, reg):  # type: ignore[no-untyped-def]
    actor = register_actor(session, reg, channel="self", consented_at=NOW, now=NOW)
    session.commit()
    return actor


def count(session) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(sa.select(sa.func.count()).select_from(Actor))


def test_registration_gets_a_checked_number(session) -> None:  # type: ignore[no-untyped-def]
    first, second = store(session, registration()), store(session, registration(full_name="Keo Vanna"))
    assert first.registration_number != second.registration_number
    assert normalise_number(first.registration_number) == first.registration_number
    assert first.channel == "self" and first.registered_on == date(2026, 11, 25)


def test_same_phone_birth_and_name_without_national_id_is_a_duplicate(session) -> None:  # type: ignore[no-untyped-def]
    first = store(session, registration())
    with pytest.raises(DuplicateRegistration) as caught:
        store(session, registration(full_name="chan  SOPHEA", phone="+855 11 222 333"))
    assert caught.value.registration_number == first.registration_number
    session.rollback()
    assert count(session) == 1


def test_same_national_id_is_a_duplicate_whatever_else_differs(session) -> None:  # type: ignore[no-untyped-def]
    store(session, registration(national_id="123456789"))
    with pytest.raises(DuplicateRegistration):
        store(session, registration(national_id="123 456 789", full_name="Other Name", phone="012 999 888"))
    session.rollback()
    assert count(session) == 1


def test_another_category_is_another_registration(session) -> None:  # type: ignore[no-untyped-def]
    store(session, registration(national_id="123456789"))
    store(session, registration(national_id="123456789", category="self_employed"))
    assert count(session) == 2


def test_different_national_ids_are_different_people(session) -> None:  # type: ignore[no-untyped-def]
    store(session, registration(national_id="123456789"))
    store(session, registration(national_id="987654321"))
    assert count(session) == 2


def test_person_without_id_matches_the_same_person_registered_with_one(session) -> None:  # type: ignore[no-untyped-def]
    store(session, registration(national_id="123456789"))
    with pytest.raises(DuplicateRegistration):
        store(session, registration())
    session.rollback()
    store_later = registration(national_id="555555555", full_name="Someone Else")
    store(session, store_later)
    assert count(session) == 2


def test_person_with_id_matches_the_same_person_registered_without(session) -> None:  # type: ignore[no-untyped-def]
    store(session, registration())
    with pytest.raises(DuplicateRegistration):
        store(session, registration(national_id="123456789"))
    session.rollback()
    assert count(session) == 1


def _raw_insert(session, reg, actor_id: int) -> None:  # type: ignore[no-untyped-def]
    values = reg._asdict()
    session.execute(
        sa.insert(Actor).values(
            id=actor_id, registration_number=f"{actor_id:010d}", channel="self",
            created_at=NOW, consented_at=NOW, **values,
        )
    )


@pytest.mark.parametrize(
    "second",
    [
        {"national_id": "123456789", "full_name": "Other Person"},
        {"national_id": "", "full_name": "Chan Sophea"},
    ],
)
def test_database_refuses_duplicates_that_bypass_the_code(session, second) -> None:  # type: ignore[no-untyped-def]
    first_id = "123456789" if second["national_id"] else ""
    _raw_insert(session, registration(national_id=first_id), 900001)
    with pytest.raises(IntegrityError):
        _raw_insert(session, registration(**second), 900002)
    session.rollback()


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("category", "farmer"),
        ("gender", "other"),
        ("sector", "mining"),
        ("channel", "fax"),
        ("phone", "+66812345678"),
        ("commune_code", "020401"),  # does not nest in district 0203
        ("workers", 3),  # business fields only for micro-enterprises
    ],
)
def test_database_refuses_values_outside_the_rules(session, column: str, value: object) -> None:  # type: ignore[no-untyped-def]
    reg = registration()
    values = reg._asdict()
    values[column] = value
    with pytest.raises(IntegrityError):
        session.execute(
            sa.insert(Actor).values(
                id=900003, registration_number="0009000039", created_at=NOW, consented_at=NOW,
                **{"channel": "self", **values},
            )
        )
    session.rollback()


def test_bulk_insert_reports_a_duplicate_as_an_integrity_error(session) -> None:  # type: ignore[no-untyped-def]
    """Both databases' bulk paths (executemany, COPY) raise the same exception on a duplicate."""
    from registry.actors.services import insert_actors

    reg = registration(national_id="123456789")
    insert_actors(session, [reg], channel="outreach", now=NOW, consented_at=NOW)
    session.commit()
    with pytest.raises(IntegrityError):
        insert_actors(session, [reg], channel="outreach", now=NOW, consented_at=NOW)
    session.rollback()
    assert count(session) == 1
