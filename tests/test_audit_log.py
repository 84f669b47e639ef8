"""The admins' audit of the event log: filters (kind, account, days, subject), keyset paging
with the filter kept, the CSV export of every matching event (itself an event), refusals that
name the field, admins only, and no edit or delete through the application's own ORM."""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DatabaseError

from registry.events.models import Event
from registry.events.services import EventFilter, every, record
from registry.extensions import db
from tests.helpers import csrf_token, make_user, sign_in, valid_form

ROW = re.compile(r"<tr><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td>")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


@pytest.fixture
def seeded(app):  # type: ignore[no-untyped-def]
    """An admin signed in, an outreach account, one registration, and four events of 2025."""
    make_user(app, "admin@example.org", "admin")
    make_user(app, "out@example.org", "outreach")
    worker = app.test_client()
    assert worker.post("/register", data={**valid_form(), "csrf_token": csrf_token(worker, "/register")}).status_code == 303
    with app.app_context():
        ids = dict(db.session.execute(sa.text("SELECT email, id FROM staff_user")).all())
        actor_id, number = db.session.execute(sa.text("SELECT id, registration_number FROM actor")).one()
        admin_id, out_id = ids["admin@example.org"], ids["out@example.org"]
        record(db.session, "sign_in", now=utc(2025, 1, 10, 3), by_id=admin_id, subject=f"staff_user {admin_id}")
        record(db.session, "actor_registered", now=utc(2025, 1, 15, 18), by_id=out_id, subject=number,  # 16 Jan in Cambodia
               detail={"channel": "assisted"})
        record(db.session, "actor_corrected", now=utc(2025, 1, 20, 5), by_id=admin_id, subject=f"actor {actor_id}",
               detail={"via": "web", "fields": ["phone"]})
        record(db.session, "import_upload", now=utc(2025, 2, 1, 5), by_id=out_id, subject="batch 7",
               detail={"filename": "=HYPERLINK(\"x\").csv", "sha256": "ab"})
        db.session.commit()
    admin = app.test_client()
    assert sign_in(admin, "admin@example.org").status_code == 303
    return {"admin": admin, "admin_id": admin_id, "out_id": out_id, "number": number, "actor_id": actor_id}


def listed(client, query: str) -> list[tuple[str, str, str, str]]:  # type: ignore[no-untyped-def]
    """(when, kind, account, subject) of each event the page lists."""
    response = client.get(f"/staff/events?lang=en&{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return ROW.findall(response.get_data(as_text=True))


def test_each_filter(seeded) -> None:  # type: ignore[no-untyped-def]
    admin, number = seeded["admin"], seeded["number"]
    assert [kind for _w, kind, _a, _s in listed(admin, "kind=actor_corrected")] == ["Registration corrected"]
    by_outreach = listed(admin, f"account={seeded['out_id']}")
    assert [(kind, account) for _w, kind, account, _s in by_outreach] == [
        ("File uploaded for import", "out@example.org"), ("Person registered by outreach staff", "out@example.org")]
    # Days are Cambodian days, both ends included: 15 Jan 18:00 UTC is 16 Jan in Phnom Penh.
    assert [kind for _w, kind, _a, _s in listed(admin, "from=2025-01-16&to=2025-01-20")] == [
        "Registration corrected", "Person registered by outreach staff"]
    assert listed(admin, "from=2025-01-15&to=2025-01-15") == []
    assert [kind for _w, kind, _a, _s in listed(admin, "to=2025-01-10")] == ["Signed in"]
    dashed = f"{number[:4]}-{number[4:8]}-{number[8:]}"
    for typed in (number, dashed, f" {dashed} "):  # the registration's events under either name
        assert [subject for _w, _k, _a, subject in listed(admin, f"subject={typed}")] == [
            f"actor {seeded['actor_id']}", number], typed
    assert [subject for _w, _k, _a, subject in listed(admin, "subject=batch 7")] == ["batch 7"]
    assert listed(admin, "subject=batch 8") == []
    combined = listed(admin, f"kind=actor_registered&account={seeded['out_id']}&from=2025-01-01&to=2025-12-31&subject={dashed}")
    assert [kind for _w, kind, _a, _s in combined] == ["Person registered by outreach staff"]


@pytest.mark.parametrize(("query", "label"), [
    ("kind=nonsense", "Kind"), ("account=abc", "Account"), ("account=999", "Account"),
    ("from=2025-13-01", "From"), ("to=31/01/2025", "To"), ("from=0001-01-01", "From"), ("to=9999-12-31", "To"),
    ("from=2025-02-01&to=2025-01-01", "To"), ("subject=" + "x" * 81, "About"), ("before=x", "Older events"),
])
def test_a_filter_that_cannot_be_read_is_a_400_naming_the_field(seeded, query: str, label: str) -> None:  # type: ignore[no-untyped-def]
    for path in ("/staff/events", "/staff/events/export.csv"):
        response = seeded["admin"].get(f"{path}?lang=en&{query}")
        assert response.status_code == 400, (path, query)
        page = response.get_data(as_text=True)
        assert f"{label}: " in page.split('id="error-summary-title"', 1)[1], (path, query)
    with seeded["admin"].application.app_context():
        assert not db.session.scalar(sa.text("SELECT count(*) FROM event WHERE kind = 'event_log_exported'"))


def test_paging_keeps_the_filter_and_never_skips_or_repeats(app, seeded) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        for i in range(120):
            record(db.session, "export", now=utc(2025, 3, 1 + i % 28, i % 24), by_id=seeded["out_id"], subject=f"file {i}")
        db.session.commit()
    admin, seen, query, pages = seeded["admin"], [], "kind=export", 0
    while True:
        page = admin.get(f"/staff/events?lang=en&{query}").get_data(as_text=True)
        seen += [subject for _w, _k, _a, subject in ROW.findall(page)]
        pages += 1
        older = re.search(r'href="/staff/events\?([^"]+)" id="older-events"', page)
        if not older:
            break
        query = older.group(1).replace("&amp;", "&")
        assert "kind=export" in query
    assert pages == 3 and len(seen) == len(set(seen)) == 120
    assert seen == [f"file {i}" for i in reversed(range(120))]


def test_the_export_holds_every_matching_event_and_is_itself_recorded(app, seeded) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        for i in range(130):
            record(db.session, "export", now=utc(2025, 3, 1), by_id=seeded["out_id"], subject=f"file {i}")
        db.session.commit()
    admin = seeded["admin"]
    page = admin.get("/staff/events?lang=en&kind=export").get_data(as_text=True)
    link = re.search(r'href="([^"]+)" download id="export-events"', page).group(1).replace("&amp;", "&")
    assert link == "/staff/events/export.csv?kind=export"
    response = admin.get(link)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.is_streamed
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["at", "kind", "account", "ip", "subject", "detail"]
    assert len(rows) == 131 and {r[1] for r in rows[1:]} == {"export"}
    assert rows[1][4] == "file 129" and rows[-1][4] == "file 0"
    assert rows[1][0] == "2025-03-01T00:00:00+00:00" and rows[1][2] == "out@example.org"

    everything = list(csv.reader(io.StringIO(admin.get("/staff/events/export.csv").get_data(as_text=True).lstrip("\ufeff"))))
    with app.app_context():
        assert len(everything) - 1 == db.session.scalar(sa.text("SELECT count(*) FROM event"))  # both exports too
        exports = db.session.execute(sa.text(
            "SELECT staff_user_id, detail FROM event WHERE kind = 'event_log_exported' ORDER BY id")).all()
    assert [(by, json.loads(d) if isinstance(d, str) else d) for by, d in exports] == [
        (seeded["admin_id"], {"filter": {"kind": "export"}}), (seeded["admin_id"], {"filter": {}})]
    upload = next(r for r in everything if r[1] == "import_upload")
    assert json.loads(upload[5]) == {"filename": "=HYPERLINK(\"x\").csv", "sha256": "ab"}  # detail as JSON
    assert everything[1][1] == "event_log_exported"  # the export itself, newest


def test_every_reads_in_keyset_batches(app, seeded) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        for i in range(23):
            record(db.session, "export", now=utc(2025, 3, 1), subject=f"file {i}")
        db.session.commit()
        subjects = [row.subject for row in every(db.session, EventFilter(kind="export"), batch=5)]
    assert subjects == [f"file {i}" for i in reversed(range(23))]


def test_only_admins_filter_and_export(app, seeded) -> None:  # type: ignore[no-untyped-def]
    for email, role in (("min@example.org", "ministry"), ("out2@example.org", "outreach")):
        make_user(app, email, role)
        client = app.test_client()
        sign_in(client, email)
        assert client.get("/staff/events?kind=sign_in").status_code == 403
        assert client.get("/staff/events/export.csv").status_code == 403
    assert app.test_client().get("/staff/events/export.csv").status_code == 302
    with app.app_context():
        assert not db.session.scalar(sa.text("SELECT count(*) FROM event WHERE kind = 'event_log_exported'"))


def test_events_cannot_be_changed_or_deleted_through_the_orm(app, seeded) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        event_id = db.session.scalar(sa.select(Event.id).where(Event.kind == "sign_in").limit(1))
        event = db.session.get(Event, event_id)
        event.kind = "sign_out"
        with pytest.raises(DatabaseError, match="append-only"):
            db.session.commit()
        db.session.rollback()
        db.session.delete(db.session.get(Event, event_id))
        with pytest.raises(DatabaseError, match="append-only"):
            db.session.commit()
        db.session.rollback()
        assert db.session.get(Event, event_id).kind == "sign_in"
