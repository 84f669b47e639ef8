"""Reading outreach files: CSV (UTF-8, Excel/LibreOffice) and XLSX, streamed row by row.

Every read is bounded by `ReadLimits`: a CSV row is measured while its lines are read
(before the csv module splits it), an XLSX through `archive` and `sheet`; a header or a row
with too many columns, or a cell that is too long, stops the file with a reason.
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
from registry.imports.archive import WorkbookArchive
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


def detect_format(path: Path, filename: str, limits: ReadLimits = DEFAULT_LIMITS) -> str:
    """'csv' or 'xlsx', by the file's name and by its content, which must agree.

    A workbook is unpacked here to its last byte (within the limits, keeping nothing), so a
    zip bomb or a damaged part is refused before any row is read."""
    suffix = Path(filename).suffix.lower()
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if suffix == ".xlsx":
        if not head.startswith(b"PK\x03\x04"):
            raise UnusableFile(N_("The file is named .xlsx but is not an Excel workbook. Save it again as .xlsx or CSV UTF-8."))
        with WorkbookArchive(path, limits) as archive:
            archive.verify()
        return "xlsx"
    if suffix in TEXT_SUFFIXES:
        if head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
            raise UnusableFile(N_("The file is named .csv but is a spreadsheet. Upload it as .xlsx, or save it as CSV UTF-8."))
        encoding = text_encoding(head)
        try:
            codecs.getincrementaldecoder(encoding)().decode(head, final=len(head) < SNIFF_BYTES)
        except UnicodeDecodeError:
            if encoding == "utf-16":
                raise UnusableFile(N_("The file says it is UTF-16 text but cannot be read as such. Save it again as “CSV UTF-8”.")) from None
            raise UnusableFile(N_("The file is not UTF-8 text. Save it again as “CSV UTF-8”.")) from None
        return "csv"
    raise UnusableFile(N_("Only .csv, .txt (tab-separated) and .xlsx files can be imported."))


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


def _metered_lines(fh: IO[str], used: list[int], limits: ReadLimits) -> Iterator[str]:
    """Lines for csv.reader; `used[0]` counts the characters of the row being read (the
    reader of the rows resets it), so no row grows past `limits.row_chars` in memory."""
    most = limits.row_chars
    readline = fh.readline
    while line := readline(most + 1):
        used[0] += len(line)
        if used[0] > most:
            raise _RowTooLong(wide=line.count(",") >= limits.columns)
        yield line


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
    """The file's header and a stream of its non-blank rows (memory stays flat).

    `mapping` (imports.mapping_rules.Mapping), when staff confirmed one, says which field each
    header cell is: its `columns(header)` renames the cells, then calls columns_of."""
    if file_format == "csv":
        with path.open("rb") as raw:
            encoding = text_encoding(raw.read(4))
        with path.open("r", encoding=encoding, newline="") as fh:
            first_line = fh.readline(limits.row_chars + 1)
            fh.seek(0)
            used = [0]
            reader = csv.reader(_metered_lines(fh, used, limits), delimiter=delimiter_of(first_line))
            try:
                header = [_text(h) for h in next(reader, [])]
            except _RowTooLong as error:
                raise _too_long(error, 1, limits) from None
            except (csv.Error, UnicodeDecodeError) as error:
                raise UnusableFile(N_("The first row cannot be read: %(reason)s"), reason=str(error)[:120]) from None
            header = _checked_cells(header, 1, limits)
            used[0] = 0
            if not any(h.strip() for h in header):
                raise UnusableFile(EMPTY_FIRST_ROW)
            columns, unknown = columns_of(header) if mapping is None else mapping.columns(header)
            estimate = max(_count_lines(path) - 1, 0)
            yield Table(header, columns, unknown, estimate, _csv_rows(reader, used, len(header), limits))
        return
    from registry.imports.sheet import SheetReader  # imports openpyxl's helpers (20 MB): CSV readers go without

    with WorkbookArchive(path, limits) as archive:
        sheet = SheetReader(archive, limits)
        rows = sheet.rows()
        first = next(rows, None)
        header = [_text(h) for h in first[1]] if first is not None and first[0] == 1 else []
        while header and not header[-1].strip():
            header.pop()
        if not header:
            raise UnusableFile(EMPTY_FIRST_ROW)
        columns, unknown = columns_of(header) if mapping is None else mapping.columns(header)
        estimate = max(sheet.last_row - 1, 0) if sheet.last_row else None
        yield Table(header, columns, unknown, estimate, _xlsx_rows(rows, len(header)))


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
        shaped = _shaped(number, [_text(v) for v in values], width)
        if shaped is not None:
            yield shaped


def read_header(path: Path, file_format: str, limits: ReadLimits = DEFAULT_LIMITS, mapping: Any = None) -> tuple[list[str], dict[str, int], list[str], int | None]:
    """Check the file up front (columns, limits) without reading its rows: header, columns,
    unknown columns and the estimated number of rows."""
    with open_table(path, file_format, limits, mapping) as table:
        return table.header, table.columns, table.unknown_columns, table.estimated_rows


__all__ = ["UnusableFile", "SourceRow", "Table", "open_table", "detect_format", "read_header", "columns_of"]
