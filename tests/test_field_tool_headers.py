"""Exports of KoboToolbox and ODK Central import as our template does: group prefixes, the
tools' metadata columns, our question labels in Khmer and English as headers, our
vocabularies' labels as values; the submission id recognises a re-export of the same
submissions, whatever was edited in it since. The same people come from every shape the
issue names: Kobo's ';' CSV, ODK Central's CSV and its .csv.zip, Kobo's XLSX with Khmer
question labels, and Kobo's export saved as XLS and as ODS (read from the main sheet, not a
repeat group's)."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from registry import vocab
from registry.actors import fields
from registry.actors.numbers import format_number
from registry.actors.validation import parse_category, parse_gender, parse_sector
from registry.extensions import db
from registry.i18n import LOCALES, catalog
from registry.imports.errors import UnusableFile
from registry.imports.headers import SOURCE_REF, columns_of, field_of, tool_columns
from registry.imports.submissions import source_reference
from tests.helpers import upload_file
from tests.import_files import HEADER, good, write_csv_zip, write_ods, write_xls

# Four people as the template holds them: codes, ISO dates.
PEOPLE = [
    dict(zip(HEADER, good(1, full_name="សុខ ដារ៉ា"))),
    dict(zip(HEADER, good(2, full_name="Chan Sophal", gender="male", sector="transport"))),
    dict(zip(HEADER, good(3, category="micro_enterprise", business_name="Noodle shop; Psar Thmei", workers="3",
                          sector="food_service"))),
    dict(zip(HEADER, good(4, full_name="Keo Mony", category="employee", national_id="123 456 789"))),
]
UUIDS = ["6f1c0a52-3b7e-4c1a-9d0e-1a2b3c4d5e01", "6f1c0a52-3b7e-4c1a-9d0e-1a2b3c4d5e02",
         "6f1c0a52-3b7e-4c1a-9d0e-1a2b3c4d5e03", "6f1c0a52-3b7e-4c1a-9d0e-1a2b3c4d5e04"]
GROUP = {"category": "work", "sector": "work", "business_name": "work", "workers": "work",
         "province": "place", "district": "place", "commune": "place"}  # everything else: "person"
# Kobo puts each repeat group on a sheet of its own: the main sheet is the one with our fields.
REPEAT = (("household", [["_parent_index", "member_name", "_index"], ["1", "Dara", "1"]]),)
LABELLED = {"category": vocab.CATEGORIES, "gender": vocab.GENDERS, "sector": vocab.SECTORS}


def label(name: str, value: str, locale: str) -> str:
    """The value as a label export writes it: the choice's label in `locale`."""
    return catalog(locale).ugettext(LABELLED[name][value]) if name in LABELLED else value


def text_file(path: Path, rows: list[list[str]], delimiter: str = ",", encoding: str = "utf-8") -> Path:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    path.write_bytes(out.getvalue().encode(encoding))
    return path


def template_csv(path: Path) -> Path:
    return text_file(path, [HEADER, *([p[h] for h in HEADER] for p in PEOPLE)], encoding="utf-8-sig")


def kobo_rows(people: list[dict[str, str]] = PEOPLE, uuids: list[str] = UUIDS) -> list[list[str]]:
    """KoboToolbox's export: `group/field` headers, English labels as values, its metadata
    columns before and after the questions (the header first)."""
    header = ["start", "end", "today", "deviceid", *(f"{GROUP.get(h, 'person')}/{h}" for h in HEADER),
              "meta/instanceID", "_id", "_uuid", "_submission_time", "_validation_status", "_notes", "_status",
              "_submitted_by", "__version__", "_tags", "_index"]
    rows = [header]
    for index, (person, uuid) in enumerate(zip(people, uuids), start=1):
        rows.append(["2026-12-01T09:00:00.000+07:00", "2026-12-01T09:05:00.000+07:00", "2026-12-01",
                     "collect:abc123", *(label(h, person[h], "en") for h in HEADER), f"uuid:{uuid}", str(1000 + index),
                     uuid, "2026-12-01T02:06:00", "", "", "submitted_via_web", "outreach1", "vGq8pX", "", str(index)])
    return rows


def kobo_csv(path: Path, people: list[dict[str, str]] = PEOPLE, uuids: list[str] = UUIDS) -> Path:
    """KoboToolbox's CSV export: ';' separated."""
    return text_file(path, kobo_rows(people, uuids), delimiter=";", encoding="utf-8-sig")


def kobo_xls(path: Path) -> Path:
    """KoboToolbox's export saved as Excel 97-2003, a repeat group's sheet after the main one."""
    header, *rows = kobo_rows()
    return write_xls(path, rows, header, name="registration", sheets=REPEAT)


def kobo_ods(path: Path) -> Path:
    """KoboToolbox's export opened and saved by LibreOffice, the repeat group's sheet first."""
    header, *rows = kobo_rows()
    return write_ods(path, rows, header, name="registration", sheets=REPEAT)


def odk_central_rows() -> list[list[str]]:
    """ODK Central's export: `group-field` names, codes as values, `uuid:` instance ids."""
    header = ["SubmissionDate", *(f"{GROUP.get(h, 'person')}-{h}" for h in HEADER), "meta-instanceID", "KEY",
              "SubmitterID", "SubmitterName", "AttachmentsPresent", "AttachmentsExpected", "Status", "ReviewState",
              "DeviceID", "Edits", "FormVersion"]
    rows = [header]
    for person, uuid in zip(PEOPLE, UUIDS):
        rows.append(["2026-12-01T02:06:00.000Z", *(person[h] for h in HEADER), f"uuid:{uuid}", f"uuid:{uuid}",
                     "5", "outreach1", "0", "0", "", "", "collect:abc123", "0", "2026120101"])
    return rows


def odk_central_csv(path: Path) -> Path:
    return text_file(path, odk_central_rows())


def odk_central_csv_zip(path: Path) -> Path:
    """ODK Central's download: the CSV export inside a zip."""
    header, *rows = odk_central_rows()
    return write_csv_zip(path, rows, header, inside="registration.csv")


def kobo_khmer_xlsx(path: Path) -> Path:
    """A KoboToolbox XLSX export with Khmer question labels (and group labels) as headers and
    Khmer choice labels as values."""
    km = catalog("km").ugettext
    book = Workbook()
    sheet = book.active
    sheet.append(["start", *(f"ព័ត៌មាន/{km(fields.LABELS[h])}" for h in HEADER), "_id", "_uuid", "_submission_time", "_index"])
    for index, (person, uuid) in enumerate(zip(PEOPLE, UUIDS), start=1):
        sheet.append(["2026-12-01T09:00:00", *(label(h, person[h], "km") for h in HEADER), 1000 + index, uuid,
                      "2026-12-01T02:06:00", index])
    book.save(path)
    return path


def run_import(runner, path: Path, *args: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    result = runner.invoke(args=["import-actors", str(path), "--json", *args])
    assert result.exit_code == 0, result.output
    return {**json.loads(result.output.strip().splitlines()[-1]), "output": result.output}


def stored(app) -> list[tuple]:  # type: ignore[no-untyped-def,type-arg]
    with app.app_context():
        return [tuple(r) for r in db.session.execute(sa.text(
            "SELECT full_name, category, gender, date_of_birth, national_id, phone, commune_code, sector,"
            " business_name, workers, registered_on FROM actor ORDER BY source_row")).all()]


def references(app) -> list[str | None]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return list(db.session.scalars(sa.text("SELECT source_ref FROM actor ORDER BY source_row")))


@pytest.fixture
def from_template(runner, app, tmp_path: Path) -> list[tuple]:  # type: ignore[no-untyped-def,type-arg]
    """The people as the template CSV gives them (then gone again, for the next file)."""
    assert run_import(runner, template_csv(tmp_path / "template.csv"))["imported"] == len(PEOPLE)
    people = stored(app)
    with app.app_context():
        db.session.execute(sa.text("DELETE FROM actor"))
        db.session.commit()
    return people


def newest(app) -> list[tuple]:  # type: ignore[no-untyped-def,type-arg]
    """The people of the last batch."""
    with app.app_context():
        return [tuple(r) for r in db.session.execute(sa.text(
            "SELECT full_name, category, gender, date_of_birth, national_id, phone, commune_code, sector,"
            " business_name, workers, registered_on FROM actor"
            " WHERE import_batch_id = (SELECT max(id) FROM import_batch) ORDER BY source_row")).all()]


SHAPES = {"kobo.csv": kobo_csv, "odk-central.csv": odk_central_csv, "kobo-khmer-labels.xlsx": kobo_khmer_xlsx,
          "odk-central.csv.zip": odk_central_csv_zip, "kobo.xls": kobo_xls, "kobo.ods": kobo_ods}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_a_field_tool_export_imports_the_same_people_as_the_template(runner, app, tmp_path: Path, from_template,  # type: ignore[no-untyped-def]
                                                                     shape: str) -> None:
    summary = run_import(runner, SHAPES[shape](tmp_path / shape))
    assert (summary["imported"], summary["duplicates"], summary["rejected"]) == (len(PEOPLE), 0, 0)
    assert newest(app) == from_template
    assert "Ignored columns" not in summary["output"]  # the metadata columns are recognised
    assert "Field tool columns (recognised, not stored): " in summary["output"]
    with app.app_context():
        refs = list(db.session.scalars(sa.text(
            "SELECT source_ref FROM actor WHERE import_batch_id = (SELECT max(id) FROM import_batch) ORDER BY source_row")))
    assert refs == UUIDS  # 'uuid:' prefix gone, lower case
    if shape.endswith((".xls", ".ods")):
        assert summary["sheet"] == "registration"  # not the repeat group's sheet


def test_a_re_export_with_an_edited_value_is_a_duplicate_naming_the_registration(runner, app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    first = run_import(runner, kobo_csv(tmp_path / "first.csv"))
    assert first["imported"] == len(PEOPLE)
    with app.app_context():
        numbers = dict(db.session.execute(sa.text("SELECT source_ref, registration_number FROM actor")).all())
        before = db.session.execute(sa.text("SELECT count(*) FROM actor")).scalar_one()
    edited = [dict(p) for p in PEOPLE]
    edited[1]["full_name"] = "Chan Sophal Edited"  # a new person by every identity rule
    edited[2]["phone"] = "not a phone"  # no longer valid
    report = tmp_path / "report.csv"
    again = run_import(runner, kobo_csv(tmp_path / "again.csv", edited), "--errors", str(report), "--lang", "en")
    assert (again["imported"], again["duplicates"], again["rejected"]) == (0, len(PEOPLE), 0)
    with app.app_context():
        assert db.session.execute(sa.text("SELECT count(*) FROM actor")).scalar_one() == before
        assert db.session.execute(sa.text("SELECT count(*) FROM actor WHERE full_name = 'Chan Sophal Edited'")).scalar_one() == 0
    with report.open(encoding="utf-8-sig", newline="") as fh:
        lines = {int(line["row"]): line for line in csv.DictReader(fh)}
    assert set(lines) == {2, 3, 4, 5}
    for row, uuid in zip((2, 3, 4, 5), UUIDS):
        assert lines[row]["outcome"] == "duplicate"
        assert lines[row]["errors"] == (f"This submission was already imported as registration "
                                        f"{format_number(numbers[uuid])}; corrections go through the record page.")


def test_the_same_submission_twice_in_a_file_is_a_repeat_of_its_first_row(runner, app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    twice = [PEOPLE[0], dict(PEOPLE[1]), PEOPLE[2], dict(PEOPLE[1], full_name="Chan Sophal Again")]
    report = tmp_path / "report.csv"
    summary = run_import(runner, kobo_csv(tmp_path / "twice.csv", twice, [UUIDS[0], UUIDS[1], UUIDS[2], UUIDS[1]]),
                         "--errors", str(report), "--lang", "en")
    assert (summary["imported"], summary["duplicates"]) == (3, 1)
    with report.open(encoding="utf-8-sig", newline="") as fh:
        assert [(line["row"], line["errors"]) for line in csv.DictReader(fh)] == [("5", "Repeat of row 3 of this file.")]


def test_the_same_submission_in_a_later_chunk_is_a_repeat_too(runner, app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    app.config["IMPORT_CHUNK_ROWS"] = 2
    twice = [*PEOPLE, dict(PEOPLE[0], full_name="Sok Dara Again")]
    report = tmp_path / "report.csv"
    summary = run_import(runner, kobo_csv(tmp_path / "later.csv", twice, [*UUIDS, UUIDS[0]]), "--errors", str(report), "--lang", "en")
    assert (summary["imported"], summary["duplicates"]) == (4, 1)
    with report.open(encoding="utf-8-sig", newline="") as fh:
        assert [(line["row"], line["errors"]) for line in csv.DictReader(fh)] == [("6", "Repeat of row 2 of this file.")]


def test_a_submission_id_that_no_field_tool_writes_rejects_its_row(runner, app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    report = tmp_path / "report.csv"
    summary = run_import(runner, kobo_csv(tmp_path / "bad.csv", PEOPLE[:2], [UUIDS[0], "<script>alert(1)</script>"]),
                         "--errors", str(report), "--lang", "en")
    assert (summary["imported"], summary["rejected"]) == (1, 1)
    with report.open(encoding="utf-8-sig", newline="") as fh:
        assert "is not one a field tool writes" in next(csv.DictReader(fh))["errors"]
    assert references(app) == [UUIDS[0]]


def test_a_file_without_submission_ids_stores_none(runner, app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run_import(runner, template_csv(tmp_path / "template.csv"))
    assert references(app) == [None] * len(PEOPLE)


def test_erasure_clears_the_submission_id(runner, app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from datetime import date

    from registry.actors import lifecycle
    from registry.actors.erasure import erase
    from registry.actors.models import Actor

    run_import(runner, kobo_csv(tmp_path / "kobo.csv"))
    now = datetime(2026, 12, 2, 3, 0, tzinfo=timezone.utc)
    with app.app_context():
        actor = db.session.scalars(sa.select(Actor).where(Actor.source_ref == UUIDS[0])).one()
        lifecycle.deactivate(db.session, actor, "consent_withdrawn", date(2026, 12, 1), None, now=now)
        erase(db.session, actor, now=now)
        db.session.commit()
        assert db.session.get(Actor, actor.id).source_ref is None
        events = db.session.execute(sa.text("SELECT detail FROM event")).scalars().all()
    assert not any(uuid in json.dumps(detail) for detail in events for uuid in UUIDS)


def test_the_batch_page_shows_field_tool_columns_as_recognised(outreach, app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    response = upload_file(outreach, odk_central_csv(tmp_path / "central.csv"))
    assert response.status_code == 303
    for thread in app.extensions.get("registry.import_threads", []):
        thread.join(timeout=60)
    page = outreach.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="tool-columns"' in page and "meta-instanceID" in page and "ReviewState" in page
    assert "Columns ignored" not in page and "ជួរឈរដែលមិនត្រូវបានយកមកប្រើ" not in page


def test_a_field_named_twice_is_refused_with_both_columns(outreach, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    header = [*HEADER, "ព័ត៌មាន/ថ្ងៃខែឆ្នាំកំណើត"]
    response = upload_file(outreach, text_file(tmp_path / "twice.csv", [header, good(1) + ["1990-01-25"]]))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "date_of_birth" in page and "ព័ត៌មាន/ថ្ងៃខែឆ្នាំកំណើត" in page


# --------------------------------------------------------------------------- headers, one by one
@pytest.mark.parametrize(("header", "field"), [
    ("date_of_birth", "date_of_birth"), ("Date of Birth", "date_of_birth"), ("date-of-birth", "date_of_birth"),
    (" DATE-OF BIRTH ", "date_of_birth"), ("\ufeffcategory", "category"),
    ("group_abc/phone", "phone"), ("person-phone", "phone"), ("person.full_name", "full_name"), ("a:b:phone", "phone"),
    ("group-date-of-birth", "date_of_birth"), ("person/Date of birth", "date_of_birth"),
    ("Phone number", "phone"), ("National ID number", "national_id"), ("Number of workers", "workers"),
    ("ថ្ងៃខែឆ្នាំកំណើត", "date_of_birth"), ("ព័ត៌មាន/ថ្ងៃខែឆ្នាំកំណើត", "date_of_birth"),
    ("រាជធានី/ខេត្ត", "province"), ("ទីកន្លែង-ក្រុង/ស្រុក/ខណ្ឌ", "district"), ("ឃុំ/សង្កាត់", "commune"),
    ("group-notes", None), ("person/nickname", None), ("phone-2", None), ("ខេត្ត", None), ("_uuid", None),
])
def test_a_header_names_a_field_by_name_or_label_behind_group_prefixes(header: str, field: str | None) -> None:
    assert field_of(header) == field


def test_every_label_of_every_field_in_every_language_names_it() -> None:
    for f in fields.FIELDS:
        for locale in LOCALES:
            assert field_of(catalog(locale).ugettext(f.label)) == f.name
            assert field_of("group/" + catalog(locale).ugettext(f.label)) == f.name


def test_a_prefix_before_something_not_ours_stays_unknown_and_metadata_is_not_unknown() -> None:
    header = ["SubmissionDate", *(f"person-{h}" for h in HEADER), "person-nickname", "meta-instanceID", "KEY",
              "ReviewState", "_uuid", "_submission__uuid", "formhub/uuid", "__version__"]
    columns, unknown = columns_of(header)
    assert unknown == ["person-nickname"]
    assert columns[SOURCE_REF] == header.index("_uuid")  # Kobo's own id first
    assert {k: v for k, v in columns.items() if k != SOURCE_REF} == {h[7:]: i for i, h in enumerate(header) if h.startswith("person-") and h[7:] in HEADER}
    assert tool_columns(header) == ["SubmissionDate", "meta-instanceID", "KEY", "ReviewState", "_uuid",
                                    "_submission__uuid", "formhub/uuid", "__version__"]


@pytest.mark.parametrize(("header", "reference"), [
    (["_uuid", "meta/instanceID"], "_uuid"), (["meta-instanceID", "KEY"], "KEY"), (["meta-instanceID"], "meta-instanceID"),
    (["meta/rootUuid", "_uuid"], "meta/rootUuid"), (["instanceID"], "instanceID"), (["_id", "_index"], None),
])
def test_the_submission_id_comes_from_the_most_stable_column(header: list[str], reference: str | None) -> None:
    columns, _ = columns_of([*HEADER, *header])
    assert columns.get(SOURCE_REF) == (len(HEADER) + header.index(reference) if reference else None)


def test_a_field_matched_twice_is_refused() -> None:
    with pytest.raises(UnusableFile) as twice:
        columns_of([*HEADER, "person/phone"])
    assert twice.value.params == {"first": "phone", "second": "person/phone", "column": "phone"}
    with pytest.raises(UnusableFile) as same:
        columns_of([*HEADER, "Phone"])
    assert same.value.params == {"column": "phone"}


@pytest.mark.parametrize(("cell", "reference"), [
    ("uuid:6F1C0A52-3B7E-4C1A-9D0E-1A2B3C4D5E01", "6f1c0a52-3b7e-4c1a-9d0e-1a2b3c4d5e01"),
    (" 6f1c0a52-3b7e-4c1a-9d0e-1a2b3c4d5e01 ", "6f1c0a52-3b7e-4c1a-9d0e-1a2b3c4d5e01"), ("", None), ("  ", None),
    ("one", "one"),
])
def test_a_submission_id_is_normalised(cell: str, reference: str | None) -> None:
    assert source_reference(cell) == reference


@pytest.mark.parametrize("cell", ["uuid:", "a" * 65, "a b", "uuid:../../etc", "ខ្មែរ", "<x>", "uuid:x/group[1]"])
def test_anything_but_a_short_token_is_not_a_submission_id(cell: str) -> None:
    from registry.imports.submissions import NotASubmissionId

    with pytest.raises(NotASubmissionId):
        source_reference(cell)


# --------------------------------------------------------------------------- values
def test_every_label_of_our_vocabularies_in_every_language_parses_to_its_code() -> None:
    for vocabulary, parse in ((vocab.CATEGORIES, parse_category), (vocab.GENDERS, parse_gender), (vocab.SECTORS, parse_sector)):
        labels = list(vocabulary.items()) + (list(vocab.CATEGORY_SHORT.items()) if vocabulary is vocab.CATEGORIES else [])
        for code, msgid in labels:
            for locale in LOCALES:
                text = catalog(locale).ugettext(msgid)
                for written in (text, text.upper(), f" {text} ", text.replace(" ", "\u200b ")):
                    assert parse(written) == code, (written, code)
            assert parse(code) == code


@pytest.mark.parametrize(("written", "code"), [("Woman", "female"), ("man", "male"), ("ស្ត្រី", "female"), ("បុរស", "male"),
                                                ("F", "female"), ("ស្រី", "female")])
def test_everyday_words_for_gender_parse(written: str, code: str) -> None:
    assert parse_gender(written) == code
