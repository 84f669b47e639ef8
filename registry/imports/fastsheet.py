"""A faster reader for the sheets Excel, LibreOffice and openpyxl write: the rows of the sheet
XML scanned as text with regular expressions, a row at a time, not through expat's callbacks
(about 3 times less CPU: bench/xlsx_read_bench.py, README "Figures"). Anything it does not know for sure — a DTD, a comment, a
formula, rich text, an entity other than XML's five, prefixed names, another encoding —
hands the sheet to the expat reader (sheet.py), which goes on after the last row given.

The same limits hold (columns, cell characters, row order, Excel's last row and column) and
values convert as sheet.py converts them, so both readers give the same rows
(tests/test_xlsx_reading.py compares them).
"""
from __future__ import annotations

import re
from typing import Any, Iterator

from registry.imports.archive import DAMAGED
from registry.imports.errors import CELL_TOO_LONG, UnusableFile, too_wide
from registry.imports.sheet import MAX_ROW, SheetReader, column_number, convert, shared_string
from registry.imports.workbook import BLOCK

PREAMBLE_BYTES = 1 << 20  # what may come before <sheetData> (the sheet's views, columns…)
ROW_BYTES = 4 << 20  # a row's XML held at once: 500 full cells of Khmer text take ~3 MB
_SHEET_DATA = re.compile(rb"<sheetData>")
_DIMENSION = re.compile(rb'<dimension ref="([^"<]*)"')
_DECLARATION = re.compile(rb'^<\?xml[^>]*?\?>')
_ROW = re.compile(r'[ \t\r\n]*<row r="([0-9]+)"(?: [a-zA-Z:]+="[^"<]*")*[ \t\r\n]*>')
_CELL = re.compile(
    r'<c r="([A-Z]{1,3})[0-9]+"((?: [a-z]="[^"<]*")*)[ \t\r\n]*'
    r'(?:(/)>|>(?:<v>([^<]*)</v>|<is><t(?: xml:space="preserve")?>([^<]*)</t></is>|)</c>)')
_ATTRIBUTE = re.compile(r' ([a-z])="([^"<]*)"')
_ENTITY = re.compile(r"&(#[0-9]+|#x[0-9a-fA-F]+|amp|lt|gt|quot|apos);")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # not allowed in XML: expat refuses them


def _letters(column: int) -> str:
    letters = ""
    while column:
        column, rest = divmod(column - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


class Unusual(Exception):
    """Something the scan does not handle: the expat reader takes over."""


def _unescaped(text: str) -> str:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")  # XML's line-end normalisation
    if "&" not in text:
        return text
    if text.count("&") != len(_ENTITY.findall(text)):
        raise Unusual  # an entity XML does not define: expat refuses the file
    return _ENTITY.sub(_entity, text)


def _entity(match: re.Match[str]) -> str:
    name = match.group(1)
    if name[0] != "#":
        return _NAMED[name]
    code = int(name[2:], 16) if name[1] == "x" else int(name[1:])
    if code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or 0x10000 <= code <= 0x10FFFF:
        return chr(code)
    raise Unusual  # a character XML does not allow


class FastSheetReader(SheetReader):
    """SheetReader's rows, scanned; the expat reader finishes a sheet the scan cannot."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._column_numbers: dict[str, int] = {}
        self._attribute_cache: dict[str, tuple[str, int]] = {}  # a cell's attributes -> (type, style)
        self._letters = [_letters(n) for n in range(1, self._limits.columns + 2)]  # A, B… one past the limit

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        last = 0
        try:
            for number, values in self._scanned():
                last = number
                yield number, values
            return
        except Unusual:
            pass
        expat_reader = SheetReader(self._archive, self._limits, self._book, self._sheet)
        for number, values in expat_reader.rows():
            self.last_row = expat_reader.last_row
            if number > last:
                yield number, values

    def _scanned(self) -> Iterator[tuple[int, list[Any]]]:
        with self._archive.open(self._sheet) as part:
            buffer = b""
            while (found := _SHEET_DATA.search(buffer)) is None:
                block = part.read(BLOCK)
                if not block or len(buffer) > PREAMBLE_BYTES:
                    raise Unusual
                buffer += block
            preamble = buffer[:found.start()]
            declaration = _DECLARATION.match(preamble)
            if (b"<!" in preamble or b"<?" in preamble[declaration.end() if declaration else 0:]
                    or (declaration and b"encoding" in declaration.group() and not re.search(
                        rb'encoding=["\'](?i:utf-8)["\']', declaration.group()))):
                raise Unusual  # a DTD, a comment, another encoding: expat's to judge
            if dimension := _DIMENSION.search(preamble):
                last = dimension.group(1).decode("ascii", "replace").rpartition(":")[2].lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
                self.last_row = int(last) if last.isdecimal() else None
            buffer = buffer[found.end():]
            previous = searched = 0
            while True:
                block = part.read(BLOCK)
                buffer += block
                end = buffer.rfind(b"</row>", searched)
                if end < 0:
                    if len(buffer) > ROW_BYTES:
                        raise Unusual  # a row this long is the expat reader's, which streams it cell by cell
                    searched = max(len(buffer) - 5, 0)  # what is left of the buffer holds no end of row
                else:
                    searched = 0
                    complete, buffer = buffer[:end], buffer[end + 6:]
                    if _CONTROL.search(complete):
                        raise Unusual
                    for piece in complete.split(b"</row>"):
                        number, values = self._row(piece, previous)
                        previous = number
                        yield number, values
                if not block:
                    rest = buffer.strip()
                    if not rest.startswith(b"</sheetData>") or b"<row" in rest:
                        raise Unusual
                    return

    def _row(self, piece: bytes, previous: int) -> tuple[int, list[Any]]:
        try:
            text = piece.decode()
        except UnicodeDecodeError:
            raise Unusual from None
        head = _ROW.match(text)
        if head is None:
            raise Unusual
        number = int(head.group(1))
        if number <= previous or number > MAX_ROW:
            raise UnusableFile(DAMAGED, reason=f"row {number}")
        cells = _CELL.findall(text, head.end())
        # Every cell matched, and nothing else in the row: the "<" of the row's tag and of each
        # cell's shape (<c/>, <c></c>, <c><v></v></c>, <c><is><t></t></is></c>), counted in C.
        if text.count("<c ") != len(cells) or text.count("<") != (
                1 + len(cells) + text.count("</c>") + 2 * text.count("<v>") + 4 * text.count("<is>")):
            raise Unusual
        plain = "&" not in text and "\r" not in text and len(text) <= self._limits.cell_chars
        attributes = self._attribute_cache
        values: list[Any] = []
        append = values.append
        if [cell[0] for cell in cells] == self._letters[:len(cells)]:  # A, B, C… with no gap
            for _letters, attrs, _closed, value, inline in cells:
                kind, style = attributes.get(attrs) or self._attributes_of(attrs)
                if inline:
                    if kind != "inlineStr":
                        raise Unusual
                    append(inline if plain else self._text(inline, number))
                elif value:
                    append(self._converted(kind, style, value if plain else self._text(value, number), number))
                else:
                    append(None)
            if len(values) > self._limits.columns:
                if any(v is not None and v != "" for v in values[self._limits.columns:]):
                    raise too_wide(number, self._limits.columns)
                del values[self._limits.columns:]
            return number, values
        last_column = 0
        limits = self._limits
        columns = self._column_numbers
        for letters, attrs, _closed, value, inline in cells:
            column = columns.get(letters) or self._column_number(letters)
            kind, style = attributes.get(attrs) or self._attributes_of(attrs)
            if inline:
                if kind != "inlineStr":
                    raise Unusual
                cell: Any = self._text(inline, number)
            elif value:
                cell = self._converted(kind, style, self._text(value, number), number)
            else:
                cell = None
            if column <= last_column:  # after the value, as the expat reader checks them
                raise UnusableFile(DAMAGED, reason=f"row {number}")
            last_column = column
            if column > limits.columns:
                if cell is not None and cell != "":
                    raise too_wide(number, limits.columns)
                continue
            if column > len(values) + 1:
                values.extend([None] * (column - len(values) - 1))
            values.append(cell)
        return number, values

    def _text(self, raw: str, number: int) -> str:
        text = _unescaped(raw)
        if len(text) > self._limits.cell_chars:
            raise UnusableFile(CELL_TOO_LONG, row=number, limit=self._limits.cell_chars)
        return text

    def _converted(self, kind: str, style: int, text: str, number: int) -> Any:
        if kind == "s":
            return shared_string(self._strings, text, number, self._limits)
        if kind == "inlineStr":
            return None  # a <v> in an inline string cell: expat's reader ignores it too
        return convert(kind, style, text, number, self._dates, self._durations, self._epoch)

    def _column_number(self, letters: str) -> int:
        column = column_number(letters, letters)
        self._column_numbers[letters] = column
        return column

    def _attributes_of(self, attrs: str) -> tuple[str, int]:
        found = dict(_ATTRIBUTE.findall(attrs))
        if set(found) - {"t", "s"} or "&" in attrs:
            raise Unusual  # another attribute of a cell (cm, vm, ph…), an entity: expat's to read
        style = found.get("s", "0")
        kind_style = (found.get("t", "n"), int(style) if style.isdecimal() and style.isascii() else 0)
        if len(self._attribute_cache) < 10_000:
            self._attribute_cache[attrs] = kind_style
        return kind_style
