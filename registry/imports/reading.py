"""Reading outreach files: CSV (UTF-8, UTF-16, Excel/LibreOffice/Kobo), a zipped CSV (ODK
Central), XLSX streamed row by row, and XLS and ODS (python-calamine).

Every read is bounded by `ReadLimits`: a CSV row is measured while its lines are read
(before the csv module splits it), an XLSX or a zip through `archive` and `sheet`, an XLS or
ODS through `spreadsheets`; a header or a row with too many columns, or a cell that is too
long, stops the file with a reason. A workbook with several sheets is read from the one
whose header row names the most of our fields (the first on a tie).
"""
from __future__ import annotations

import codecs
import csv
import re
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import IO, Any, Iterator

from registry.actors import fields
from registry.i18n import N_
from registry.imports import zipped
from registry.imports.archive import Archive, SpreadsheetArchive, WorkbookArchive
from registry.imports.errors import CELL_TOO_LONG, ROW_TOO_LONG, UnusableFile, too_wide
from registry.imports.headers import columns_of, normalise_header  # header recognition lives there
from registry.imports.limits import DEFAULT_LIMITS, ReadLimits

REQUIRED_COLUMNS = fields.REQUIRED_NAMES
TEMPLATE_COLUMNS = fields.NAMES  # category … registered_on, in the template's order
SNIFF_BYTES = 64 * 1024
# Text tables: CSV (",", ";" as KoboToolbox exports, tab), and what Excel's "Unicode text"
# writes (.txt: UTF-16 with a byte order mark, tab-separated).
TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
DELIMITERS = (",", ";", "\t")
FORMULA_MARKER = re.compile(r"'(?=[=+\-@\t\r])")
WORKBOOK_FORMATS = ("xlsx", "xls", "ods")
FORMATS = ("csv", "zip", *WORKBOOK_FORMATS)
NOT_XLS = N_("The file is named .xls but is not an Excel 97-2003 workbook. Save it again as .xlsx or CSV UTF-8.")
UNKNOWN_FORMAT = N_("Only .csv, .txt and .tsv (tab-separated) files, a .zip holding one of them, and .xlsx, .xls and .ods workbooks can be imported.")
EMPTY_FIRST_ROW = N_("The file is empty, or its first row is blank. Put the column names in row 1.")
csv.field_size_limit(1024 * 1024)  # above any row ReadLimits lets through: the row meter speaks first


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
    sheet_name: str | None = None  # the sheet read, for a workbook


def detect_format(path: Path, filename: str, limits: ReadLimits = DEFAULT_LIMITS) -> str:
    """One of FORMATS, by the file's name and by its content, which must agree.

    An archive (XLSX, ODS, zip) is unpacked here to its last byte (within the limits,
    keeping nothing), so a zip bomb or a damaged part is refused before any row is read."""
    name = filename.lower()
    suffix = Path(name).suffix
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if suffix == ".xlsx":
        if not head.startswith(b"PK\x03\x04"):
            raise UnusableFile(N_("The file is named .xlsx but is not an Excel workbook. Save it again as .xlsx or CSV UTF-8."))
        with WorkbookArchive(path, limits) as archive:
            archive.verify()
        return "xlsx"
    if suffix == ".ods":
        if not head.startswith(b"PK\x03\x04"):
            raise UnusableFile(SpreadsheetArchive.not_ours)
        with SpreadsheetArchive(path, limits) as archive:
            archive.verify()
        return _opened_by_calamine(path, "ods", limits)
    if suffix == ".xls":
        if not head.startswith(b"\xd0\xcf\x11\xe0"):
            raise UnusableFile(NOT_XLS)
        return _opened_by_calamine(path, "xls", limits)
    if suffix == ".zip":
        if not head.startswith(b"PK\x03\x04"):
            raise UnusableFile(Archive.not_ours)
        head = zipped.verify(path, limits, SNIFF_BYTES)
        _check_text(head, complete=len(head) < SNIFF_BYTES)
        return "zip"
    if suffix in TEXT_SUFFIXES:
        if head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
            raise UnusableFile(N_("The file is named .csv but is a spreadsheet. Upload it as .xlsx, or save it as CSV UTF-8."))
        _check_text(head, complete=len(head) < SNIFF_BYTES)
        return "csv"
    raise UnusableFile(UNKNOWN_FORMAT)


def _check_text(head: bytes, complete: bool) -> None:
    """The first bytes of a text table decode in the encoding they announce."""
    encoding = text_encoding(head)
    try:
        codecs.getincrementaldecoder(encoding)().decode(head, final=complete)
    except UnicodeDecodeError:
        if encoding == "utf-16":
            raise UnusableFile(N_("The file says it is UTF-16 text but cannot be read as such. Save it again as “CSV UTF-8”.")) from None
        raise UnusableFile(N_("The file is not UTF-8 text. Save it again as “CSV UTF-8”.")) from None


def _opened_by_calamine(path: Path, file_format: str, limits: ReadLimits) -> str:
    from registry.imports import spreadsheets

    spreadsheets.worksheet_names(spreadsheets.open_book(path, file_format, limits))
    return file_format


def text_encoding(head: bytes) -> str:
    """The encoding of a text table by its first bytes: UTF-16 when it starts with a UTF-16
    byte order mark (Excel's "Unicode text"), else UTF-8 with or without one."""
    return "utf-16" if head.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8-sig"


def delimiter_of(first_line: str) -> str:
    """The delimiter the header row is written with: of ",", ";" and tab, the one that splits
    it into the most cells (a comma on a tie: a one-column file is read as before)."""
    counts = {d: len(next(csv.reader([first_line], delimiter=d), [])) for d in DELIMITERS}
    return max(DELIMITERS, key=lambda d: (counts[d], d == ","))


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


def header_score(header: list[str], mapping: Any = None) -> int:
    """How well a header row names our fields: the fields it has, or -1 when it is unusable."""
    try:
        columns, _unknown = _columns(header, mapping)
    except UnusableFile:
        return -1
    return len(columns)


def best_sheet(headers: list[list[str]], mapping: Any = None) -> int:
    """The sheet to read: the one whose header names the most of our fields, the first on a tie
    (KoboToolbox puts repeat groups on sheets of their own)."""
    scores = [header_score(h, mapping) for h in headers]
    return scores.index(max(scores))


def _header_cells(values: list[Any] | None) -> list[str]:
    header = [_text(h) for h in values or []]
    while header and not header[-1].strip():
        header.pop()
    return header


def _columns(header: list[str], mapping: Any) -> tuple[dict[str, int], list[str]]:
    """columns_of, through the column map staff confirmed when there is one."""
    return columns_of(header) if mapping is None else mapping.columns(header)


def _shaped(number: int, cells: list[str], width: int) -> SourceRow | None:
    """The row cut or padded to the header's width (surplus kept when it holds something)."""
    if not "".join(cells).strip():
        return None  # blank rows are skipped, but keep their number
    extra = sum(1 for c in cells[width:] if c.strip()) if len(cells) > width else 0
    if len(cells) < width:
        cells.extend([""] * (width - len(cells)))
    elif not extra:
        del cells[width:]
    return SourceRow(number, cells, extra)


def _count_lines(path: Path) -> int:
    lines = 0
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            lines += block.count(b"\n")
    return lines


class _RowTooLong(Exception):
    def __init__(self, wide: bool) -> None:
        self.wide = wide  # so many separators that the row must have too many cells


def _metered_lines(fh: IO[str], used: list[int], limits: ReadLimits, first: str) -> Iterator[str]:
    """Lines for csv.reader, `first` (already read) first; `used[0]` counts the characters of
    the row being read (the reader of the rows resets it), so no row grows past
    `limits.row_chars` in memory."""
    most = limits.row_chars
    readline = fh.readline
    line = first
    while line:
        used[0] += len(line)
        if used[0] > most:
            raise _RowTooLong(wide=line.count(",") >= limits.columns)
        yield line
        line = readline(most + 1)


def _checked_cells(cells: list[str], number: int, limits: ReadLimits) -> list[str]:
    """Cells within the limits: none too long, nothing filled beyond the last column read."""
    if any(len(c) > limits.cell_chars for c in cells):
        raise UnusableFile(CELL_TOO_LONG, row=number, limit=limits.cell_chars)
    if len(cells) > limits.columns:
        if any(c.strip() for c in cells[limits.columns:]):
            raise too_wide(number, limits.columns)
        del cells[limits.columns:]
    return cells


def _too_long(error: _RowTooLong, number: int, limits: ReadLimits) -> UnusableFile:
    if error.wide:
        return too_wide(number, limits.columns)
    return UnusableFile(ROW_TOO_LONG, row=number, limit=limits.row_chars, columns=limits.columns, cell=limits.cell_chars)


@contextmanager
def open_table(path: Path, file_format: str, limits: ReadLimits = DEFAULT_LIMITS, mapping: Any = None) -> Iterator[Table]:
    """The file's header and a stream of its non-blank rows (memory stays flat, but for an
    XLS or ODS sheet, which calamine holds whole).

    `mapping` (imports.mapping_rules.Mapping), when staff confirmed one, says which field each
    header cell is: its `columns(header)` renames the cells, then calls columns_of."""
    if file_format == "csv":
        with path.open("rb") as raw:
            encoding = text_encoding(raw.read(4))
        with path.open("r", encoding=encoding, newline="") as fh:
            yield _text_table(fh, limits, lambda: _count_lines(path), mapping)
        return
    if file_format == "zip":
        with Archive(path, limits) as archive, zipped.open_text(archive, text_encoding) as fh:
            yield _text_table(fh, limits, lambda: zipped.count_lines(path, limits), mapping)
        return
    if file_format in ("xls", "ods"):
        yield _calamine_table(path, file_format, limits, mapping)
        return
    # imports openpyxl's helpers (20 MB): CSV readers go without
    from registry.imports.fastsheet import FastSheetReader as SheetReader
    from registry.imports.workbook import Workbook

    with WorkbookArchive(path, limits) as archive:
        book = Workbook(archive, limits)
        chosen = 0
        if len(book.sheets) > 1:
            chosen = best_sheet([_first_row_of(SheetReader(archive, limits, book, part).rows()) for _name, part in book.sheets], mapping)
        name, part = book.sheets[chosen]
        sheet = SheetReader(archive, limits, book, part)
        rows = sheet.rows()
        first = next(rows, None)
        header = _header_of(first)
        if not header:
            raise UnusableFile(EMPTY_FIRST_ROW)
        columns, unknown = _columns(header, mapping)
        estimate = max(sheet.last_row - 1, 0) if sheet.last_row else None
        yield Table(header, columns, unknown, estimate, _xlsx_rows(rows, len(header)), name)


def _text_table(fh: IO[str], limits: ReadLimits, count_lines: Any, mapping: Any = None) -> Table:
    """A text table's header (its delimiter detected) and its rows, as the lines are read."""
    used = [0]
    try:
        first_line = fh.readline(limits.row_chars + 1)
        reader = csv.reader(_metered_lines(fh, used, limits, first_line), delimiter=delimiter_of(first_line))
        header = [_text(h) for h in next(reader, [])]
    except _RowTooLong as error:
        raise _too_long(error, 1, limits) from None
    except (csv.Error, UnicodeDecodeError) as error:
        raise UnusableFile(N_("The first row cannot be read: %(reason)s"), reason=str(error)[:120]) from None
    header = _checked_cells(header, 1, limits)
    used[0] = 0
    if not any(h.strip() for h in header):
        raise UnusableFile(EMPTY_FIRST_ROW)
    columns, unknown = _columns(header, mapping)
    estimate = max(count_lines() - 1, 0)
    return Table(header, columns, unknown, estimate, _csv_rows(reader, used, len(header), limits))


def _calamine_table(path: Path, file_format: str, limits: ReadLimits, mapping: Any = None) -> Table:
    from registry.imports import spreadsheets

    book = spreadsheets.open_book(path, file_format, limits)
    names = spreadsheets.worksheet_names(book)
    sheets = [spreadsheets.open_sheet(book, name) for name in names]
    chosen = 0
    if len(sheets) > 1:
        chosen = best_sheet([_first_row_of(spreadsheets.sheet_rows(s, limits)) for s in sheets], mapping)
    rows = spreadsheets.sheet_rows(sheets[chosen], limits)
    first = next(rows, None)
    header = _header_of(first)
    if not header:
        raise UnusableFile(EMPTY_FIRST_ROW)
    columns, unknown = _columns(header, mapping)
    last = spreadsheets.last_row(sheets[chosen])
    del sheets
    return Table(header, columns, unknown, max(last - 1, 0) if last else None, _xlsx_rows(rows, len(header)), names[chosen])


def _first_row_of(rows: Iterator[tuple[int, list[Any]]]) -> list[str]:
    """A sheet's header row, to choose a sheet by (a sheet that cannot be read has none); the
    rest of the sheet is not read."""
    try:
        return _header_of(next(rows, None))
    except UnusableFile:
        return []
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()


def _header_of(first: tuple[int, list[Any]] | None) -> list[str]:
    """The header cells, when the sheet's first row is row 1 (else it has none)."""
    return _header_cells(first[1] if first is not None and first[0] == 1 else None)


def _csv_rows(reader: Any, used: list[int], width: int, limits: ReadLimits) -> Iterator[SourceRow]:
    cell_chars, most_columns = limits.cell_chars, limits.columns
    number = 1
    try:
        for number, raw in enumerate(reader, start=2):
            if used[0] > cell_chars or len(raw) > most_columns:  # only then can a limit be passed
                raw = _checked_cells(raw, number, limits)
            used[0] = 0
            if "\x1f'" not in "\x1f" + "\x1f".join(raw):
                cells = raw  # plain text with no formula marker: nothing to convert
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
    except _RowTooLong as error:
        raise _too_long(error, number + 1, limits) from None
    except (csv.Error, UnicodeDecodeError) as error:
        raise UnusableFile(N_("Row %(row)s cannot be read: %(reason)s"), row=reader.line_num, reason=str(error)[:120]) from None


def _xlsx_rows(rows: Iterator[tuple[int, list[Any]]], width: int) -> Iterator[SourceRow]:
    for number, values in rows:
        shaped = _shaped(number, [v if type(v) is str and v[:1] != "'" else _text(v) for v in values], width)
        if shaped is not None:
            yield shaped


def read_header(path: Path, file_format: str, limits: ReadLimits = DEFAULT_LIMITS, mapping: Any = None) -> tuple[list[str], dict[str, int], list[str], int | None]:
    """Check the file up front (columns, limits) without reading its rows: header, columns,
    unknown columns and the estimated number of rows."""
    with open_table(path, file_format, limits, mapping) as table:
        return table.header, table.columns, table.unknown_columns, table.estimated_rows


__all__ = ["UnusableFile", "SourceRow", "Table", "open_table", "detect_format", "read_header", "columns_of"]
