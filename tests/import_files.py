"""Test files for the importer: one row of every kind, with the outcome each must get."""
from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import io
import zipfile
from datetime import date
from xml.sax.saxutils import escape, quoteattr

from openpyxl import Workbook

HEADER = ["category", "full_name", "gender", "date_of_birth", "national_id", "phone", "province",
          "district", "commune", "sector", "business_name", "workers", "registered_on"]


def good(n: int, **overrides: str) -> list[str]:
    """A valid row; `n` makes the person unique."""
    row = dict(zip(HEADER, ["self_employed", f"Person {chr(65 + n % 26)}{chr(65 + n // 26 % 26)}", "female", "1990-01-25", "",
                            f"012 {n // 1000 % 1000:03d} {n % 1000:03d}", "12", "1201", "120101", "trade", "", "", "2024-12-20"]))
    row.update(overrides)
    return [row[h] for h in HEADER]


# (row as written, expected outcome, field or reason the report must mention)
def mixed_rows() -> list[tuple[list[str] | None, str | None, str]]:
    """Spreadsheet rows 2, 3, ...; None is a blank row (skipped, still numbered)."""
    return [
        (good(1), "imported", ""),                                                        # 2
        (good(2, category="Micro-enterprise", business_name="Noodle shop", workers="3"), "imported", ""),  # 3
        (None, None, ""),                                                                 # 4 blank
        (good(3, category="worker"), "rejected", "Category"),                             # 5
        (good(4, full_name="Sok 4"), "rejected", "Full name"),                           # 6
        (good(5, full_name="Sok\x00Dara"), "rejected", "Full name"),                     # 7 NUL byte
        (good(6, full_name="=HYPERLINK(\"x\")"), "rejected", "Full name"),               # 8 formula text
        (good(7, gender="x"), "rejected", "Gender"),                                      # 9
        (good(8, date_of_birth="31/02/1990"), "rejected", "Date of birth"),              # 10
        (good(9, date_of_birth="2015-01-01"), "rejected", "Date of birth"),              # 11 too young
        (good(10, national_id="12345"), "rejected", "National ID"),                      # 12
        (good(11, phone="+66 81 234 5678"), "rejected", "Phone"),                        # 13
        (good(12, province="Atlantis"), "rejected", "Province"),                         # 14
        (good(13, district="0203"), "rejected", "District"),                             # 15 wrong nesting
        (good(14, province="25", district="2503", commune="Kokir"), "rejected", "Commune"),  # 16 ambiguous
        (good(15, sector="mining"), "rejected", "Sector"),                               # 17
        (good(16, category="micro_enterprise"), "rejected", "Business name"),            # 18
        (good(17, registered_on="2099-01-01"), "rejected", "Date registered"),           # 19
        (good(18) + ["surplus"], "rejected", "more cells"),                               # 20
        (good(1, full_name="PERSON  ba"), "duplicate", "row 2"),                          # 21 repeat of row 2
        (good(19, national_id="111 222 333"), "imported", ""),                            # 22
        (good(20, national_id="111222333", full_name="Other Name"), "duplicate", "row 22"),  # 23 same ID
        (good(21, gender="?", phone="1", sector="?"), "rejected", "Gender"),             # 24 several errors
        (None, None, ""),                                                                 # 25 blank
        (good(22, full_name="ស្រី ពៅ", gender="ស្រី", province="ភ្នំពេញ", date_of_birth="០៨/០៣/១៩៨៨"), "imported", ""),  # 26
    ]


def expected_outcomes() -> dict[int, str]:
    return {n: outcome for n, (row, outcome, _) in enumerate(mixed_rows(), start=2) if row is not None and outcome}


def write_csv(path: Path, rows: list[list[str] | None], header: list[str] = HEADER, *, crlf: bool = True, bom: bool = True) -> Path:
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n" if crlf else "\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(row if row is not None else [])
    return path


def write_xlsx(path: Path, rows: list[list[str] | None], header: list[str] = HEADER) -> Path:
    """The same rows as an Excel workbook; ISO dates of birth become real date cells."""
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        if row is None:
            sheet.append([])
            continue
        cells: list[object] = []
        for name, value in zip(header + ["extra"] * 5, row):
            if name == "date_of_birth" and len(value) == 10 and value[4] == "-":
                try:
                    cells.append(datetime.strptime(value, "%Y-%m-%d"))
                    continue
                except ValueError:
                    pass
            cells.append(value.replace("\x00", "#"))  # XML cannot hold NUL; still an invalid name
        sheet.append(cells)
    book.save(path)
    return path


def _typed(header: list[str], row: list[str]) -> list[object]:
    """Cells as a spreadsheet holds them: ISO dates of birth as dates (as write_xlsx does)."""
    cells: list[object] = []
    for name, value in zip(header + ["extra"] * 5, row):
        if name == "date_of_birth" and len(value) == 10 and value[4] == "-":
            try:
                cells.append(datetime.strptime(value, "%Y-%m-%d").date())
                continue
            except ValueError:
                pass
        cells.append(value.replace("\x00", "#"))
    return cells


def write_xls(path: Path, rows: list[list[str] | None], header: list[str] = HEADER,
              sheets: tuple[tuple[str, list[list[str]]], ...] = (), name: str = "Sheet1") -> Path:
    """The same rows as an Excel 97-2003 workbook (xlwt), after any `sheets` given first."""
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    dated = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for other, other_rows in sheets:
        sheet = book.add_sheet(other)
        for r, cells in enumerate(other_rows):
            for c, value in enumerate(cells):
                sheet.write(r, c, value)
    sheet = book.add_sheet(name)
    for c, value in enumerate(header):
        sheet.write(0, c, value)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(_typed(header, row or [])):
            if isinstance(value, date):
                sheet.write(r, c, value, dated)
            elif value != "":
                sheet.write(r, c, value)
    book.save(str(path))
    return path


ODS_MIMETYPE = "application/vnd.oasis.opendocument.spreadsheet"
_ODS_NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
           'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
           'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"')


def _ods_cell(value: object) -> str:
    if isinstance(value, date):
        return f'<table:table-cell office:value-type="date" office:date-value="{value.isoformat()}"><text:p>{value.isoformat()}</text:p></table:table-cell>'
    if value == "":
        return "<table:table-cell/>"
    return f'<table:table-cell office:value-type="string"><text:p>{escape(str(value))}</text:p></table:table-cell>'


def ods_table(name: str, rows: list[list[object]]) -> str:
    body = "".join("<table:table-row>" + "".join(_ods_cell(v) for v in row) + "</table:table-row>" for row in rows)
    return f"<table:table table:name={quoteattr(name)}>{body}</table:table>"


def ods_bytes(tables: str) -> bytes:
    """An OpenDocument spreadsheet, written by hand: mimetype, content.xml, the manifest."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), ODS_MIMETYPE)  # stored, first, as the format asks
        archive.writestr("content.xml", f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_ODS_NS} '
                         f'office:version="1.2"><office:body><office:spreadsheet>{tables}</office:spreadsheet>'
                         "</office:body></office:document-content>")
        archive.writestr("META-INF/manifest.xml", '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
                         'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
                         f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{ODS_MIMETYPE}"/>'
                         '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                         "</manifest:manifest>")
    return out.getvalue()


def write_ods(path: Path, rows: list[list[str] | None], header: list[str] = HEADER,
              sheets: tuple[tuple[str, list[list[str]]], ...] = (), name: str = "Sheet1") -> Path:
    """The same rows as an OpenDocument spreadsheet, after any `sheets` given first."""
    tables = "".join(ods_table(other, list(other_rows)) for other, other_rows in sheets)
    tables += ods_table(name, [list(header), *(_typed(header, row or []) for row in rows)])
    path.write_bytes(ods_bytes(tables))
    return path


def write_csv_zip(path: Path, rows: list[list[str] | None], header: list[str] = HEADER,
                  inside: str = "submissions.csv", extra: tuple[tuple[str, bytes], ...] = ()) -> Path:
    """The rows as ODK Central downloads them: a CSV inside a zip (and any other parts given)."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(row if row is not None else [] for row in rows)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(inside, text.getvalue().encode("utf-8"))
        for name, data in extra:
            archive.writestr(name, data)
    return path
