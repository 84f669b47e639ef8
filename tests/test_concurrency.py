"""Concurrent writers (as two gunicorn workers would be): no lock errors, no duplicates."""
from __future__ import annotations

import threading
from datetime import date, datetime, timezone

import sqlalchemy as sa

from registry.actors.services import DuplicateRegistration, register_actor
from registry.actors.validation import validate_registration
from registry.extensions import db

NOW = datetime(2026, 11, 25, tzinfo=timezone.utc)
WRITERS = 4
EACH = 25


def registration(phone: str, name: str):  # type: ignore[no-untyped-def]
    raw = {
        "category": "self_employed", "full_name": name, "gender": "female", "date_of_birth": "1990-01-01",
        "phone": phone, "province": "12", "district": "1201", "commune": "120101", "sector": "trade",
    }
    reg, errors = validate_registration(raw, today=date(2026, 11, 25))
    assert not errors
    return reg


def test_concurrent_writers_never_fail_or_duplicate(app) -> None:  # type: ignore[no-untyped-def]
    failures: list[BaseException] = []
    duplicates: list[int] = []
    start = threading.Barrier(WRITERS)

    def writer(worker: int) -> None:
        try:
            with app.app_context():
                start.wait()
                for i in range(EACH):
                    for reg in (registration(f"012{worker:02d}{i:04d}", "Own Person"), registration("099888777", "Shared Person")):
                        try:
                            register_actor(db.session, reg, channel="self", consented_at=NOW, now=NOW)
                            db.session.commit()
                        except DuplicateRegistration:
                            db.session.rollback()
                            duplicates.append(worker)
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    with app.app_context():
        total = db.session.execute(sa.text("SELECT count(*) FROM actor")).scalar_one()
        shared = db.session.execute(sa.text("SELECT count(*) FROM actor WHERE phone = '+85599888777'")).scalar_one()
        numbers = db.session.execute(sa.text("SELECT count(DISTINCT registration_number) FROM actor")).scalar_one()
    assert shared == 1
    assert total == numbers == WRITERS * EACH + 1
    assert len(duplicates) == WRITERS * EACH - 1
