"""Text tables as field tools and Excel write them: `;` (KoboToolbox's CSV export), tab, and
UTF-16 with a byte order mark (Excel's "Unicode text", a .txt) import like a CSV UTF-8 file."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from registry.extensions import db
from registry.imports.reading import delimiter_of
from tests.helpers import upload_file
from tests.import_files import HEADER, good

ROWS = [good(1, full_name="សុខ ដារ៉ា"), good(2, full_name="Chan Sophal"),
        good(3, category="Micro-enterprise", business_name="Noodle shop; Psar Thmei", workers="3"),
        good(4, full_name="Keo Mony")]


def text_table(delimiter: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerows([HEADER, *ROWS])
    return out.getvalue()


# (file name, bytes as the tool writes them)
SHAPES = {
    "kobo-semicolon.csv": text_table(";").encode("utf-8"),
    "semicolon-bom.csv": text_table(";").encode("utf-8-sig"),
    "tab.tsv": text_table("\t").encode("utf-8"),
    "excel-unicode-text.txt": text_table("\t").encode("utf-16"),  # BOM + UTF-16LE, tab-separated
    "utf16-comma.csv": "\ufeff".encode("utf-16-be") + text_table(",").encode("utf-16-be"),
}


def people(app) -> list[tuple[str, str, str | None]]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return [tuple(r) for r in db.session.execute(sa.text(
            "SELECT full_name, category, business_name FROM actor ORDER BY source_row")).all()]


@pytest.mark.parametrize("name", list(SHAPES))
def test_every_shape_imports_the_same_people(runner, app, tmp_path: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / name
    path.write_bytes(SHAPES[name])
    result = runner.invoke(args=["import-actors", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1])["imported"] == len(ROWS)
    assert people(app) == [("សុខ ដារ៉ា", "self_employed", None), ("Chan Sophal", "self_employed", None),
                           ("Person DA", "micro_enterprise", "Noodle shop; Psar Thmei"), ("Keo Mony", "self_employed", None)]


def test_a_tab_separated_unicode_text_file_uploads_through_the_page(outreach, app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "excel-unicode-text.txt"
    path.write_bytes(SHAPES["excel-unicode-text.txt"])
    assert upload_file(outreach, path).status_code == 303
    for thread in app.extensions.get("registry.import_threads", []):
        thread.join(timeout=60)
    assert len(people(app)) == len(ROWS)


@pytest.mark.parametrize(("line", "delimiter"), [
    ("category,full_name,phone", ","), ("category;full_name;phone", ";"), ("category\tfull_name\tphone", "\t"),
    ('"a;b",c', ","), ("category", ","), ('category;"name, as on the card";phone', ";"),
])
def test_the_delimiter_is_the_one_that_splits_the_header_most(line: str, delimiter: str) -> None:
    assert delimiter_of(line) == delimiter
