"""XLS (Excel 97-2003) and ODS (LibreOffice, OpenDocument) sheets, read with python-calamine.

Calamine reads a whole sheet into memory, so these formats are bounded before it opens them:
an ODS is a zip, unpacked to its end through archive.py's meters first (detect_format); an
XLS (OLE2, uncompressed, at most 65,536 rows) by its file size. Both are opened only in the
child processes with a memory limit (isolated.py, runner.py). Its cells then pass the same
limits (columns, characters) and the same conversion to text as CSV and XLSX cells.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from registry.i18n import N_
from registry.imports.errors import CELL_TOO_LONG, UnusableFile, too_wide
from registry.imports.limits import MiB, ReadLimits

DAMAGED_SHEET = N_("The spreadsheet cannot be opened (%(reason)s). Save it again as .xlsx or CSV UTF-8.")
XLS_TOO_BIG = N_("The .xls file is larger than %(mb)s MB, more than an import may read. Save it as .xlsx or CSV UTF-8.")


def _damaged(error: BaseException) -> UnusableFile:
    """Calamine's errors, and its panics (pyo3's PanicException, a BaseException) on a
    damaged file, as the file's reason; anything else goes on up."""
    if isinstance(error, (MemoryError, UnusableFile)) or not (
            isinstance(error, Exception) or type(error).__name__ == "PanicException"):
        raise error
    return UnusableFile(DAMAGED_SHEET, reason=type(error).__name__)


def open_book(path: Path, file_format: str, limits: ReadLimits) -> Any:
    """The workbook as calamine opens it; any failure of a damaged file is a reason."""
    from python_calamine import CalamineWorkbook  # a compiled reader: only the formats that need it load it

    if file_format == "xls" and path.stat().st_size > limits.xls_bytes:
        raise UnusableFile(XLS_TOO_BIG, mb=-(-limits.xls_bytes // MiB))  # rounded up
    try:
        return CalamineWorkbook.from_path(str(path))
    except BaseException as error:  # calamine's own errors (CalamineError, PasswordError, XmlError, ZipError…)
        raise _damaged(error) from None


def worksheet_names(book: Any) -> list[str]:
    """The workbook's worksheets in its order (chart sheets and macro sheets left out)."""
    try:
        names = [m.name for m in book.sheets_metadata if str(m.typ).endswith("WorkSheet")]
    except BaseException as error:
        raise _damaged(error) from None
    if not names:
        raise UnusableFile(DAMAGED_SHEET, reason="no worksheet")
    return names


def open_sheet(book: Any, name: str) -> Any:
    try:
        return book.get_sheet_by_name(name)
    except BaseException as error:
        raise _damaged(error) from None


def sheet_rows(sheet: Any, limits: ReadLimits) -> Iterator[tuple[int, list[Any]]]:
    """(spreadsheet row number, cell values) of a sheet, every cell within the limits."""
    try:
        rows = sheet.iter_rows()
        pad = [""] * sheet.start[1] if sheet.start else []  # calamine's rows begin at the first used column
    except BaseException as error:
        raise _damaged(error) from None
    cell_chars, columns = limits.cell_chars, limits.columns
    number = 0
    while True:
        try:
            values = next(rows)
        except StopIteration:
            return
        except BaseException as error:
            raise _damaged(error) from None
        number += 1
        if pad:
            values = pad + values
        if len(values) > columns:
            if any(v not in ("", None) for v in values[columns:]):
                raise too_wide(number, columns)
            del values[columns:]
        for value in values:
            if isinstance(value, str) and len(value) > cell_chars:
                raise UnusableFile(CELL_TOO_LONG, row=number, limit=cell_chars)
        yield number, values


def last_row(sheet: Any) -> int | None:
    try:
        return sheet.end[0] + 1 if sheet.end else None
    except BaseException as error:
        raise _damaged(error) from None
