"""Reading outreach files: CSV (UTF-8, Excel/LibreOffice) and XLSX, streamed row by row."""
from __future__ import annotations

import codecs
import csv
import re
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Iterator

from registry.actors import fields
from registry.i18n import N_

REQUIRED_COLUMNS = fields.REQUIRED_NAMES
TEMPLATE_COLUMNS = fields.NAMES  # category … registered_on, in the template's order
SNIFF_BYTES = 64 * 1024
MAX_XLSX_UNCOMPRESSED = 2 * 1024**3
MAX_XLSX_RATIO = 100
FORMULA_MARKER = re.compile(r"'(?=[=+\-@\t\r])")
csv.field_size_limit(1024 * 1024)


class UnusableFile(ValueError):
    """The whole file cannot be imported; `message` (an msgid) says why and how to fix it."""

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params


@dataclass(slots=True)
class SourceRow:
    number: int  # spreadsheet row: the header is row 1, blank rows count
    cells: list[str]  # at least as many as the header (surplus cells kept for the report), as text
    extra_cells: int  # non-blank cells beyond the header


@dataclass
class Table:
    header: list[str]  # the header cells as written
    columns: dict[str, int]  # registration field -> cell index
    unknown_columns: list[str]
    estimated_rows: int | None
    rows: Iterator[SourceRow]


def normalise_header(name: str) -> str:
    """' Date-of Birth ' -> 'date_of_birth'; 'group_abc/phone' (KoboToolbox, ODK) -> 'phone'."""
    name = name.replace("\ufeff", "").strip().rsplit("/", 1)[-1]
    return re.sub(r"[\s\-]+", "_", name.strip()).lower()


def detect_format(path: Path, filename: str) -> str:
    """'csv' or 'xlsx', by the file's name and by its content, which must agree."""
    suffix = Path(filename).suffix.lower()
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if suffix == ".xlsx":
        if not head.startswith(b"PK\x03\x04") or not _is_workbook(path):
            raise UnusableFile(N_("The file is named .xlsx but is not an Excel workbook. Save it again as .xlsx or CSV UTF-8."))
        return "xlsx"
    if suffix == ".csv":
        if head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
            raise UnusableFile(N_("The file is named .csv but is a spreadsheet. Upload it as .xlsx, or save it as CSV UTF-8."))
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise UnusableFile(N_("The file is saved as UTF-16. Save it again as “CSV UTF-8”."))
        try:
            codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=len(head) < SNIFF_BYTES)
        except UnicodeDecodeError:
            raise UnusableFile(N_("The file is not UTF-8 text. Save it again as “CSV UTF-8”.")) from None
        return "csv"
    raise UnusableFile(N_("Only .csv and .xlsx files can be imported."))


def _is_workbook(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError):
        return False
    if "xl/workbook.xml" not in names or len(entries) > 10_000:
        return False
    unpacked = sum(e.file_size for e in entries)
    packed = max(sum(e.compress_size for e in entries), 1)
    if unpacked > MAX_XLSX_UNCOMPRESSED or unpacked > MAX_XLSX_RATIO * packed + 10 * 1024**2:
        raise UnusableFile(N_("The workbook unpacks to far more data than it holds (a zip bomb?). It was not opened."))
    return True


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return FORMULA_MARKER.sub("", value, count=1) if value[:1] == "'" else value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _columns(header: list[str]) -> tuple[dict[str, int], list[str]]:
    columns: dict[str, int] = {}
    unknown: list[str] = []
    for position, name in enumerate(header):
        key = normalise_header(name)
        if key in TEMPLATE_COLUMNS:
            if key in columns:
                raise UnusableFile(N_("The column %(column)s appears twice. Keep one."), column=key)
            columns[key] = position
        elif key:
            unknown.append(name.strip())
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise UnusableFile(
            N_("The file has no column %(columns)s. Use the template's column names in the first row."),
            columns=", ".join(missing),
        )
    return columns, unknown


def _rows(raw_rows: Iterator[Any], width: int) -> Iterator[SourceRow]:
    for number, raw in enumerate(raw_rows, start=2):
        if raw.__class__ is list and "\x1f'" not in "\x1f" + "\x1f".join(raw):
            cells = raw  # a CSV row of plain text with no formula marker: nothing to convert
        else:
            cells = [_text(v) for v in raw]
        if not "".join(cells).strip():
            continue  # blank rows are skipped, but keep their number
        extra = sum(1 for c in cells[width:] if c.strip()) if len(cells) > width else 0
        if len(cells) < width:
            cells.extend([""] * (width - len(cells)))
        elif not extra:
            del cells[width:]
        yield SourceRow(number, cells, extra)


def _count_lines(path: Path) -> int:
    lines = 0
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            lines += block.count(b"\n")
    return lines


@contextmanager
def open_table(path: Path, file_format: str) -> Iterator[Table]:
    """The file's header and a stream of its non-blank rows (memory stays flat)."""
    if file_format == "csv":
        with path.open("r", encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            try:
                header = [_text(h) for h in next(reader, [])]
            except (csv.Error, UnicodeDecodeError) as error:
                raise UnusableFile(N_("The first row cannot be read: %(reason)s"), reason=str(error)[:120]) from None
            if not any(h.strip() for h in header):
                raise UnusableFile(N_("The file is empty, or its first row is blank. Put the column names in row 1."))
            columns, unknown = _columns(header)
            estimate = max(_count_lines(path) - 1, 0)
            yield Table(header, columns, unknown, estimate, _csv_rows(reader, len(header)))
        return
    from openpyxl import load_workbook  # uses defusedxml when installed: no XML entity tricks

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # noqa: BLE001 - any failure to open is the file's fault
        raise UnusableFile(N_("The workbook cannot be opened safely: %(reason)s"), reason=type(error).__name__) from None
    try:
        sheet = workbook.worksheets[0]
        raw_rows = sheet.iter_rows(values_only=True)
        try:
            header = [_text(h) for h in next(raw_rows, ())]
        except Exception as error:  # noqa: BLE001
            raise UnusableFile(N_("The workbook cannot be opened safely: %(reason)s"), reason=type(error).__name__) from None
        while header and not header[-1].strip():
            header.pop()
        if not header:
            raise UnusableFile(N_("The file is empty, or its first row is blank. Put the column names in row 1."))
        columns, unknown = _columns(header)
        estimate = max((sheet.max_row or 1) - 1, 0) if sheet.max_row else None
        yield Table(header, columns, unknown, estimate, _rows(raw_rows, len(header)))
    finally:
        workbook.close()


def _csv_rows(reader: Any, width: int) -> Iterator[SourceRow]:
    try:
        yield from _rows(reader, width)
    except csv.Error as error:
        raise UnusableFile(N_("Row %(row)s cannot be read: %(reason)s"), row=reader.line_num, reason=str(error)[:120]) from None


def read_header(path: Path, file_format: str) -> tuple[list[str], dict[str, int], list[str]]:
    """Check the file up front (format, required columns) without reading its rows."""
    with open_table(path, file_format) as table:
        return table.header, table.columns, table.unknown_columns


__all__ = ["UnusableFile", "SourceRow", "Table", "open_table", "detect_format", "read_header"]
