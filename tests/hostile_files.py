"""Files built to hurt an importer: workbooks that lie or unpack to far more than they hold,
headers a million columns wide, rows and cells past every limit."""
from __future__ import annotations

import io
import re
import struct
import warnings
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

from tests.import_files import HEADER

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
SHEET = "xl/worksheets/sheet1.xml"
_PARTS = {
    "[Content_Types].xml": '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
    "_rels/.rels": '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
    "xl/workbook.xml": f'<?xml version="1.0"?><workbook xmlns="{MAIN}" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="s" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
}


def cell(column: int, row: int, text: str) -> str:
    letters = ""
    while column:
        column, rest = divmod(column - 1, 26)
        letters = chr(65 + rest) + letters
    return f'<c r="{letters}{row}" t="inlineStr"><is><t>{escape(text)}</t></is></c>'


def sheet_xml(rows: list[list[str]]) -> str:
    """A worksheet of inline strings; row 1 first."""
    body = "".join(f'<row r="{r}">' + "".join(cell(c, r, v) for c, v in enumerate(row, 1) if v) + "</row>"
                   for r, row in enumerate(rows, 1))
    return f'<?xml version="1.0"?><worksheet xmlns="{MAIN}"><sheetData>{body}</sheetData></worksheet>'


def workbook(sheet: str | bytes, *, shared_strings: list[str] | None = None,
             extra: tuple[tuple[str, bytes], ...] = ()) -> bytes:
    """A minimal XLSX around `sheet` (and a shared strings table, and more parts, if given)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in _PARTS.items():
            archive.writestr(name, text)
        archive.writestr(SHEET, sheet)
        if shared_strings is not None:
            archive.writestr("xl/sharedStrings.xml", f'<?xml version="1.0"?><sst xmlns="{MAIN}">'
                             + "".join(f"<si><t>{escape(s)}</t></si>" for s in shared_strings) + "</sst>")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Duplicate name": wanted here
            for name, data in extra:
                archive.writestr(name, data)
    return out.getvalue()


def many_strings_workbook(sheet: str, count: int, length: int) -> bytes:
    """A workbook with a shared strings table of `count` distinct strings of `length`
    characters, written part by part (the test never holds the table)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in _PARTS.items():
            archive.writestr(name, text)
        archive.writestr(SHEET, sheet)
        with archive.open("xl/sharedStrings.xml", "w") as part:
            part.write(f'<?xml version="1.0"?><sst xmlns="{MAIN}">'.encode())
            padding = "s" * (length - 8)
            for start in range(0, count, 1000):
                part.write("".join(f"<si><t>{i:08d}{padding}</t></si>" for i in range(start, min(start + 1000, count))).encode())
            part.write(b"</sst>")
    return out.getvalue()


def zeros_workbook(megabytes: int) -> bytes:
    """A workbook whose sheet is `megabytes` MB of zero bytes, deflated to about a thousandth."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in _PARTS.items():
            archive.writestr(name, text)
        with archive.open(SHEET, "w") as part:
            block = bytes(1 << 20)
            for _ in range(megabytes):
                part.write(block)
    return out.getvalue()


def declaring(data: bytes, name: str, size: int) -> bytes:
    """The archive with its central directory declaring `size` unpacked bytes for `name`."""
    patched = bytearray(data)
    for entry in re.finditer(rb"PK\x01\x02", data):
        start = entry.start()
        length = struct.unpack_from("<H", data, start + 28)[0]
        if data[start + 46:start + 46 + length] == name.encode():
            struct.pack_into("<I", patched, start + 24, size)
    return bytes(patched)


def encrypted(data: bytes, name: str) -> bytes:
    """The archive with `name` flagged as encrypted in its central directory."""
    patched = bytearray(data)
    for entry in re.finditer(rb"PK\x01\x02", data):
        start = entry.start()
        length = struct.unpack_from("<H", data, start + 28)[0]
        if data[start + 46:start + 46 + length] == name.encode():
            flags = struct.unpack_from("<H", data, start + 8)[0]
            struct.pack_into("<H", patched, start + 8, flags | 0x1)
    return bytes(patched)


def wide_csv(path: Path, columns: int) -> Path:
    """A CSV whose header has `columns` columns (the template's first)."""
    names = HEADER + [f"extra_{i}" for i in range(columns - len(HEADER))]
    path.write_text(",".join(names) + "\r\n", encoding="utf-8")
    return path


def wide_xlsx_header(columns: int) -> bytes:
    """A workbook whose first row has `columns` filled cells, each named differently (so that
    it packs like a real sheet, not like a zip bomb), without cell references."""
    cells = "".join(f'<c t="inlineStr"><is><t>c{i}</t></is></c>' for i in range(columns))
    return workbook(f'<?xml version="1.0"?><worksheet xmlns="{MAIN}"><sheetData><row r="1">{cells}</row></sheetData></worksheet>')


def zeros_zip(megabytes: int, inside: str = "submissions.csv", before: tuple[tuple[str, bytes], ...] = ()) -> bytes:
    """A zip whose one table (after any parts given) is `megabytes` MB of zero bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in before:
            archive.writestr(name, data)
        with archive.open(inside, "w") as part:
            block = bytes(1 << 20)
            for _ in range(megabytes):
                part.write(block)
    return out.getvalue()


def nested_zip(inner: bytes) -> bytes:
    """A CSV and, beside it, another archive (a zip bomb one level down, say)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("submissions.csv", ",".join(HEADER) + "\r\n")
        archive.writestr("attachments.zip", inner)
    return out.getvalue()


def wide_zipped_csv(columns: int) -> bytes:
    """A zipped CSV whose header has `columns` columns, each named differently."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("wide.csv", ",".join(HEADER + [f"extra_{i}" for i in range(columns - len(HEADER))]) + "\r\n")
    return out.getvalue()


def zeros_ods(megabytes: int) -> bytes:
    """An OpenDocument spreadsheet whose content.xml is `megabytes` MB of zero bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        with archive.open("content.xml", "w") as part:
            block = bytes(1 << 20)
            for _ in range(megabytes):
                part.write(block)
    return out.getvalue()


def entity_ods() -> bytes:
    """An ODS whose content.xml declares entities that expand a billion-fold (billion laughs)."""
    from tests.import_files import ods_bytes

    laughs = "".join(f'<!ENTITY l{i} "{"&l%d;" % (i - 1) * 10}">' for i in range(1, 10))
    data = ods_bytes('<table:table table:name="s"><table:table-row><table:table-cell office:value-type="string">'
                     "<text:p>&l9;</text:p></table:table-cell></table:table-row></table:table>")
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in source.infolist():
            content = source.read(item)
            if item.filename == "content.xml":
                content = content.replace(b"?><office:", f'?><!DOCTYPE office:document-content [<!ENTITY l0 "lol">{laughs}]><office:'.encode(), 1)
            archive.writestr(item, content)
    return out.getvalue()
