"""The XLSForm for KoboToolbox and ODK Collect: pyxform turns it into an XForm without errors or
warnings, its rules are the validation core's, and what KoboToolbox and ODK Central export from
it imports with no mapping, through the importer's services and through the upload page."""
from __future__ import annotations

import csv
import io
import re
import shutil
import unicodedata
import warnings
import xml.etree.ElementTree as ET
from datetime import timedelta
from pathlib import Path
from typing import Any, Iterator

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook
from pyxform.xls2xform import convert

from registry import areas, clock, vocab
from registry.actors import fields, validation
from registry.actors.fast_parsing import PHONE_SEPARATORS
from registry.extensions import db
from registry.i18n import KHMER_DIGITS, translate
from registry.imports import xlsform
from registry.imports.models import ImportBatch, ImportProblem
from registry.imports.runner import read_limits, run_import, upload_folder
from registry.imports.services import create_batch
from tests.helpers import upload_file

XF = "{http://www.w3.org/2002/xforms}"


@pytest.fixture(autouse=True)
def _fresh_form() -> Iterator[None]:
    """Each test builds the form from the constants as they are then (one test changes them)."""
    xlsform.xlsform_xlsx.cache_clear()
    yield
    xlsform.xlsform_xlsx.cache_clear()


def xform() -> str:
    problems: list[str] = []
    with warnings.catch_warnings(record=True) as raised:
        warnings.simplefilter("always")
        result = convert(xlsform.xlsform_xlsx(), warnings=problems)
    assert problems == [] and [str(w.message) for w in raised] == []
    return result.xform


def binds(document: str) -> dict[str, dict[str, str]]:
    root = ET.fromstring(document)
    return {bind.get("nodeset", "").rsplit("/", 1)[-1]: dict(bind.attrib) for bind in root.iter(f"{XF}bind")}


def survey() -> dict[str, dict[str, Any]]:
    """The survey sheet's rows by question name."""
    sheet = load_workbook(io.BytesIO(xlsform.xlsform_xlsx()), read_only=True)["survey"]
    rows = [[cell or "" for cell in row] for row in sheet.iter_rows(values_only=True)]
    return {row[rows[0].index("name")]: dict(zip(rows[0], row)) for row in rows[1:]}


# --------------------------------------------------------------------------- the form itself
def test_pyxform_converts_the_form_without_errors_or_warnings() -> None:
    document = xform()
    root = ET.fromstring(document)
    languages = [t.get("lang") for t in root.iter(f"{XF}translation")]
    assert languages == ["Khmer (km)", "English (en)"]
    assert [t.get("default") for t in root.iter(f"{XF}translation")][0] == "true()"
    names = [child.tag.removeprefix(XF) for child in root.find(f".//{XF}instance/{XF}data")]
    assert names == ["start", "end", *fields.NAMES, "consent", "meta"]  # our names, no groups


def test_the_xform_carries_the_cores_rules_and_choices() -> None:
    document = xform()
    bound = binds(document)
    assert bound["workers"]["constraint"] == f". >= {vocab.MIN_WORKERS} and . <= {vocab.MAX_WORKERS}"
    assert bound["workers"]["relevant"].split() == ["/data/category", "=", "'micro_enterprise'"]
    assert bound["business_name"]["required"] == bound["workers"]["required"] == bound["workers"]["relevant"]
    assert bound["national_id"]["constraint"].endswith("'^[0-9]{9}$')") and "required" not in bound["national_id"]
    assert f">= {vocab.MIN_AGE} and" in bound["date_of_birth"]["constraint"]
    assert bound["date_of_birth"]["constraint"].endswith(f"<= {vocab.MAX_AGE}")
    assert bound["registered_on"]["calculate"] == "once(today())"
    assert bound["consent"]["required"] == "true()" and bound["consent"]["constraint"] == ". = 'yes'"
    root = ET.fromstring(document)
    instances = {i.get("id"): i for i in root.iter(f"{XF}instance") if i.get("id")}
    assert set(instances) >= {"category", "gender", "sector", "province", "district", "commune", "yes_no"}
    assert [i.findtext(f"{XF}name") for i in instances["sector"].iter(f"{XF}item")] == list(vocab.SECTORS)
    commune = next(i for i in instances["commune"].iter(f"{XF}item") if i.findtext(f"{XF}name") == "120101")
    assert commune.findtext(f"{XF}district") == "1201"
    district = next(i for i in instances["district"].iter(f"{XF}item") if i.findtext(f"{XF}name") == "0102")
    assert district.findtext(f"{XF}province") == "01"
    assert sum(1 for _ in instances["commune"].iter(f"{XF}item")) == sum(
        len(areas.communes(d.code)) for p in areas.provinces() for d in areas.districts(p.code))
    itemsets = [s.get("nodeset") for s in root.iter(f"{XF}itemset")]
    assert "instance('commune')/root/item[district =  /data/district ]" in itemsets
    assert "instance('district')/root/item[province =  /data/province ]" in itemsets
    # the labels the registration form shows, in both languages
    texts = {(t.get("lang"), x.get("id")): x.findtext(f"{XF}value") for t in root.iter(f"{XF}translation")
             for x in t.iter(f"{XF}text")}
    label = vocab.CATEGORIES["micro_enterprise"]
    assert set(texts.values()) >= {translate(label, "km"), translate(label, "en"), "ភ្នំពេញ", "Phnom Penh"}
    assert texts[("English (en)", "/data/workers:jr:constraintMsg")] == "Must be a whole number from 1 to 10."
    assert texts[("Khmer (km)", "/data/workers:jr:constraintMsg")] == translate(
        "Must be a whole number from %(min)s to %(max)s.", "km", min=1, max=10)


def test_the_settings_sheet_names_the_form_its_version_and_khmer() -> None:
    book = load_workbook(io.BytesIO(xlsform.xlsform_xlsx()), read_only=True)
    assert book.sheetnames == ["survey", "choices", "settings"]
    header, values = list(book["settings"].iter_rows(values_only=True))
    settings = dict(zip(header, values))
    assert settings["form_id"] == xlsform.FORM_ID and settings["default_language"] == "Khmer (km)"
    assert re.fullmatch(r"[0-9a-f]{12}", settings["version"])


def test_every_bound_is_the_validation_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    """A change of a constant of the core is a change of the form, and the core holds it too."""
    before = survey()
    monkeypatch.setattr(vocab, "MAX_WORKERS", 12)
    monkeypatch.setattr(vocab, "MIN_AGE", 16)
    monkeypatch.setattr(vocab, "MAX_AGE", 110)
    monkeypatch.setattr(validation, "NAME_MAX_LENGTH", 80)
    monkeypatch.setattr(validation, "NATIONAL_ID_DIGITS", 10)
    monkeypatch.setattr(validation, "BUSINESS_NAME_MAX_LENGTH", 60)
    xlsform.xlsform_xlsx.cache_clear()
    after = survey()
    assert after["workers"]["constraint"] == ". >= 1 and . <= 12" and validation.parse_workers("12") == 12
    assert "12" in after["workers"]["constraint_message::English (en)"]
    assert f"{xlsform.age_in_years()} >= 16 and" in after["date_of_birth"]["constraint"]
    assert after["date_of_birth"]["constraint"].endswith("<= 110")
    assert "<= 80" in after["full_name"]["constraint"]
    with pytest.raises(validation.Problem):
        validation.parse_full_name("A" * 81)
    assert "{10}" in after["national_id"]["constraint"] and validation.parse_national_id("1234567890")
    assert after["business_name"]["constraint"].endswith("<= 60")
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {"workers", "date_of_birth", "full_name", "national_id", "business_name"}


# --------------------------------------------------------------------------- its patterns = the core's rules
def form_digits(text: str, separators: str) -> str:
    """XPath translate(): Khmer digits as ASCII, separators removed (as the form writes it)."""
    return text.translate(str.maketrans(KHMER_DIGITS, "0123456789", separators))


def form_accepts_phone(text: str) -> bool:
    return re.search(survey_pattern("phone"), form_digits(text, PHONE_SEPARATORS)) is not None


def survey_pattern(name: str) -> str:
    """The regular expression of a question's constraint (its regex() comes last)."""
    return re.search(r"'([^']*)'\)$", survey()[name]["constraint"]).group(1)  # type: ignore[union-attr]


def core_accepts(parser: Any, text: str) -> bool:
    try:
        parser(text)
    except validation.Problem:
        return False
    return True


PHONES = ["012 345 678", "012345678", "+855 12 345 678", "+85512345678", "855 97 123 4567", "097 123 4567",
          "(012) 345-678", "012.345.678", "០១២ ៣៤៥ ៦៧៨", "12 345 678", "088 888 8888", "023 880 123",
          "1800 201 234", "0 12 345 678"]
NOT_PHONES = ["1", "012 345", "0012 345 678", "+66 81 234 5678", "023 123 456", "012 345 678 99", "abc", "+855",
              "00855 12 345 678"]


@pytest.mark.parametrize("text", PHONES + NOT_PHONES)
def test_the_phone_pattern_accepts_what_the_core_accepts(text: str) -> None:
    """Nothing the form lets through is refused on import; the common shapes pass both."""
    assert form_accepts_phone(text) == core_accepts(validation.parse_phone, text), text
    assert (text in PHONES) == core_accepts(validation.parse_phone, text), text


def test_the_national_id_pattern_is_the_cores() -> None:
    pattern = survey_pattern("national_id")
    for text in ("123456789", "123 456 789", "123-456-789", "១២៣៤៥៦៧៨៩", "12345678", "1234567890", "12345678a"):
        assert (re.search(pattern, form_digits(text, " -")) is not None) == core_accepts(validation.parse_national_id, text)


def test_the_name_pattern_refuses_the_characters_the_core_refuses() -> None:
    """Every character the Latin and Khmer keyboards type, in a name: the form's verdict is the core's."""
    pattern = survey_pattern("full_name")
    checked = 0
    for low, high in xlsform.KEYBOARD_RANGES:
        for point in range(low, high + 1):
            char = chr(point)
            if unicodedata.category(char)[0] in "CZ":
                continue  # spaces are tidied and invisible characters dropped by the core: nothing to refuse
            name = f"Sok{char}Dara"
            assert (re.search(pattern, name) is not None) == core_accepts(validation.parse_full_name, name), hex(point)
            checked += 1
    assert checked > 400
    assert re.search(pattern, "សុខ ដារ៉ា") and re.search(pattern, "O'Neil Dara-Sok") and not re.search(pattern, "Sok 4")


# --------------------------------------------------------------------------- its exports import with no mapping
def submissions() -> list[dict[str, str]]:
    """People collected with the form, as its exports write them (codes, ISO dates), every
    category, Khmer and Latin names, places spread over the country."""
    today = clock.today()
    people = [
        ("employee", "សុខ ដារ៉ា", "female", "1990-01-25", "", "012 345 678", "trade", "", ""),
        ("micro_enterprise", "Chan Sophal", "male", "1985-06-30", "123456789", "+855 97 123 4567", "food_service",
         "ហាងគុយទាវ Sophal", "3"),
        ("self_employed", "ស្រី ពៅ", "female", "2000-12-31", "", "088 888 8888", "personal_services", "", ""),
        ("micro_enterprise", "O'Neil Dara", "male", "1970-03-01", "987 654 321", "855 12 777 888", "repair",
         "Dara Repair", str(vocab.MAX_WORKERS)),
        ("self_employed", "Keo Mony", "female", "1960-07-15", "", "097 765 4321", "agriculture", "", ""),
        ("employee", "ម៉ី ស្រីនិច", "female", "2004-02-29", "", "០១២ ៧៧៧ ៨៨៨", "domestic_work", "", ""),
        ("micro_enterprise", "ហេង សុភា", "male", "1995-11-11", "", "016 222 333", "manufacturing",
         "រោងជាងដេរ ហេង", str(vocab.MIN_WORKERS)),
    ]
    rows = []
    for n, (category, name, gender, born, national_id, phone, sector, business, workers) in enumerate(people):
        province = areas.provinces()[n * 4 % 25]
        district = areas.districts(province.code)[-1]
        commune = areas.communes(district.code)[-1]
        rows.append({
            "category": category, "full_name": name, "gender": gender, "date_of_birth": born,
            "national_id": national_id, "phone": phone, "province": province.code, "district": district.code,
            "commune": commune.code, "sector": sector, "business_name": business, "workers": workers,
            "registered_on": (today - timedelta(days=n)).isoformat(), "consent": "yes",
        })
    return rows


def kobo_rows() -> tuple[list[str], list[list[Any]]]:
    """KoboToolbox's export shape (formpack): start and end, the questions, then its metadata."""
    meta = ["_id", "_uuid", "_submission_time", "_validation_status", "_notes", "_status", "_submitted_by",
            "__version__", "_tags", "_index"]
    header = ["start", "end", *fields.NAMES, "consent", *meta]
    rows = []
    for n, person in enumerate(submissions(), start=1):
        day = person["registered_on"]
        rows.append([f"{day}T09:{n:02d}:00.000+07:00", f"{day}T09:{n + 5:02d}:00.000+07:00",
                     *(person[name] for name in fields.NAMES), person["consent"],
                     1000 + n, f"5f0c2a6e-0000-4000-8000-{n:012d}", f"{day}T02:{n + 6:02d}:00", "", "",
                     "submitted_via_web", "outreach_kh", "vS5ho6mMbrGCTGJVxCq2Kw", "", n])
    return header, rows


def kobo_csv(path: Path) -> Path:
    header, rows = kobo_rows()
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        writer.writerows([header, *rows])
    return path


def kobo_xlsx(path: Path) -> Path:
    header, rows = kobo_rows()
    book = Workbook()
    sheet = book.active
    sheet.title = xlsform.form_title()[:31]  # KoboToolbox names the sheet after the form
    sheet.append(header)
    for row in rows:
        workers = header.index("workers")
        sheet.append([int(cell) if i == workers and cell else cell for i, cell in enumerate(row)])  # a number cell
    book.save(path)
    return path


def odk_central_csv(path: Path) -> Path:
    """ODK Central's CSV export: SubmissionDate first, the fields, its metadata after them."""
    header = ["SubmissionDate", "start", "end", *fields.NAMES, "consent", "meta-instanceID", "KEY", "SubmitterID",
              "SubmitterName", "AttachmentsPresent", "AttachmentsExpected", "Status", "ReviewState", "DeviceID",
              "Edits", "FormVersion"]
    rows = []
    for n, person in enumerate(submissions(), start=1):
        day, instance = person["registered_on"], f"uuid:7d3c1f7a-0000-4000-8000-{n:012d}"
        rows.append([f"{day}T02:{n:02d}:00.000Z", f"{day}T09:00:00.000+07:00", f"{day}T09:10:00.000+07:00",
                     *(person[name] for name in fields.NAMES), person["consent"], instance, instance, "7",
                     "outreach-phone-3", "0", "0", "", "approved", "collect:Xy12ab34", "0", "0e6f1c2a9b3d"])
    with path.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out, lineterminator="\n").writerows([header, *rows])
    return path


EXPORTS = {"kobo.csv": kobo_csv, "odk-central.csv": odk_central_csv, "kobo.xlsx": kobo_xlsx}


def stored_people(app) -> list[tuple[Any, ...]]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return sorted(tuple(r) for r in db.session.execute(sa.text(
            "SELECT full_name, category, phone, commune_code, workers, registered_on FROM actor")).all())


def expected_people() -> list[tuple[Any, ...]]:
    people = []
    for person in submissions():
        people.append((person["full_name"], person["category"], validation.parse_phone(person["phone"]),
                       person["commune"], int(person["workers"]) if person["workers"] else None,
                       person["registered_on"]))
    return sorted(people)


def same_people(app) -> None:  # type: ignore[no-untyped-def]
    found = [(*row[:5], str(row[5])[:10]) for row in stored_people(app)]
    assert found == expected_people()


def test_the_submissions_pass_the_forms_own_checks() -> None:
    names = survey_pattern("full_name")
    for person in submissions():
        assert form_accepts_phone(person["phone"]) and re.search(names, person["full_name"])


@pytest.mark.parametrize("name", list(EXPORTS))
def test_an_export_imports_every_row_through_the_services(app, tmp_path: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    path = EXPORTS[name](tmp_path / name)
    with app.app_context():
        stored = upload_folder() / f"stored-{name}"
        shutil.copyfile(path, stored)
        batch = create_batch(db.session, stored, name, uploaded_by_id=None, province_code=None, now=clock.now(),
                             limits=read_limits())
        db.session.commit()
        batch = run_import(db.session, batch.id)
        assert (batch.status, batch.rows, batch.imported, batch.duplicates, batch.rejected) == (
            "done", len(submissions()), len(submissions()), 0, 0)
        assert not batch.unknown_columns  # the consent question and the tools' columns are recognised
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ImportProblem)) == 0
    same_people(app)


@pytest.mark.parametrize("name", list(EXPORTS))
def test_an_export_imports_every_row_through_the_upload_page(outreach, app, tmp_path: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    response = upload_file(outreach, EXPORTS[name](tmp_path / name))
    assert response.status_code == 303, response.get_data(as_text=True)
    for thread in app.extensions.get("registry.import_threads", []):
        thread.join(timeout=60)
    with app.app_context():
        batch = db.session.scalars(sa.select(ImportBatch)).one()
        assert (batch.status, batch.imported, batch.duplicates, batch.rejected) == ("done", len(submissions()), 0, 0)
    same_people(app)


# --------------------------------------------------------------------------- the download
def test_staff_who_import_download_the_form_from_the_imports_page(outreach, client) -> None:  # type: ignore[no-untyped-def]
    page = outreach.get("/staff/imports").get_data(as_text=True)
    assert 'href="/staff/imports/form.xlsx"' in page
    response = outreach.get("/staff/imports/form.xlsx")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="registry-form.xlsx"'
    assert response.get_data() == xlsform.xlsform_xlsx()
    assert client.get("/staff/imports/form.xlsx").status_code in (302, 303, 401, 403)
