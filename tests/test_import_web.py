"""Upload through the web: the same outcomes as the CLI, live progress, report, refusals."""
from __future__ import annotations

import io
import re
import time
import zipfile
from pathlib import Path


import sqlalchemy as sa

from registry.actors.numbers import format_number
from registry.extensions import db
from tests.helpers import count_actors, csrf_token, make_user, sign_in
from tests.import_files import expected_outcomes, good, mixed_rows, write_csv


def upload(client, path: Path | None, *, name: str | None = None, data: bytes | None = None, consent: bool = True):  # type: ignore[no-untyped-def]
    body = data if data is not None else path.read_bytes()  # type: ignore[union-attr]
    form = {"csrf_token": csrf_token(client, "/staff/imports"), "file": (io.BytesIO(body), name or path.name)}  # type: ignore[union-attr]
    if consent:
        form["consent"] = "y"
    return client.post("/staff/imports", data=form, content_type="multipart/form-data")


def wait_until_done(client, location: str, timeout: float = 60) -> dict:  # type: ignore[no-untyped-def,type-arg]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        progress = client.get(location + "/progress").get_json()
        if progress["status"] in ("done", "failed"):
            return progress
        time.sleep(0.05)
    raise AssertionError("import did not finish")


def test_web_upload_gives_the_same_outcomes_as_the_cli(outreach, app, runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_csv(tmp_path / "mixed.csv", [row for row, _, _ in mixed_rows()])
    response = upload(outreach, path)
    assert response.status_code == 303
    location = response.headers["Location"]
    progress = wait_until_done(outreach, location)
    expected = expected_outcomes()
    assert progress["status"] == "done"
    assert progress["rows"] == progress["total_rows"] == len(expected)
    assert progress["imported"] == sum(1 for o in expected.values() if o == "imported")
    page = outreach.get(location).get_data(as_text=True)
    assert 'id="imported">%d<' % progress["imported"] in page
    report = outreach.get(progress["report_url"])
    assert report.headers["Content-Type"].startswith("text/csv")
    web_lines = report.get_data(as_text=True).lstrip("\ufeff").splitlines()
    # The CLI's report of the same file (re-imported: everything now a duplicate or rejected) has
    # the same rejected rows, reason for reason.
    cli_report = tmp_path / "cli.csv"
    result = runner.invoke(args=["import-actors", str(path), "--errors", str(cli_report), "--lang", "km"])
    assert result.exit_code == 0
    cli_lines = cli_report.read_text(encoding="utf-8-sig").splitlines()
    rejected = lambda lines: [l for l in lines if ",rejected," in l]  # noqa: E731
    assert rejected(web_lines) == rejected(cli_lines) and len(rejected(web_lines)) == sum(1 for o in expected.values() if o == "rejected")


def test_upload_needs_consent_and_a_usable_file(outreach, app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_csv(tmp_path / "ok.csv", [good(1)])
    assert upload(outreach, path, consent=False).status_code == 422
    outreach.get("/staff/imports?lang=en")
    cases = [
        (path.read_bytes(), "ok.pdf", "Only .csv, .txt"),
        (path.read_bytes(), "ok.xlsx", "not an Excel workbook"),
    ]
    for data, name, message in cases:
        response = upload(outreach, None, name=name, data=data)
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
    assert count_actors(app) == 0
    assert not any((Path(app.instance_path) / "imports").glob("*.txt"))


def test_too_large_upload_gets_a_clear_413(database_url, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.helpers import make_app

    app = make_app(database_url, MAX_CONTENT_LENGTH=2048)
    make_user(app, "o@example.org", "outreach")
    client = app.test_client()
    sign_in(client, "o@example.org")
    path = write_csv(tmp_path / "big.csv", [good(n) for n in range(200)])
    client.get("/staff/imports?lang=en")
    response = upload(client, path)
    assert response.status_code == 413
    assert "Nothing was saved. Split the file" in response.get_data(as_text=True)
    assert count_actors(app) == 0


def _workbook_with_sheet(xml: str) -> bytes:
    """A minimal XLSX whose first sheet is `xml`."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')
        z.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        z.writestr("xl/workbook.xml", '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="s" sheetId="1" r:id="rId1"/></sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
        z.writestr("xl/worksheets/sheet1.xml", xml)
    return out.getvalue()


def test_xml_entity_tricks_are_refused(outreach, app) -> None:  # type: ignore[no-untyped-def]
    laughs = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol2;</t></is></c></row></sheetData></worksheet>'
    outreach.get("/staff/imports?lang=en")
    response = upload(outreach, None, name="lol.xlsx", data=_workbook_with_sheet(laughs))
    assert response.status_code == 422
    assert "cannot be opened safely" in response.get_data(as_text=True)


def test_zip_bombs_are_refused(outreach, app) -> None:  # type: ignore[no-untyped-def]
    huge = '<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>' + " " * (30 * 1024 * 1024) + "</sheetData></worksheet>"
    outreach.get("/staff/imports?lang=en")
    response = upload(outreach, None, name="bomb.xlsx", data=_workbook_with_sheet(huge))
    assert response.status_code == 422
    assert "zip bomb" in response.get_data(as_text=True)


def test_other_staff_cannot_see_a_batch_and_province_limits_hold(app, outreach, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    response = upload(outreach, write_csv(tmp_path / "a.csv", [good(1)]))
    location = response.headers["Location"]
    wait_until_done(outreach, location)
    make_user(app, "kampot@example.org", "outreach", province="07")
    other = app.test_client()
    sign_in(other, "kampot@example.org")
    assert other.get(location).status_code == 404
    assert other.get(location + "/report.csv").status_code == 404
    mixed = write_csv(tmp_path / "b.csv", [good(2, province="07", district="0701", commune="070101"), good(3)])
    progress = wait_until_done(other, upload(other, mixed).headers["Location"])
    assert (progress["imported"], progress["rejected"]) == (1, 1)
    make_user(app, "admin@example.org", "admin")
    admin = app.test_client()
    sign_in(admin, "admin@example.org")
    assert admin.get(location).status_code == 200


def test_templates_download(outreach) -> None:  # type: ignore[no-untyped-def]
    from openpyxl import load_workbook

    csv_template = outreach.get("/staff/imports/template.csv").get_data()
    assert csv_template.startswith(b"\xef\xbb\xbfcategory,full_name,gender,date_of_birth,national_id,phone,province")
    book = load_workbook(io.BytesIO(outreach.get("/staff/imports/template.xlsx").get_data()))
    assert book.sheetnames == ["registrations", "instructions", "areas"]
    guide = [[c.value for c in row] for row in book["instructions"].iter_rows()]
    assert any(row[2] == "sector" and "food_service" in (row[-1] or "") for row in guide)
    assert any("\u1780" <= ch <= "\u17ff" for ch in guide[1][0])
    assert book["areas"].max_row == 1 + 25 + 210 + 1661


def test_province_staff_see_registration_numbers_of_their_province_only(app, outreach, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    known = wait_until_done(outreach, upload(outreach, write_csv(tmp_path / "a.csv", [
        good(1), good(2, province="07", district="0701", commune="070101")])).headers["Location"])
    assert known["imported"] == 2
    with app.app_context():
        numbers = dict(db.session.execute(sa.text("SELECT province_code, registration_number FROM actor")).all())
    make_user(app, "kampot@example.org", "outreach", province="07")
    kampot = app.test_client()
    sign_in(kampot, "kampot@example.org")
    kampot.get("/staff/imports?lang=en")
    # The same two people again, both now written as living in Kampot (07): one moved there.
    again = write_csv(tmp_path / "b.csv", [good(1, province="07", district="0701", commune="070101"),
                                           good(2, province="07", district="0701", commune="070101")])
    location = upload(kampot, again).headers["Location"]
    assert wait_until_done(kampot, location)["duplicates"] == 2
    report = kampot.get(location + "/report.csv").get_data(as_text=True)
    assert "Already registered, in another province." in report
    assert format_number(numbers["07"]) in report
    assert format_number(numbers["12"]) not in report and numbers["12"] not in report
    page = kampot.get(location).get_data(as_text=True)  # the rows listed on the page hold the same limit
    assert "Already registered, in another province." in page and format_number(numbers["07"]) in page
    assert format_number(numbers["12"]) not in page and numbers["12"] not in page


def test_batch_page_says_how_many_rows_were_not_stored_and_lists_them(outreach, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    location = upload(outreach, write_csv(tmp_path / "mixed.csv", [row for row, _, _ in mixed_rows()])).headers["Location"]
    progress = wait_until_done(outreach, location)
    not_stored = progress["duplicates"] + progress["rejected"]
    page = outreach.get(location + "?lang=en").get_data(as_text=True)
    assert f'<strong id="status">Finished — {not_stored} rows not stored</strong>' in page
    assert f"Finished — {not_stored} rows not stored" in outreach.get("/staff/imports").get_data(as_text=True)
    problems = page.split('id="problems"')[1]
    listed = [int(n) for n in re.findall(r'<tr id="problem-(\d+)">', problems)]
    expected = [number for number, (_, outcome, _) in enumerate(mixed_rows(), start=2) if outcome in ("rejected", "duplicate")]
    assert listed == expected and len(listed) == not_stored
    row_9 = re.search(r'<tr id="problem-9">(.*?)</tr>', problems).group(1)  # type: ignore[union-attr]
    assert "Rejected" in row_9 and "Gender" in row_9
    row_21 = re.search(r'<tr id="problem-21">(.*?)</tr>', problems).group(1)  # type: ignore[union-attr]
    assert "Duplicate" in row_21 and "Repeat of row 2 of this file." in row_21
    assert 'id="problems-next"' not in problems and 'id="problems-first"' not in problems
    assert page.index('id="report-link"') < page.index('id="problems"')  # beside the CSV, not instead of it


def test_rows_not_stored_are_paged_fifty_at_a_time(outreach, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rows = [good(n, date_of_birth="31/02/1990") for n in range(120)] + [good(200)]
    location = upload(outreach, write_csv(tmp_path / "many.csv", rows)).headers["Location"]
    assert wait_until_done(outreach, location)["rejected"] == 120
    outreach.get("/staff/imports?lang=en")
    seen: list[int] = []
    url, pages = location, 0
    while url:
        page = outreach.get(url).get_data(as_text=True)
        numbers = [int(n) for n in re.findall(r'<tr id="problem-(\d+)">', page)]
        assert 0 < len(numbers) <= 50 and (len(numbers) == 50 or not seen or len(seen) + len(numbers) == 120)
        assert all("Date of birth" in r for r in re.findall(r'<tr id="problem-\d+">(.*?)</tr>', page))
        seen += numbers
        pages += 1
        following = re.search(r'<a href="([^"]+)#problems" id="problems-next">', page)
        url = following.group(1).replace("&amp;", "&") if following else ""
        assert ('id="problems-first"' in page) == (pages > 1)
    assert pages == 3 and seen == list(range(2, 122))
    assert "after=51" in outreach.get(location).get_data(as_text=True)
    assert outreach.get(location + "?after=x").status_code == 400
    one = upload(outreach, write_csv(tmp_path / "one.csv", [good(300), good(301, gender="x")])).headers["Location"]
    wait_until_done(outreach, one)
    assert "Finished — 1 row not stored" in outreach.get(one).get_data(as_text=True)


def test_identical_file_notice_comes_first(outreach, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_csv(tmp_path / "same.csv", [good(1), good(2, gender="x")])
    first = upload(outreach, path).headers["Location"]
    wait_until_done(outreach, first)
    second = upload(outreach, path).headers["Location"]
    wait_until_done(outreach, second)
    page = outreach.get(second + "?lang=en").get_data(as_text=True)
    first_id = first.rsplit("/", 1)[1]
    notice = page.index(f"This file is identical to import {first_id}.")
    assert page.index("<h1>") < notice < page.index('id="batch"') < page.index('id="report-link"')
    assert "Finished — 2 rows not stored" in page  # one duplicate, one rejected
