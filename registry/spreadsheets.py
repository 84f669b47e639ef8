"""Writing CSV and XLSX that a spreadsheet opens safely: no cell ever runs as a formula."""
from __future__ import annotations

import csv
import io
import re
from typing import Any, Iterable, Iterator

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def neutralise(value: Any) -> str:
    """Text of a cell; one starting like a formula gets a leading apostrophe (read back off on import)."""
    text = "" if value is None else str(value)
    text = _CONTROL.sub("\ufffd", text)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_chunks(rows: Iterable[Iterable[Any]], *, bom: bool = True, rows_per_chunk: int = 500) -> Iterator[str]:
    """The rows as CSV text in blocks, for streaming a large file without holding it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if bom:
        buffer.write("\ufeff")
    for count, row in enumerate(rows, start=1):
        writer.writerow([neutralise(cell) for cell in row])
        if count % rows_per_chunk == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def append_xlsx_rows(sheet: Any, rows: Iterable[Iterable[Any]]) -> None:
    """Append rows to an openpyxl sheet; strings neutralised, numbers kept as numbers."""
    for row in rows:
        sheet.append([cell if isinstance(cell, (int, float)) and not isinstance(cell, bool) else neutralise(cell) for cell in row])
