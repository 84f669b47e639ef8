"""A sheet of an XLSX (the first, or the one chosen), read with expat as it is decompressed, every row bounded.

Not openpyxl's read-only mode: before it gives the first row it scans the whole sheet when
the sheet has no `<dimension>` (openpyxl itself writes none: 63 s for a million rows), and
it builds each row whole, however many cells the XML puts in it. Here the header arrives
after one block of the sheet, a row keeps at most `limits.columns` cells and a cell
`limits.cell_chars` characters (checked as the text arrives), nothing of a finished row is
kept, and a DTD is refused, so no entity can expand. Values come out as openpyxl gives
them (its number-format and date helpers decide), so a CSV and an XLSX of the same rows
read the same (tests/test_xlsx_reading.py).
"""
from __future__ import annotations

from typing import Any, Iterator

from openpyxl.utils.datetime import from_excel, from_ISO8601

from registry.imports.archive import DAMAGED, WorkbookArchive
from registry.imports.errors import CELL_TOO_LONG, UnusableFile, too_wide
from registry.imports.limits import ReadLimits
from registry.imports.workbook import BLOCK, LOCAL, OVERLONG_STRING, Workbook, feed, parser_for

MAX_ROW = 1_048_576  # Excel's last row…
MAX_COLUMN = 16_384  # …and column (XFD): cells come in column order, so a row has at most this many
_LETTERS = {chr(65 + i): i + 1 for i in range(26)}


class SheetReader:
    """Rows of a sheet (the first unless told) as (spreadsheet row number, cell values), as
    openpyxl types them."""

    def __init__(self, archive: WorkbookArchive, limits: ReadLimits, book: Workbook | None = None,
                 sheet: str | None = None) -> None:
        book = book or Workbook(archive, limits)
        self._book = book
        self._archive, self._sheet, self._limits = archive, sheet or book.sheet, limits
        self._strings = book.strings()
        self._dates, self._durations = book.date_styles()
        self._epoch = book.epoch
        self.last_row: int | None = None  # from the sheet's <dimension>, if it has one
        self._done: list[tuple[int, list[Any]]] = []
        self._row_number = 0
        self._values: list[Any] = []
        self._column = 0
        self._last_column = 0
        self._type = "n"
        self._style = 0
        self._parts: list[str] = []
        self._chars = 0
        self._collect = False
        self._inline = False
        self._inline_text: str | None = None
        self._phonetic = 0
        self._columns_cache: dict[str, int] = {}

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        parser = parser_for(self._start, self._end, self._data)
        done = self._done
        with self._archive.open(self._sheet) as part:
            while True:
                block = part.read(BLOCK)
                try:
                    feed(parser, block, final=not block)
                except UnusableFile:
                    yield from done  # the rows before the one at fault are good
                    raise
                if done:
                    yield from done
                    done.clear()
                if not block:
                    return

    # expat callbacks: the hot path of an XLSX import
    def _start(self, name: str, attrs: dict[str, str]) -> None:
        local = LOCAL.get(name)
        if local == "c":
            ref = attrs.get("r")
            self._column = self._column_of(ref) if ref else self._column + 1
            self._type = attrs.get("t", "n")
            style = attrs.get("s")
            self._style = int(style) if style and style.isdecimal() else 0
            self._parts = []
            self._chars = 0
            self._inline_text = None
        elif local == "v":
            self._collect = True
        elif local == "t":
            self._collect = self._inline and not self._phonetic
        elif local == "is":
            self._inline = True
        elif local == "row":
            ref = attrs.get("r")
            number = int(ref) if ref and ref.isdecimal() else self._row_number + 1
            if number <= self._row_number or number > MAX_ROW:
                raise UnusableFile(DAMAGED, reason=f"row {str(ref)[:12]}")
            self._row_number = number
            self._values = []
            self._column = self._last_column = 0
        elif local == "rPh":
            self._phonetic += 1
        elif local == "dimension":
            last = attrs.get("ref", "").rpartition(":")[2].lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
            self.last_row = int(last) if last.isdecimal() else None

    def _end(self, name: str) -> None:
        local = LOCAL.get(name)
        if local == "c":
            self._cell()
        elif local in ("v", "t"):
            self._collect = False
        elif local == "is":
            self._inline = False
            self._inline_text = "".join(self._parts)
            self._parts = []
        elif local == "row":
            self._done.append((self._row_number, self._values))
        elif local == "rPh":
            self._phonetic -= 1

    def _data(self, text: str) -> None:
        if self._collect:
            self._chars += len(text)
            if self._chars > self._limits.cell_chars:
                raise UnusableFile(CELL_TOO_LONG, row=self._row_number, limit=self._limits.cell_chars)
            self._parts.append(text)

    def _column_of(self, ref: str) -> int:
        letters = ref.rstrip("0123456789")
        column = self._columns_cache.get(letters)
        if column is None:
            if not 0 < len(letters) <= 3 or any(ch not in _LETTERS for ch in letters):
                raise UnusableFile(DAMAGED, reason=f"cell {ref[:12]}")
            column = column_number(letters, ref)
            self._columns_cache[letters] = column
        return column

    def _cell(self) -> None:
        value = self._value()
        column = self._column
        if column <= self._last_column or column > MAX_COLUMN:
            raise UnusableFile(DAMAGED, reason=f"row {self._row_number}")
        self._last_column = column
        if column > self._limits.columns:
            if value is not None and value != "":
                raise too_wide(self._row_number, self._limits.columns)
            return
        values = self._values
        filled = len(values)
        if column > filled + 1:
            values.extend([None] * (column - filled - 1))
        values.append(value)

    def _value(self) -> Any:
        kind = self._type
        if kind == "inlineStr":
            return self._inline_text
        text = "".join(self._parts) or None
        if text is None:
            return None
        if kind == "s":
            return shared_string(self._strings, text, self._row_number, self._limits)
        return convert(kind, self._style, text, self._row_number, self._dates, self._durations, self._epoch)


def column_number(letters: str, ref: str) -> int:
    """A column's number from its letters (A = 1, XFD = 16,384); beyond Excel's last refuses."""
    column = 0
    for ch in letters:
        column = column * 26 + _LETTERS[ch]
    if column > MAX_COLUMN:
        raise UnusableFile(DAMAGED, reason=f"cell {ref[:12]}")
    return column


def shared_string(strings: list[Any], text: str, row: int, limits: ReadLimits) -> Any:
    """The shared string a cell of type "s" points to; a bad index or an overlong one refuses."""
    try:
        value = strings[int(text)]
    except (ValueError, IndexError):
        raise UnusableFile(DAMAGED, reason=f"row {row}") from None
    if value is OVERLONG_STRING:
        raise UnusableFile(CELL_TOO_LONG, row=row, limit=limits.cell_chars)
    return value


def convert(kind: str, style: int, text: str, row: int, dates: frozenset[int], durations: frozenset[int],
            epoch: Any) -> Any:
    """A cell's value from its type, style and text (not a shared string), as openpyxl types it."""
    try:
        if kind == "n":
            number: int | float = float(text) if ("." in text or "e" in text or "E" in text) else int(text)
            if style in dates:
                try:
                    return from_excel(number, epoch, timedelta=style in durations)
                except (OverflowError, ValueError):
                    return "#VALUE!"
            return number
        if kind == "b":
            return bool(int(text))
        if kind == "d":
            return from_ISO8601(text)
    except (ValueError, TypeError):
        raise UnusableFile(DAMAGED, reason=f"row {row}") from None
    return text  # "str" (a formula's text), "e" (an error such as #N/A)
