"""The personal record export ("what do you hold about me"): JSON and PDF, from the staff page
(a POST with CSRF from a confirmation page) and from `actors export`; province scope, roles,
the event log."""
from __future__ import annotations

import json
import re
from datetime import date, datetime, timezone
from pathlib import Path

import pypdfium2 as pdfium
import sqlalchemy as sa

from registry.actors import lifecycle
from registry.actors.models import Actor
from registry.actors.services import register_actor
from registry.actors.validation import validate_registration
from registry.extensions import db
from tests.helpers import csrf_token, make_user, sign_in

NOW = datetime(2025, 6, 30, 5, tzinfo=timezone.utc)


def _person(app, province: str = "12", name: str = "Chan Sophea", phone: str = "012 777 888") -> str:  # type: ignore[no-untyped-def]
    district, commune = {"12": ("1201", "120101"), "17": ("1702", "170201")}[province]
    raw = {"category": "self_employed", "full_name": name, "gender": "female", "date_of_birth": "1990-03-10",
           "national_id": "", "phone": phone, "province": province, "district": district, "commune": commune,
           "sector": "trade", "registered_on": "2024-12-20"}
    with app.app_context():
        reg, errors = validate_registration(raw, today=NOW.date())
        assert reg is not None, errors
        actor = register_actor(db.session, reg, channel="self", consented_at=NOW, now=NOW)
        db.session.commit()
        lifecycle.correct(db.session, actor, {"phone": "012 777 999"}, "New phone", None, via="system", now=NOW)
        db.session.commit()
        return actor.registration_number


def _client(app, email: str, role: str, province: str | None = None):  # type: ignore[no-untyped-def]
    make_user(app, email, role, province)
    client = app.test_client()
    assert sign_in(client, email).status_code == 303
    return client


def _export(client, number: str, fmt: str, language: str = "en"):  # type: ignore[no-untyped-def]
    token = csrf_token(client, f"/staff/actors/{number}/export")
    return client.post(f"/staff/actors/{number}/export.{fmt}", data={"csrf_token": token, "language": language})


def test_outreach_downloads_the_record_as_json_and_pdf_and_each_export_is_logged(app) -> None:  # type: ignore[no-untyped-def]
    number = _person(app)
    client = _client(app, "officer@example.org", "outreach")
    page = client.get(f"/staff/actors/{number}/export?lang=en")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "Chan Sophea" not in page.get_data(as_text=True)  # the confirmation page shows the number only

    answer = _export(client, number, "json")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.headers["Cache-Control"] == "no-store"
    disposition = answer.headers["Content-Disposition"]
    assert re.fullmatch(r'attachment; filename="record-\d{4}-\d{4}-\d{2}\.json"', disposition) and "Chan" not in disposition
    content = json.loads(answer.get_data(as_text=True))
    fields = {f["field"]: f for f in content["fields"]}
    assert fields["full_name"]["value"] == "Chan Sophea" and fields["full_name"]["label"] == "Full name"
    assert fields["phone"]["value"] == "+85512777999" and fields["date_of_birth"]["value"] == "1990-03-10"
    assert fields["category"]["text"] == "Self-employed" or fields["category"]["value"] == "self_employed"
    assert content["status"]["status"] == "active" and content["arrival"]["channel"] == "self"
    assert [(h["field"], h["old"], h["new"], h["reason"]) for h in content["history"]] == [
        ("phone", "+85512777888", "+85512777999", "New phone")]
    assert content["history"][0]["by"] == "The registry itself"  # made by the system here; staff appear by role
    assert [a["kind"] for a in content["staff_access"]] == ["actor_corrected"]
    assert "officer@example.org" not in answer.get_data(as_text=True)

    pdf = _export(client, number, "pdf", language="km")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.headers["Cache-Control"] == "no-store"
    document = pdfium.PdfDocument(pdf.data)
    try:
        text = "".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    finally:
        document.close()
    dashed = f"{number[:4]}-{number[4:8]}-{number[8:]}"
    assert dashed in text and "Chan Sophea" in text and "+85512777999" in text

    with app.app_context():
        events = db.session.execute(sa.text("SELECT kind, subject, detail, staff_user_id FROM event"
                                            " WHERE kind = 'personal_data_exported' ORDER BY id")).all()
        actor_id = db.session.scalar(sa.select(Actor.id).where(Actor.registration_number == number))
    assert [(e.subject, (e.detail if isinstance(e.detail, dict) else json.loads(e.detail))["format"]) for e in events] == [
        (f"actor {actor_id}", "json"), (f"actor {actor_id}", "pdf")]
    assert all(e.staff_user_id is not None for e in events)
    # the next export lists the earlier ones
    again = json.loads(_export(client, number, "json").get_data(as_text=True))
    assert [a["kind"] for a in again["staff_access"]] == ["actor_corrected", "personal_data_exported", "personal_data_exported"]
    assert again["staff_access"][1]["by"] == "Staff: Outreach"


def test_scope_roles_csrf_and_bad_input(app) -> None:  # type: ignore[no-untyped-def]
    here, elsewhere = _person(app, "12"), _person(app, "17", name="Lim Bopha", phone="010 222 333")
    limited = _client(app, "kampot@example.org", "outreach", province="12")
    assert limited.get(f"/staff/actors/{elsewhere}/export").status_code == 404
    token = csrf_token(limited, f"/staff/actors/{here}/export")
    for fmt in ("json", "pdf"):
        refused = limited.post(f"/staff/actors/{elsewhere}/export.{fmt}", data={"csrf_token": token, "language": "en"})
        assert refused.status_code == 404
    assert limited.get("/staff/actors/0000000000/export").status_code == 404  # no such number
    assert _export(limited, here, "json").status_code == 200
    assert limited.post(f"/staff/actors/{here}/export.json", data={"language": "en"}).status_code == 400  # no CSRF
    assert limited.get(f"/staff/actors/{here}/export.json").status_code == 405  # never a GET
    wrong = limited.post(f"/staff/actors/{here}/export.json?lang=en", data={"csrf_token": token, "language": "fr"})
    assert wrong.status_code == 422 and "Choose the language of the document." in wrong.get_data(as_text=True)
    ministry = _client(app, "data@example.org", "ministry")
    assert ministry.get(f"/staff/actors/{here}/export").status_code == 403
    assert ministry.post(f"/staff/actors/{here}/export.json",
                         data={"csrf_token": csrf_token(ministry, "/staff/account"), "language": "en"}).status_code == 403
    assert app.test_client().get(f"/staff/actors/{here}/export").status_code in (302, 303, 401)
    with app.app_context():
        kinds = list(db.session.scalars(sa.text("SELECT kind FROM event WHERE kind = 'personal_data_exported'")))
    assert kinds == ["personal_data_exported"]  # only the one export that was allowed


def test_the_export_command(app, runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    here, elsewhere = _person(app, "12"), _person(app, "17", name="Lim Bopha", phone="010 222 333")
    make_user(app, "kampot@example.org", "outreach", province="12")
    make_user(app, "data@example.org", "ministry")
    out = tmp_path / "record.json"
    done = runner.invoke(args=["actors", "export", here, "--format", "json", "--output", str(out), "--by", "kampot@example.org",
                               "--lang", "en"])
    assert done.exit_code == 0, done.output
    assert "Chan" not in done.output and (out.stat().st_mode & 0o777) == 0o600
    assert {f["field"]: f["value"] for f in json.loads(out.read_text())["fields"]}["full_name"] == "Chan Sophea"
    pdf = tmp_path / "record.pdf"
    assert runner.invoke(args=["actors", "export", here, "--format", "pdf", "--output", str(pdf),
                               "--by", "kampot@example.org"]).exit_code == 0
    document = pdfium.PdfDocument(pdf.read_bytes())
    assert f"{here[:4]}-{here[4:8]}-{here[8:]}" in document[0].get_textpage().get_text_range()
    document.close()
    outside = runner.invoke(args=["actors", "export", elsewhere, "--format", "json", "--output", str(tmp_path / "x.json"),
                                  "--by", "kampot@example.org"])
    assert outside.exit_code == 1 and "no registration" in outside.output and not (tmp_path / "x.json").exists()
    ministry = runner.invoke(args=["actors", "export", here, "--format", "json", "--output", str(tmp_path / "y.json"),
                                   "--by", "data@example.org"])
    assert ministry.exit_code == 1 and "may not export" in ministry.output
    with app.app_context():
        details = [d if isinstance(d, dict) else json.loads(d) for d in
                   db.session.scalars(sa.text("SELECT detail FROM event WHERE kind = 'personal_data_exported' ORDER BY id"))]
    assert details == [{"format": "json", "via": "cli"}, {"format": "pdf", "via": "cli"}]


def test_a_long_history_flows_onto_more_pages(app) -> None:  # type: ignore[no-untyped-def]
    number = _person(app)
    with app.app_context():
        actor = db.session.scalar(sa.select(Actor).where(Actor.registration_number == number))
        for i in range(40):
            lifecycle.correct(db.session, actor, {"phone": f"012 700 {i:03d}"}, f"Phone number changed, call {i}", None, now=NOW)
        db.session.commit()
    client = _client(app, "officer@example.org", "outreach")
    pdf = _export(client, number, "pdf")
    assert pdf.status_code == 200
    document = pdfium.PdfDocument(pdf.data)
    try:
        assert len(document) >= 2
        text = "".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    finally:
        document.close()
    assert "call 39" in text and date(2024, 12, 20).isoformat() in text
