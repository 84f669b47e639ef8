"""What an API token costs a request: the same exact-count request made with a signed-in
ministry session and with a ministry account's token (looked up, its creator checked, one
event inserted and committed per request), medians of N requests through the app.

    .venv/bin/python bench/token_bench.py [N]      (default 300; REGISTRY_DATABASE_URL for PostgreSQL)

The registry holds 2,000 people (the statistics themselves cost the same either way).
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SECRET_KEY", "bench-only")

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import text  # noqa: E402

from registry import create_app  # noqa: E402
from registry.actors.services import register_actor  # noqa: E402
from registry.actors.validation import validate_registration  # noqa: E402
from registry.extensions import db  # noqa: E402
from registry.staff.services import create_user  # noqa: E402
from registry.tokens.services import create_token  # noqa: E402

NOW = datetime(2026, 11, 25, tzinfo=timezone.utc)
PATHS = ("/api/v1/stats?as_of=2024-12-31", "/api/v1/stats?province=12&category=employee",
         "/api/v1/dhis2/dataValueSet?period=2024")


def person(i: int) -> dict[str, str]:
    return {"category": "employee", "full_name": f"Person {chr(65 + i % 26)}{chr(65 + i // 26 % 26)} Test",
            "gender": "female" if i % 2 else "male", "date_of_birth": "1990-01-25", "national_id": f"{100000000 + i}",
            "phone": f"012 {i // 1000:03d} {i % 1000:03d}", "province": "12", "district": "1201", "commune": "120101",
            "sector": "trade", "business_name": "", "workers": "", "registered_on": ""}


def median_ms(client, path: str, n: int, headers: dict[str, str]) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(n):
        start = time.perf_counter()
        response = client.get(path, headers=headers)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200, response.get_data(as_text=True)[:200]
    return statistics.median(times) * 1000


def main(n: int) -> None:
    folder = tempfile.mkdtemp()
    url = os.environ.get("REGISTRY_DATABASE_URL") or f"sqlite:///{folder}/bench.sqlite3"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False, "SESSION_COOKIE_SECURE": False},
                     instance_path=folder)
    with app.app_context():
        upgrade()
        for i in range(2000):
            registration, errors = validate_registration(person(i), today=date(2024, 12, 1) + timedelta(days=i % 28))
            assert registration is not None, errors
            register_actor(db.session, registration, channel="outreach", consented_at=NOW, now=NOW)
        user = create_user(db.session, "bench@example.org", "seven purple lanterns drifting", "ministry", None, now=NOW)
        _token, secret = create_token(db.session, user, "bench", {"statistics", "exact_counts", "dhis2"}, 30,
                                      now=datetime.now(timezone.utc))
        db.session.commit()
        user_id, version = user.id, user.session_version
    session_client = app.test_client()
    with session_client.session_transaction() as session:  # what a sign-in leaves (registry.staff.access)
        now = int(time.time())
        session.update({"_user_id": str(user_id), "_fresh": True, "_ver": version, "_signed_in": now, "_seen": now})
    token_client = app.test_client()
    print(f"{'request':55} {'session':>9} {'token':>9}")
    for path in PATHS:  # alternating, so that warming up favours neither
        with_session, with_token = [], []
        for _ in range(5):
            with_session.append(median_ms(session_client, path, n // 5, {}))
            with_token.append(median_ms(token_client, path, n // 5, {"Authorization": f"Bearer {secret}"}))
        with_session, with_token = statistics.median(with_session), statistics.median(with_token)
        print(f"{path:55} {with_session:8.2f}ms {with_token:8.2f}ms  (+{with_token - with_session:.2f} ms)")
    with app.app_context():
        events = db.session.execute(text("SELECT count(*) FROM event WHERE kind = 'api_token_used'")).scalar_one()
    print(f"api_token_used events: {events} (one per token request: {len(PATHS) * n})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
