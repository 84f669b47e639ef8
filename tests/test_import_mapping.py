"""The mapping step: a file with a form's own column names and words is matched once by staff,
saved, and proposed (never applied unconfirmed) for the next file with the same header."""
from __future__ import annotations

import json
import re
from pathlib import Path

import sqlalchemy as sa

from registry.extensions import db
from tests.helpers import csrf_token, make_user, sign_in
from tests.import_files import HEADER, good, write_csv
from tests.test_import_web import upload, wait_until_done

# A field tool's own wording: its column names, and its words for category and gender.
FOREIGN = ["Worker type", "Name", "Sex", "Born", "ID card", "Mobile", "Province", "District", "Commune",
           "Line of work", "Shop", "Staff", "Date"]
WORDS = {"self_employed": "Street vendor", "micro_enterprise": "Small shop owner"}
SEX = {"female": "F", "male": "M"}


def template_rows() -> list[list[str]]:
    rows = [good(n) for n in range(1, 5)]
    rows.append(good(5, category="micro_enterprise", business_name="Noodle shop", workers="3", gender="male"))
    return rows


def foreign_rows() -> list[list[str]]:
    out = []
    for row in template_rows():
        cells = dict(zip(HEADER, row))
        cells["category"] = WORDS[cells["category"]]
        cells["gender"] = SEX[cells["gender"]]
        out.append([cells[h] for h in HEADER])
    return out


CHOICES = dict(zip(FOREIGN, HEADER))


def selected(page: str, name: str) -> str | None:
    """The option the page pre-selects in select `name`."""
    found = re.search(rf'<select id="[^"]+" name="{name}"[^>]*>(.*?)</select>', page, re.S)
    chosen = re.search(r'<option value="([^"]*)"[^>]* selected', found.group(1)) if found else None
    return chosen.group(1) if chosen else None


def people(app) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return sorted(db.session.execute(sa.text("SELECT full_name, category, gender FROM actor")).all())


def mapping_form(client, location: str, *, name: str = "", scope: str = "") -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Staff's choices: every column as CHOICES says; then, on the page that shows the values
    of the column chosen for category (no script: the page is sent again), each its code."""
    form = {"csrf_token": csrf_token(client, location)}
    for i, cell in enumerate(FOREIGN):
        form[f"column-{i}"] = CHOICES[cell]
    page = client.post(location, data=form).get_data(as_text=True)
    assert "Check the values of the columns you chose" in page
    for field in ("category", "gender", "sector"):
        found = re.search(rf'name="shown-{field}" value="(\d+)"', page)
        if found:
            form[f"shown-{field}"] = found.group(1)
    for k, word in enumerate(re.findall(r'name="value-category-\d+" value="([^"]+)"', page)):
        form[f"value-category-{k}"] = word
        form[f"code-category-{k}"] = {v: c for c, v in WORDS.items()}[word]
    if name:
        form["save_name"], form["save_scope"] = name, scope
    return form


def test_a_foreign_file_is_matched_once_saved_and_proposed_for_the_next(app, runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "kandal@example.org", "outreach", "08")
    make_user(app, "pp@example.org", "outreach", "12")
    kandal, pp = app.test_client(), app.test_client()
    sign_in(kandal, "kandal@example.org")
    sign_in(pp, "pp@example.org")
    pp.get("/staff/imports?lang=en")
    kandal.get("/staff/imports?lang=en")
    path = write_csv(tmp_path / "kobo.csv", foreign_rows(), FOREIGN)

    # The upload goes to the mapping page, with the columns and proposals shown.
    response = upload(pp, path)
    assert response.status_code == 303 and response.headers["Location"].endswith("/mapping")
    location = response.headers["Location"]
    page = pp.get(location).get_data(as_text=True)
    assert "Worker type" in page and "Street vendor · Small shop owner" in page
    assert selected(page, "column-2") == "gender"  # "Sex": F, M
    assert selected(page, "column-1") == "full_name"  # "Name": our label
    assert selected(page, "column-0") == "ignore"  # "Worker type": nothing guessed
    assert "first 20,000 rows" in page
    assert people(app) == []  # nothing imported before staff confirm

    # Confirmed and saved for the province: the same people as the template file.
    response = pp.post(location, data=mapping_form(pp, location, name="Kobo market survey", scope="12"))
    assert response.status_code == 303, response.get_data(as_text=True)
    assert wait_until_done(pp, response.headers["Location"])["imported"] == 5
    imported = people(app)
    with app.app_context():
        batch = db.session.execute(sa.text("SELECT mapping_id, mapping_applied FROM import_batch")).one()
        saved = db.session.execute(sa.text("SELECT id, name, scope, created_by_id FROM import_mapping")).one()
        kinds = [k for (k,) in db.session.execute(sa.text("SELECT kind FROM event WHERE kind LIKE 'import_mapping%' ORDER BY id"))]
        details = " ".join(str(d) for (d,) in db.session.execute(sa.text("SELECT detail FROM event")))
    assert batch[0] == saved[0] and saved[1:3] == ("Kobo market survey", "12")
    assert kinds == ["import_mapping_saved", "import_mapping_applied"]
    assert "Person" not in details and "012" not in details  # no personal data in events
    template = tmp_path / "template.csv"
    write_csv(template, template_rows())
    with app.app_context():
        db.session.execute(sa.text("DELETE FROM actor_tally"))
    assert imported == sorted(imported) and {c for _, c, _ in imported} == {"self_employed", "micro_enterprise"}
    assert {g for _, _, g in imported} == {"female", "male"}

    # The next file with the same header: the saved mapping proposed, pre-filled; applied after
    # one confirm; another province's officer does not see it.
    second = write_csv(tmp_path / "kobo2.csv", [good(n, category="self_employed") for n in range(40, 42)], HEADER)
    rows = []
    for row in [good(n) for n in range(40, 43)]:
        cells = dict(zip(HEADER, row))
        cells["category"], cells["gender"] = "Street vendor", "F"
        rows.append([cells[h] for h in HEADER])
    second = write_csv(tmp_path / "kobo2.csv", rows, FOREIGN)
    other = upload(kandal, second)
    other_page = kandal.get(other.headers["Location"]).get_data(as_text=True)
    assert "Kobo market survey" not in other_page
    response = upload(pp, second)
    location = response.headers["Location"]
    page = pp.get(location).get_data(as_text=True)
    assert "Kobo market survey" in page
    assert selected(page, "column-0") == "category" and selected(page, "column-10") == "business_name"
    assert selected(page, "code-category-0") == "self_employed"
    # An unconfirmed proposal is not applied: the batch waits, nothing stored.
    batch_id = int(location.split("/")[-2])
    assert pp.get(f"/staff/imports/{batch_id}/progress").get_json()["status"] == "mapping"
    assert len(people(app)) == 5
    # One click: the form as the page filled it in.
    form = {"csrf_token": csrf_token(pp, location)}
    form.update(dict(re.findall(r'<input type="hidden" name="((?:value|shown|use)[^"]*)" value="([^"]*)"', page)))
    for name, value in re.findall(r'<select id="[^"]+" name="([^"]+)"[^>]*>.*?<option value="([^"]*)"[^>]* selected', page, re.S):
        form[name] = value
    response = pp.post(location, data=form)
    assert response.status_code == 303, response.get_data(as_text=True)
    assert wait_until_done(pp, response.headers["Location"])["imported"] == 3
    with app.app_context():
        applied = db.session.execute(sa.text("SELECT mapping_id FROM import_batch WHERE id = :i"), {"i": batch_id}).scalar()
    assert applied == saved[0]


def test_missing_required_columns_after_the_mapping_are_named(outreach, app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    outreach.get("/staff/imports?lang=en")
    path = write_csv(tmp_path / "f.csv", foreign_rows(), FOREIGN)
    location = upload(outreach, path).headers["Location"]
    form = mapping_form(outreach, location)
    form["column-5"] = "ignore"  # no phone
    response = outreach.post(location, data=form)
    assert response.status_code == 422
    assert "no column phone" in response.get_data(as_text=True)
    assert people(app) == []


def test_the_cli_takes_a_saved_mapping_or_a_mapping_file(app, runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_csv(tmp_path / "kobo.csv", foreign_rows(), FOREIGN)
    result = runner.invoke(args=["import-actors", str(path)])
    assert result.exit_code != 0
    assert "no column for: category" in result.output and "Worker type" in result.output
    mapping = {"columns": CHOICES, "values": {"category": {v: c for c, v in WORDS.items()}}}
    mapping_file = tmp_path / "mapping.json"
    mapping_file.write_text(json.dumps(mapping), encoding="utf-8")
    result = runner.invoke(args=["import-actors", str(path), "--mapping-file", str(mapping_file), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.splitlines()[-1])["imported"] == 5

    # Saved through the service, then named on the command line (the --by account must see it).
    from registry import clock
    from registry.imports.mapping_rules import parse_mapping
    from registry.imports.mappings import save_mapping

    make_user(app, "kandal@example.org", "outreach", "08")
    with app.app_context():
        save_mapping(db.session, parse_mapping(mapping), name="kobo", scope=None, header=FOREIGN, by_id=None,
                     role="admin", province_code=None, now=clock.now())
        db.session.commit()
    again = write_csv(tmp_path / "kobo2.csv", foreign_rows()[:1], FOREIGN)
    result = runner.invoke(args=["import-actors", str(again)])
    assert "saved mappings for this header: kobo" in result.output
    result = runner.invoke(args=["import-actors", str(again), "--mapping", "kobo", "--json"])
    assert result.exit_code == 0, result.output
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"columns": {"Worker type": "job"}}), encoding="utf-8")
    result = runner.invoke(args=["import-actors", str(path), "--mapping-file", str(bad)])
    assert result.exit_code != 0 and "“job” is not one of our fields" in result.output


def test_a_slip_in_a_coded_value_stays_a_row_problem(outreach, app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rows = [good(n) for n in range(1, 11)] + [good(11, gender="x"), good(12, sector="mining")]
    response = upload(outreach, write_csv(tmp_path / "slip.csv", rows))
    assert not response.headers["Location"].endswith("/mapping")  # a value in a row or two: no mapping step
    progress = wait_until_done(outreach, response.headers["Location"])
    assert (progress["imported"], progress["rejected"]) == (10, 2)


def test_scopes_of_saved_mappings_and_their_list_page(app, runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "pp@example.org", "outreach", "12")
    make_user(app, "pp2@example.org", "outreach", "12")
    make_user(app, "kandal@example.org", "outreach", "08")
    make_user(app, "admin@example.org", "admin")
    clients = {}
    for email in ("pp", "pp2", "kandal", "admin"):
        clients[email] = app.test_client()
        sign_in(clients[email], f"{email}@example.org")
        clients[email].get("/staff/imports?lang=en")
    pp = clients["pp"]
    location = upload(pp, write_csv(tmp_path / "f.csv", foreign_rows(), FOREIGN)).headers["Location"]
    # A province's officer saves for that province only.
    refused = pp.post(location, data=mapping_form(pp, location, name="market", scope="everyone"))
    assert refused.status_code == 422 and "for province 12 only" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(sa.text("SELECT count(*) FROM import_mapping")).scalar() == 0
        assert db.session.execute(sa.text("SELECT count(*) FROM actor")).scalar() == 0
    assert pp.post(location, data=mapping_form(pp, location, name="market", scope="12")).status_code == 303
    with app.app_context():
        mapping_id = db.session.execute(sa.text("SELECT id FROM import_mapping")).scalar()
    assert "market" in pp.get("/staff/imports/mappings").get_data(as_text=True)
    assert "market" in clients["admin"].get("/staff/imports/mappings").get_data(as_text=True)
    assert "market" not in clients["kandal"].get("/staff/imports/mappings").get_data(as_text=True)
    # On the command line too: a saved mapping is one the --by account sees.
    path = write_csv(tmp_path / "g.csv", foreign_rows()[:1], FOREIGN)
    result = runner.invoke(args=["import-actors", str(path), "--mapping", "market", "--by", "kandal@example.org"])
    assert result.exit_code != 0 and "no saved mapping “market” visible" in result.output
    # Deleted by its author or an admin; another officer of the province may not; another province's sees none.
    delete = f"/staff/imports/mappings/{mapping_id}/delete"
    assert clients["kandal"].post(delete, data={"csrf_token": csrf_token(clients["kandal"], "/staff/imports/mappings")}).status_code == 404
    assert clients["pp2"].post(delete, data={"csrf_token": csrf_token(clients["pp2"], "/staff/imports/mappings")}).status_code == 403
    assert pp.post(delete, data={"csrf_token": csrf_token(pp, "/staff/imports/mappings")}).status_code == 303
    with app.app_context():
        assert db.session.execute(sa.text("SELECT count(*) FROM import_mapping")).scalar() == 0
        assert db.session.execute(sa.text("SELECT mapping_id FROM import_batch")).scalar() is None  # the snapshot stays
        assert db.session.execute(sa.text("SELECT mapping_applied FROM import_batch")).scalar() is not None
