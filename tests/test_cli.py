"""The stats command counts what is registered, as of a date."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone

from registry.actors.services import register_actor
from registry.actors.validation import validate_registration
from registry.extensions import db

NOW = datetime(2025, 1, 1, tzinfo=timezone.utc)


def add(app, category: str, registered_on: str, phone: str) -> None:  # type: ignore[no-untyped-def]
    raw = {
        "category": category, "full_name": "Test Person", "gender": "male", "date_of_birth": "1980-05-05",
        "phone": phone, "province": "07", "district": "0701", "commune": "070101", "sector": "agriculture",
        "business_name": "Shop", "workers": "2", "registered_on": registered_on,
    }
    with app.app_context():
        reg, errors = validate_registration(raw, today=date(2026, 1, 1))
        assert not errors, errors
        register_actor(db.session, reg, channel="outreach", consented_at=NOW, now=NOW)
        db.session.commit()


def stats(runner, *args: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    result = runner.invoke(args=["stats", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output.strip().splitlines()[-1])


def test_stats_counts_by_category_as_of_a_date(app, runner) -> None:  # type: ignore[no-untyped-def]
    add(app, "employee", "2024-12-16", "012000001")
    add(app, "self_employed", "2024-12-31", "012000002")
    add(app, "micro_enterprise", "2025-01-01", "012000003")
    assert stats(runner, "--as-of", "2024-12-31") == {
        "as_of": "2024-12-31",
        "total": 2,
        "by_category": {"employee": 1, "micro_enterprise": 0, "self_employed": 1},
    }
    everything = stats(runner)
    assert everything["as_of"] is None and everything["total"] == 3
    assert stats(runner, "--as-of", "2024-12-15")["total"] == 0


def test_stats_rejects_a_malformed_date(runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["stats", "--as-of", "31/12/2024", "--json"])
    assert result.exit_code == 2
    assert "--as-of" in result.output


def test_human_readable_output(app, runner) -> None:  # type: ignore[no-untyped-def]
    add(app, "employee", "2024-12-20", "012000004")
    result = runner.invoke(args=["stats"])
    assert "Total: 1" in result.output and "employee: 1" in result.output
