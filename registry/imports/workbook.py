"""The parts of a workbook around its rows: where the first sheet is, the shared strings,
which cell styles are dates, the date system. Read with expat (see sheet.py), DTDs refused."""
from __future__ import annotations

import posixpath
from datetime import datetime
from typing import Any, Callable
from xml.parsers import expat

from openpyxl.styles.numbers import builtin_format_code, is_date_format, is_timedelta_format
from openpyxl.utils.datetime import CALENDAR_MAC_1904, WINDOWS_EPOCH

from registry.imports.archive import DAMAGED, WORKBOOK, WorkbookArchive
from registry.imports.errors import UnusableFile
from registry.imports.limits import ReadLimits

BLOCK = 1 << 16
MAX_CELL_FORMATS = 65_536  # Excel keeps at most 64,000
_NAMESPACES = ("http://schemas.openxmlformats.org/spreadsheetml/2006/main", "http://purl.oclc.org/ooxml/spreadsheetml/main")
LOCAL = {f"{ns}}}{local}": local for ns in _NAMESPACES for local in (
    "c", "v", "t", "is", "row", "rPh", "dimension", "si", "sheet", "workbookPr", "numFmt", "cellXfs", "xf")}
_RELATIONSHIP = "http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
OVERLONG_STRING = object()  # a shared string over the cell limit: refused where a cell uses it


def parser_for(start: Callable[..., None], end: Callable[[str], None] | None = None,
               data: Callable[[str], None] | None = None) -> Any:
    """An expat parser calling these handlers with namespaced names ("ns}local"); a DTD (the
    only way to an entity, or to anything outside the part) refuses the file."""
    parser = expat.ParserCreate(namespace_separator="}")
    parser.buffer_text = True

    def no_dtd(*_args: Any) -> None:
        raise UnusableFile(DAMAGED, reason="DTD")

    parser.StartDoctypeDeclHandler = no_dtd
    parser.EntityDeclHandler = no_dtd
    parser.StartElementHandler = start
    if end is not None:
        parser.EndElementHandler = end
    if data is not None:
        parser.CharacterDataHandler = data
    return parser


def feed(parser: Any, block: bytes, final: bool = False) -> None:
    """Parse a block of a part; malformed XML refuses the file."""
    try:
        parser.Parse(block, final)
    except expat.ExpatError as error:
        raise UnusableFile(DAMAGED, reason=f"XML line {error.lineno}") from None


class Workbook:
    """Where the worksheets (in the workbook's order), the shared strings and the styles are,
    and the date system."""

    def __init__(self, archive: WorkbookArchive, limits: ReadLimits) -> None:
        self.archive, self.limits = archive, limits
        sheet_ids: list[tuple[str, str]] = []  # (relationship id, sheet name)
        flags = {"date1904": False}

        def in_workbook(name: str, attrs: dict[str, str]) -> None:
            local = LOCAL.get(name)
            if local == "sheet":
                sheet_ids.extend((v, attrs.get("name", "")[:100]) for k, v in attrs.items() if k.endswith("}id"))
            elif local == "workbookPr":
                flags["date1904"] = attrs.get("date1904", "").lower() in ("1", "true")

        feed(parser_for(in_workbook), archive.read(WORKBOOK), final=True)
        targets: dict[str, tuple[str, str]] = {}  # id -> (type, part name)

        def in_rels(name: str, attrs: dict[str, str]) -> None:
            if name == _RELATIONSHIP and attrs.get("TargetMode") != "External":
                targets[attrs.get("Id", "")] = (attrs.get("Type", ""), self._part(attrs.get("Target", "")))

        rels = "xl/_rels/workbook.xml.rels"
        if rels in archive.names:
            feed(parser_for(in_rels), archive.read(rels), final=True)
        self.sheets = [(name, targets[i][1]) for i, name in sheet_ids
                       if i in targets and targets[i][0].endswith("/worksheet") and targets[i][1] in archive.names]
        if not self.sheets:
            raise UnusableFile(DAMAGED, reason="no worksheet")
        self.sheet = self.sheets[0][1]
        self._strings: list[Any] | None = None
        self.shared_strings = next((p for t, p in targets.values() if t.endswith("/sharedStrings") and p in archive.names), None)
        self.styles = next((p for t, p in targets.values() if t.endswith("/styles") and p in archive.names), None)
        self.epoch: datetime = CALENDAR_MAC_1904 if flags["date1904"] else WINDOWS_EPOCH

    @staticmethod
    def _part(target: str) -> str:
        name = target[1:] if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
        return "" if name.startswith("..") else name

    def strings(self) -> list[Any]:
        """The shared strings table (read once); one longer than a cell may be is kept as a marker only."""
        if self._strings is None:
            self._strings = self._read_strings()
        return self._strings

    def _read_strings(self) -> list[Any]:
        strings: list[Any] = []
        if self.shared_strings is None:
            return strings
        cap = self.limits.cell_chars
        state = {"parts": [], "chars": 0, "in_t": False, "phonetic": 0}

        def start(name: str, _attrs: dict[str, str]) -> None:
            local = LOCAL.get(name)
            if local == "t":
                state["in_t"] = not state["phonetic"]
            elif local == "si":
                state["parts"], state["chars"] = [], 0
            elif local == "rPh":
                state["phonetic"] += 1

        def end(name: str) -> None:
            local = LOCAL.get(name)
            if local == "t":
                state["in_t"] = False
            elif local == "si":
                text = "".join(state["parts"]).replace("x005F_", "")  # as openpyxl reads them
                strings.append(OVERLONG_STRING if state["chars"] > cap else text)
            elif local == "rPh":
                state["phonetic"] -= 1

        def data(text: str) -> None:
            if state["in_t"]:
                state["chars"] += len(text)
                if state["chars"] <= cap:
                    state["parts"].append(text)

        parser = parser_for(start, end, data)
        with self.archive.open(self.shared_strings) as part:
            while block := part.read(BLOCK):
                feed(parser, block)
            feed(parser, b"", final=True)
        return strings

    def date_styles(self) -> tuple[frozenset[int], frozenset[int]]:
        """Cell styles whose number format shows a date, and those that show a duration."""
        if self.styles is None:
            return frozenset(), frozenset()
        custom: dict[int, str] = {}
        formats: list[int] = []
        depth = {"cellXfs": 0}

        def start(name: str, attrs: dict[str, str]) -> None:
            local = LOCAL.get(name)
            if local == "numFmt":
                custom[_int(attrs.get("numFmtId"))] = attrs.get("formatCode", "")
            elif local == "cellXfs":
                depth["cellXfs"] += 1
            elif local == "xf" and depth["cellXfs"]:
                if len(formats) >= MAX_CELL_FORMATS:
                    raise UnusableFile(DAMAGED, reason="styles")
                formats.append(_int(attrs.get("numFmtId")))

        def end(name: str) -> None:
            if LOCAL.get(name) == "cellXfs":
                depth["cellXfs"] -= 1

        feed(parser_for(start, end), self.archive.read(self.styles), final=True)
        codes = [custom.get(f) or builtin_format_code(f) for f in formats]
        return (frozenset(i for i, c in enumerate(codes) if is_date_format(c)),
                frozenset(i for i, c in enumerate(codes) if is_timedelta_format(c)))


def _int(text: str | None) -> int:
    try:
        return int(text or 0)
    except ValueError:
        raise UnusableFile(DAMAGED, reason="styles") from None
