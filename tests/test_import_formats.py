"""Every format field staff hold reads the same rows and imports the same people: CSV, a
zipped CSV (ODK Central's download), XLSX, XLS and ODS; a workbook with several sheets is
read from the one that holds our fields, and says which."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Callable

import pytest
import sqlalchemy as sa

from registry.extensions import db
from registry.imports.reading import open_table
from tests.helpers import upload_file
from tests.import_files import (
    HEADER, good, mixed_rows, write_csv, write_csv_zip, write_ods, write_xls, write_xlsx,
)

WRITERS: dict[str, Callable[..., Path]] = {
    "people.csv": write_csv, "people.csv.zip": write_csv_zip, "people.xlsx": write_xlsx,
    "people.xls": write_xls, "people.ods": write_ods,
}
PEOPLE = [good(1, full_name="សុខ ដារ៉ា"), good(2, full_name="Chan Sophal", national_id="123456789"),
          good(3, category="Micro-enterprise", business_name="Noodle shop; Psar Thmei", workers="3"),
          good(4, full_name="Keo Mony", date_of_birth="1985-07-09")]
# Kobo puts each repeat group on a sheet of its own, before or after the main one.
REPEAT_SHEET = ("household_members", [["_parent_index", "member_name"], ["1", "Dara"]])


def read_all(path: Path) -> dict[int, list[str]]:
    from registry.imports.reading import detect_format

    with open_table(path, detect_format(path, path.name)) as table:
        return {0: table.header} | {row.number: row.cells for row in table.rows}


def people(app) -> list[tuple[str, str, str | None, str]]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return [tuple(r) for r in db.session.execute(sa.text(
            "SELECT full_name, category, business_name, date_of_birth FROM actor ORDER BY source_row")).all()]


def test_every_format_reads_the_same_rows(tmp_path: Path) -> None:
    # XML holds no NUL, and openpyxl writes "=…" as a formula with no value: not what is compared here
    rows = [None if r is None else [c.replace("\x00", "#").replace("=", "x=") for c in r] for r, _outcome, _why in mixed_rows()]
    read = {name: read_all(write(tmp_path / name, rows)) for name, write in WRITERS.items()}
    assert read["people.csv"][0] == HEADER
    assert 4 not in read["people.csv"] and read["people.csv"][26][1] == "ស្រី ពៅ"
    for name in WRITERS:
        assert read[name] == read["people.csv"], name


@pytest.mark.parametrize("name", list(WRITERS))
def test_every_format_imports_the_same_people(runner, app, tmp_path: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    path = WRITERS[name](tmp_path / name, PEOPLE)
    result = runner.invoke(args=["import-actors", str(path), "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert figures["imported"] == len(PEOPLE)
    assert figures.get("sheet") == (None if name.startswith("people.csv") else "Sheet1" if not name.endswith("xlsx") else "Sheet")
    assert [(n, c, b) for n, c, b, _dob in people(app)] == [
        ("សុខ ដារ៉ា", "self_employed", None), ("Chan Sophal", "self_employed", None),
        ("Person DA", "micro_enterprise", "Noodle shop; Psar Thmei"), ("Keo Mony", "self_employed", None)]
    assert str(people(app)[3][3]) == "1985-07-09"


def _xlsx_with_sheets(path: Path) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    first = book.active
    first.title = REPEAT_SHEET[0]
    for row in REPEAT_SHEET[1]:
        first.append(row)
    data = book.create_sheet("ការចុះឈ្មោះ")
    data.append(HEADER)
    for row in PEOPLE:
        data.append(row)
    book.save(path)
    return path


SEVERAL_SHEETS = {
    "kobo.xlsx": _xlsx_with_sheets,
    "kobo.xls": lambda p: write_xls(p, PEOPLE, sheets=(REPEAT_SHEET,), name="ការចុះឈ្មោះ"),
    "kobo.ods": lambda p: write_ods(p, PEOPLE, sheets=(REPEAT_SHEET,), name="ការចុះឈ្មោះ"),
}


@pytest.mark.parametrize("name", list(SEVERAL_SHEETS))
def test_a_workbook_is_read_from_the_sheet_with_our_fields_and_says_so(runner, app, tmp_path: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    path = SEVERAL_SHEETS[name](tmp_path / name)
    result = runner.invoke(args=["import-actors", str(path), "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert figures["imported"] == len(PEOPLE) and figures["sheet"] == "ការចុះឈ្មោះ"


@pytest.mark.parametrize("name", ["kobo.ods", "kobo.xls", "kobo.xlsx", "people.csv.zip"])
def test_every_format_uploads_through_the_page(outreach, app, tmp_path: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    path = SEVERAL_SHEETS[name](tmp_path / name) if name in SEVERAL_SHEETS else WRITERS[name](tmp_path / name, PEOPLE)
    response = upload_file(outreach, path)
    assert response.status_code == 303
    for thread in app.extensions.get("registry.import_threads", []):
        thread.join(timeout=60)
    assert len(people(app)) == len(PEOPLE)
    page = outreach.get(response.headers["Location"] + "?lang=en").get_data(as_text=True)
    if name.startswith("kobo"):
        assert "Read from sheet “ការចុះឈ្មោះ”" in page
    else:
        assert "Read from sheet" not in page


def _zip(path: Path, parts: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return path


CSV_BYTES = (",".join(HEADER) + "\r\n" + ",".join(PEOPLE[0]) + "\r\n").encode()


@pytest.mark.parametrize(("parts", "reason"), [
    ({"photo.jpg": b"\xff\xd8\xff", "readme.md": b"x"}, "holds no .csv, .tsv or .txt table (it holds: photo.jpg, readme.md)"),
    ({"a.csv": CSV_BYTES, "a-repeat.csv": CSV_BYTES}, "holds 2 tables (a.csv, a-repeat.csv)"),
    ({"a.csv": CSV_BYTES, "inner.zip": b"PK\x03\x04"}, "holds another archive (“inner.zip”)"),
    ({"a.csv": CSV_BYTES, "media/blob": b"PK\x03\x04" + bytes(100)}, "holds another archive (“blob”)"),
    ({"a.csv": b"\xff\xfe\x00"}, "UTF-16"),
    ({"a.csv": "x,y\r\n".encode("cp1252") + b"\xe9"}, "not UTF-8"),
])
def test_a_zip_that_is_not_one_table_is_refused_naming_what_it_holds(outreach, app, tmp_path: Path, parts, reason) -> None:  # type: ignore[no-untyped-def]
    path = _zip(tmp_path / "odk.csv.zip", parts)
    outreach.get("/staff/imports?lang=en")
    response = upload_file(outreach, path)
    assert response.status_code == 422
    assert reason in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(sa.text("SELECT count(*) FROM import_batch")).scalar_one() == 0


@pytest.mark.parametrize(("name", "data", "reason"), [
    ("fake.xls", b"category,full_name\r\n", "not an Excel 97-2003 workbook"),
    ("broken.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "The spreadsheet cannot be opened"),
    ("fake.ods", b"category,full_name\r\n", "not an OpenDocument spreadsheet"),
    ("fake.zip", b"category,full_name\r\n", "not a zip archive"),
    ("people.numbers", b"x", "can be imported"),
])
def test_a_file_that_is_not_what_its_name_says_is_refused_with_a_reason(runner, tmp_path: Path, name: str, data: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    result = runner.invoke(args=["import-actors", str(path)])
    assert result.exit_code == 1 and reason in result.output, result.output


def test_an_xls_larger_than_its_limit_is_refused_before_it_is_opened(database_url, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.helpers import make_app

    app = make_app(database_url, IMPORT_UPLOAD_FOLDER=str(tmp_path / "uploads"), IMPORT_LIMIT_XLS_BYTES=1024)
    path = write_xls(tmp_path / "big.xls", [good(n) for n in range(100)])
    result = app.test_cli_runner().invoke(args=["import-actors", str(path)])
    assert result.exit_code == 1 and "The .xls file is larger than 1 MB" in result.output, result.output


@pytest.mark.parametrize("writer", [write_xls, write_ods, write_csv_zip])
def test_workbook_cells_pass_the_same_limits(database_url, tmp_path: Path, writer) -> None:  # type: ignore[no-untyped-def]
    from tests.helpers import make_app

    app = make_app(database_url, IMPORT_UPLOAD_FOLDER=str(tmp_path / "uploads"), IMPORT_LIMIT_CELL_CHARS=50)
    path = writer(tmp_path / f"long{'.csv.zip' if writer is write_csv_zip else '.xls' if writer is write_xls else '.ods'}",
                  [good(1), good(2, business_name="x" * 51)])
    result = app.test_cli_runner().invoke(args=["import-actors", str(path)])
    assert result.exit_code == 1 and "Row 3" in result.output and "50" in result.output, result.output


@pytest.mark.parametrize("name", ["people.xls", "people.ods", "people.csv.zip"])
def test_damaged_files_of_every_format_never_fail_otherwise_than_with_a_reason(tmp_path: Path, name: str) -> None:
    """Bytes changed at random: reading (header and every row) either works or raises
    UnusableFile, never anything else (no 500)."""
    import random

    from registry.imports.errors import UnusableFile
    from registry.imports.reading import detect_format

    rng = random.Random(2024)
    original = WRITERS[name](tmp_path / name, PEOPLE).read_bytes()
    outcomes = {"usable": 0, "refused": 0}
    for trial in range(150):
        blob = bytearray(original)
        for _ in range(rng.randint(1, 8)):
            blob[rng.randrange(len(blob))] = rng.randrange(256)
        path = tmp_path / f"{trial}-{name}"
        path.write_bytes(bytes(blob))
        try:
            with open_table(path, detect_format(path, path.name)) as table:
                for _row in table.rows:
                    pass
            outcomes["usable"] += 1
        except UnusableFile:
            outcomes["refused"] += 1
    assert outcomes["refused"] > 0
