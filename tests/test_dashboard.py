"""The ministry dashboard: the seed document's 2024 figures beside live registry counts,
drill-down, exports with formulas neutralised, audited corrections, role and province limits."""
from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa
from openpyxl import load_workbook

from registry.extensions import db
from tests.helpers import csrf_token, make_user, sign_in
from tests.import_files import good, write_csv

SEED_2024 = {  # every 2024 figure of the seed document, as loaded
    "IND_FACTORIES_OPERATING": 2425, "IND_FACTORIES_NEW": 326, "IND_FACTORIES_CLOSED": 26, "IND_JOBS": 1160181,
    "IND_JOBS_WOMEN_SHARE": 73.68, "IND_INVESTMENT": 20.456, "SME_ENTERPRISES": 43970, "SME_WORKERS": 476223,
    "SME_NEW_REGISTERED": 1292, "SME_OPERATING_CERTIFICATES": 1052, "SME_CONTINUATION_CERTIFICATES": 1338,
    "SME_NEW_JOBS": 25833, "STD_NEW_NATIONAL": 55, "STD_TOTAL": 1132, "MET_CALIBRATIONS": 1097, "MET_CERTIFICATES": 710,
    "MET_STANDARD_CERTIFICATES": 63, "ACC_LAB_CERTIFICATES": 2, "ACC_CAB_REGISTRATIONS": 20, "ACC_LABS_ACCREDITED": 11,
    "LAB_ANALYSES": 11018, "WAT_VOLUME": 530, "WAT_CONNECTIONS": 1440913, "WAT_PUBLIC_AUTHORITIES": 11,
    "IE_ACTORS_TOTAL": 1185, "IE_ACTORS_EMPLOYEE": 168, "IE_ACTORS_MICRO_ENTERPRISE": 159, "IE_ACTORS_SELF_EMPLOYED": 858,
    "INS_DELEGATED_BUDGET_ENTITIES": 34, "INS_NEW_DELEGATED_BUDGET_ENTITIES": 9,
}
DERIVED_2023 = {"IND_FACTORIES_OPERATING": 2125, "IND_JOBS": 1040335, "IND_INVESTMENT": 18.566, "STD_TOTAL": 1077,
                "WAT_VOLUME": 462, "WAT_CONNECTIONS": 1307810, "IE_ACTORS_TOTAL": 0, "INS_DELEGATED_BUDGET_ENTITIES": 25}


def december_2024_file(tmp_path: Path) -> Path:
    """1,185 actors registered 16-31 Dec 2024: 168 employees, 159 micro-enterprises, 858 self-employed."""
    rows = []
    for i in range(1185):
        category = "employee" if i < 168 else "micro_enterprise" if i < 168 + 159 else "self_employed"
        rows.append(good(10_000 + i, category=category, full_name=f"Person {i:04d}".replace("0", "O").replace("1", "I")
                         .replace("2", "Z").replace("3", "E").replace("4", "A").replace("5", "S").replace("6", "G")
                         .replace("7", "T").replace("8", "B").replace("9", "P"),
                         registered_on=(date(2024, 12, 16) + timedelta(days=i % 16)).isoformat(),
                         business_name="Shop" if category == "micro_enterprise" else "",
                         workers="1" if category == "micro_enterprise" else ""))
    return write_csv(tmp_path / "december.csv", rows)


def ministry_client(app, email: str = "minister@example.org", province: str | None = None):  # type: ignore[no-untyped-def]
    make_user(app, email, "ministry", province=province)
    client = app.test_client()
    assert sign_in(client, email).status_code == 303
    return client


def test_indicator_dataset_holds_every_seed_figure(app, runner) -> None:  # type: ignore[no-untyped-def]
    assert runner.invoke(args=["load-indicators", "--if-empty"]).exit_code == 0
    with app.app_context():
        rows = db.session.execute(sa.text("SELECT code, year, value, derived, unit, source FROM indicator")).all()
    by_year = {(code, year): (value, derived) for code, year, value, derived, _unit, _source in rows}
    assert {code: by_year[(code, 2024)][0] for code in SEED_2024} == SEED_2024
    assert {code: by_year[(code, 2023)][0] for code in DERIVED_2023} == DERIVED_2023
    assert all(by_year[(code, 2023)][1] for code in DERIVED_2023) and not any(by_year[(c, 2024)][1] for c in SEED_2024)
    assert all(unit and source for *_rest, unit, source in rows)
    assert runner.invoke(args=["load-indicators", "--if-empty"]).output.startswith("Indicators already loaded")


def test_done_when_1185_actors_show_beside_the_seed_figures(app, runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    summary = runner.invoke(args=["import-actors", str(december_2024_file(tmp_path)), "--json"])
    assert summary.exit_code == 0 and '"imported": 1185' in summary.output
    assert runner.invoke(args=["load-indicators"]).exit_code == 0
    client = ministry_client(app)
    html = client.get("/dashboard?year=2024&lang=en").get_data(as_text=True)
    for code, published, live in [("IE_ACTORS_TOTAL", "1,185", "1,185"), ("IE_ACTORS_EMPLOYEE", "168", "168"),
                                  ("IE_ACTORS_MICRO_ENTERPRISE", "159", "159"), ("IE_ACTORS_SELF_EMPLOYED", "858", "858")]:
        row = html.split(f'id="indicator-{code}"')[1].split("</tr>")[0]
        assert re.search(f'<td class="num" data-label="2024">{published}</td>', row)
        assert re.search(f'<td class="num live"[^>]*>{live}</td>', row)
    assert 'id="indicator-IND_JOBS"' in html and "1,160,181" in html and "+11.52 %" in html
    api = client.get("/api/v1/stats?as_of=2024-12-31").get_json()
    assert api["exact"] and api["total"]["count"] == 1185
    assert {c["code"]: c["count"] for c in api["breakdowns"]["by_category"]} == {
        "employee": 168, "micro_enterprise": 159, "self_employed": 858}
    assert client.get("/api/v1/stats?as_of=2024-12-15").get_json()["total"]["count"] == 0


def test_drill_down_and_roles(app, runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rows = [good(i) for i in range(6)] + [good(100 + i, province="07", district="0701", commune="070101") for i in range(4)]
    assert runner.invoke(args=["import-actors", str(write_csv(tmp_path / "r.csv", rows))]).exit_code == 0
    assert app.test_client().get("/dashboard").status_code == 302  # sign in first
    make_user(app, "out@example.org", "outreach")
    outreach = app.test_client()
    sign_in(outreach, "out@example.org")
    assert outreach.get("/dashboard").status_code == 403
    client = ministry_client(app)
    assert 'href="/dashboard?year=2024&amp;area=1201"' in client.get("/dashboard?year=2024&area=12").get_data(as_text=True)
    commune_level = client.get("/dashboard?year=2024&area=1201&lang=en").get_data(as_text=True)
    assert "<strong id=\"total\">6</strong>" in commune_level
    kampot = ministry_client(app, "kampot@example.org", province="07")
    own = kampot.get("/dashboard?year=2024&lang=en").get_data(as_text=True)
    assert "<strong id=\"total\">4</strong>" in own
    assert kampot.get("/dashboard?year=2024&area=12").status_code == 403
    assert kampot.get("/dashboard/export/by_area.csv?year=2024&area=12").status_code == 403


def test_exports_neutralise_formulas(app, runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = Path(__file__).resolve().parent.parent / "registry" / "indicators" / "misti_indicators.csv"
    text = source.read_text(encoding="utf-8").replace("New factories established", "=HYPERLINK(\"http://x\")")
    (tmp_path / "evil.csv").write_text(text, encoding="utf-8")
    assert runner.invoke(args=["load-indicators", str(tmp_path / "evil.csv")]).exit_code == 0
    client = ministry_client(app)
    body = client.get("/dashboard/export/indicators.csv?year=2024&lang=en").get_data(as_text=True)
    labels = [row[1] for row in csv.reader(io.StringIO(body.lstrip("\ufeff")))]
    assert "'=HYPERLINK(\"http://x\")" in labels
    book = load_workbook(io.BytesIO(client.get("/dashboard/export/indicators.xlsx?year=2024&lang=en").data))
    cells = [c.value for row in book.active.iter_rows() for c in row]
    assert "'=HYPERLINK(\"http://x\")" in cells and 1160181 in cells
    for name in ("by_category", "by_area", "by_month", "by_sector", "by_age_band"):
        assert client.get(f"/dashboard/export/{name}.csv?year=2024").status_code == 200
    assert client.get("/dashboard/export/nothing.csv").status_code == 404
    assert client.get("/dashboard/export/by_day.csv?year=2024").status_code == 404  # only for a period (API since=)


def test_corrections_are_audited_and_bad_values_refused(app, runner) -> None:  # type: ignore[no-untyped-def]
    assert runner.invoke(args=["load-indicators"]).exit_code == 0
    client = ministry_client(app)
    with app.app_context():
        indicator_id = db.session.execute(sa.text("SELECT id FROM indicator WHERE code = 'LAB_ANALYSES' AND year = 2024")).scalar_one()
    url = f"/dashboard/indicators/{indicator_id}?lang=en"
    bad = client.post(url, data={"csrf_token": csrf_token(client, url), "value": "eleven thousand", "note": "typo"})
    assert bad.status_code == 400 and "Not a number" in bad.get_data(as_text=True)
    assert client.post(url, data={"value": "11,020", "note": "no token"}).status_code == 400
    done = client.post(url, data={"csrf_token": csrf_token(client, url), "value": "11,020", "note": "STINL final report"})
    assert done.status_code == 303
    with app.app_context():
        value = db.session.execute(sa.text("SELECT value FROM indicator WHERE id = :i"), {"i": indicator_id}).scalar_one()
        change = db.session.execute(sa.text(
            "SELECT old_value, new_value, note, s.email FROM indicator_change c JOIN staff_user s ON s.id = c.changed_by_id")).one()
    assert value == 11020 and tuple(change) == (11018, 11020, "STINL final report", "minister@example.org")
    assert "STINL final report" in client.get(url).get_data(as_text=True)


def test_only_national_accounts_correct_the_national_indicators(app, runner) -> None:  # type: ignore[no-untyped-def]
    assert runner.invoke(args=["load-indicators"]).exit_code == 0
    with app.app_context():
        indicator_id = db.session.execute(sa.text("SELECT id FROM indicator WHERE code = 'LAB_ANALYSES' AND year = 2024")).scalar_one()
    url = f"/dashboard/indicators/{indicator_id}"
    kampot = ministry_client(app, "kampot@example.org", province="07")
    assert kampot.get(url).status_code == 403
    token = csrf_token(kampot, "/register")
    assert kampot.post(url, data={"csrf_token": token, "value": "1", "note": "try"}).status_code == 403
    assert url not in kampot.get("/dashboard?year=2024&area=07").get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(sa.text("SELECT value FROM indicator WHERE id = :i"), {"i": indicator_id}).scalar_one() == 11018
    national = ministry_client(app)
    assert national.get(url).status_code == 200 and url in national.get("/dashboard?year=2024").get_data(as_text=True)
    make_user(app, "admin@example.org", "admin", province="07")
    admin = app.test_client()
    sign_in(admin, "admin@example.org")
    assert admin.get(url).status_code == 200


def test_pages_open_on_now_with_the_latest_indicators_beside(app, runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from registry import clock

    assert runner.invoke(args=["import-actors", str(december_2024_file(tmp_path)), "--json"]).exit_code == 0
    assert runner.invoke(args=["load-indicators"]).exit_code == 0
    client = ministry_client(app)
    this_year = clock.today().year
    html = client.get("/dashboard?lang=en").get_data(as_text=True)
    assert f"<h1>Dashboard {this_year}</h1>" in html
    assert f"as of {clock.today().isoformat()}" in html  # the registry as of today
    assert "Ministry indicators of 2024, the latest published" in html
    row = html.split('id="indicator-IE_ACTORS_TOTAL"')[1].split("</tr>")[0]
    assert '<td class="num" data-label="2024">1,185</td>' in row  # the 2024 indicator…
    assert re.search(r'<td class="num live"[^>]*>1,185</td>', row)  # …beside the registry as of 31 Dec 2024
    body = client.get("/dashboard/export/indicators.csv?lang=en").get_data(as_text=True)
    assert body.splitlines()[0].split(",")[3:5] == ["2024", "2023"] and "IE_ACTORS_TOTAL" in body
    public = app.test_client().get("/stats?lang=en").get_data(as_text=True)
    assert f'<option value="{this_year}" selected' in public


def test_units_read_in_the_readers_language(app, runner) -> None:  # type: ignore[no-untyped-def]
    assert runner.invoke(args=["load-indicators"]).exit_code == 0
    client = ministry_client(app)
    khmer = client.get("/dashboard?year=2024&lang=km").get_data(as_text=True)
    assert "(count)" not in khmer and "(ចំនួន)" in khmer and "(ប៊ីលានដុល្លារអាមេរិក)" in khmer
    assert "(count)" in client.get("/dashboard?year=2024&lang=en").get_data(as_text=True)
