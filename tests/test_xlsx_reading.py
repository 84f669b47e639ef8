"""The importer's own XLSX reader (sheet.py, workbook.py) reads what openpyxl reads, cell for cell."""
from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont

from registry.imports.archive import WorkbookArchive
from registry.imports.fastsheet import FastSheetReader
from registry.imports.limits import DEFAULT_LIMITS
from registry.imports.reading import _text, open_table
from registry.imports.sheet import SheetReader
from tests.hostile_files import MAIN, workbook
from tests.import_files import HEADER, good


def ours(path: Path) -> dict[int, list[str]]:
    """The rows as the expat reader gives them, and the same from the scanning reader."""
    with WorkbookArchive(path, DEFAULT_LIMITS) as archive:
        expat = {number: [_text(v) for v in values] for number, values in SheetReader(archive, DEFAULT_LIMITS).rows()}
    with WorkbookArchive(path, DEFAULT_LIMITS) as archive:
        scanned = {number: [_text(v) for v in values] for number, values in FastSheetReader(archive, DEFAULT_LIMITS).rows()}
    assert scanned == expat
    return expat


def openpyxl_reads(path: Path) -> dict[int, list[str]]:
    sheet = load_workbook(path, data_only=True).worksheets[0]
    rows = {}
    for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
        cells = [_text(v) for v in values]
        while cells and cells[-1] == "":
            cells.pop()
        if cells:
            rows[number] = cells
    return rows


def trimmed(rows: dict[int, list[str]]) -> dict[int, list[str]]:
    out = {}
    for number, cells in rows.items():
        while cells and cells[-1] == "":
            cells = cells[:-1]
        if cells:
            out[number] = cells
    return out


def test_a_workbook_written_by_openpyxl_reads_the_same(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append(good(1))
    sheet.append([])  # a blank row
    sheet.append(["employee", "ស្រី ពៅ", "female", datetime(1990, 1, 25), 123456789, "'=1+1", 12.0, 1201.5, True, False,
                  date(2024, 12, 20), time(13, 30), datetime(2024, 1, 2, 3, 4, 5)])
    sheet.append([None, None, "gap before"])
    sheet["P7"] = "far right"
    sheet["A9"] = "=SUM(1,2)"  # a formula without a cached value
    sheet["B9"] = 1e20
    sheet["C9"] = -0.5
    sheet["D9"] = CellRichText([TextBlock(InlineFont(b=True), "bold"), " and plain"])
    sheet["E9"] = "_x005F_x000D_ escaped"
    sheet["F9"] = "  spaces kept  "
    path = tmp_path / "openpyxl.xlsx"
    book.save(path)
    assert trimmed(ours(path)) == openpyxl_reads(path)


def test_a_workbook_with_shared_strings_styles_and_the_1904_calendar_reads_the_same(tmp_path: Path) -> None:
    strings = ["category", "name", "ស្រី", "a_x005F_b", "rich"]
    sheet = (f'<?xml version="1.0"?><worksheet xmlns="{MAIN}"><dimension ref="A1:E4"/><sheetData>'
             '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
             '<row r="3"><c r="A3" t="s"><v>2</v></c><c r="B3" s="1"><v>366</v></c><c r="C3" s="2"><v>1.5</v></c>'
             '<c r="D3" t="b"><v>1</v></c><c r="E3" t="e"><v>#N/A</v></c></row>'
             '<row r="4"><c r="A4" t="str"><f>A1</f><v>category</v></c><c r="C4" t="s"><v>3</v></c><c r="D4" t="s"><v>4</v></c>'
             '<c r="E4" s="3"><v>0.25</v></c></row>'
             "</sheetData></worksheet>")
    styles = (f'<?xml version="1.0"?><styleSheet xmlns="{MAIN}"><numFmts count="1"><numFmt numFmtId="164" formatCode="[h]:mm"/></numFmts>'
              '<fonts count="1"><font/></fonts><fills count="1"><fill><patternFill patternType="none"/></fill></fills><borders count="1"><border/></borders>'
              '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellStyleXfs>'
              '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="21" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
              '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>')
    data = workbook(sheet, shared_strings=strings, extra=(("xl/styles.xml", styles.encode()),))
    # The workbook in the 1904 calendar, and one rich shared string with a phonetic run
    data = _replace_part(data, "xl/workbook.xml", lambda x: x.replace("<sheets>", '<workbookPr date1904="1"/><sheets>'))
    data = _replace_part(data, "xl/_rels/workbook.xml.rels", lambda x: x.replace(
        "</Relationships>", '<Relationship Id="rId9" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>'))
    data = _replace_part(data, "[Content_Types].xml", lambda x: x.replace("</Types>", (
        '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')))
    data = _replace_part(data, "xl/sharedStrings.xml", lambda x: x.replace(
        "<si><t>rich</t></si>", '<si><r><rPr><b/></rPr><t>ri</t></r><r><t>ch</t></r><rPh sb="0" eb="2"><t>ignored</t></rPh></si>'))
    path = tmp_path / "excel-like.xlsx"
    path.write_bytes(data)
    assert trimmed(ours(path)) == openpyxl_reads(path)
    assert ours(path)[3][1:3] == ["1905-01-01", "1 day, 12:00:00"]


def _replace_part(data: bytes, name: str, change) -> bytes:  # type: ignore[no-untyped-def]
    import io
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            target.writestr(info.filename, change(content.decode()).encode() if info.filename == name else content)
    return out.getvalue()


def test_the_header_is_row_1_and_the_rows_keep_their_numbers(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["note"])  # row 1 is not a header of ours…
    path = tmp_path / "late-header.xlsx"
    sheet["A3"], sheet["B3"] = "category", "full_name"
    book.save(path)
    import pytest

    from registry.imports.errors import UnusableFile

    with pytest.raises(UnusableFile, match="no column"), open_table(path, "xlsx"):
        pass
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet["A5"] = "x"
    book.save(path)
    with open_table(path, "xlsx") as table:
        assert [row.number for row in table.rows] == [5]


def scanned_only(path: Path) -> dict[int, list[str]]:
    """The rows from the scan alone (raises fastsheet.Unusual where it would hand over)."""
    with WorkbookArchive(path, DEFAULT_LIMITS) as archive:
        return {n: [_text(v) for v in values] for n, values in FastSheetReader(archive, DEFAULT_LIMITS)._scanned()}


def test_what_openpyxl_and_excel_write_is_scanned_without_handing_over(tmp_path: Path) -> None:
    from openpyxl import Workbook as Book

    for write_only in (False, True):
        book = Book(write_only=write_only)
        sheet = book.create_sheet("data") if write_only else book.active
        sheet.append(HEADER)
        sheet.append(good(1, full_name="Sok & Sons <1>", business_name=' "quoted" \'x\' '))
        sheet.append(good(2, full_name="ស្រី ពៅ", business_name="line\r\nbreak"))
        sheet.append([1.5, 2, True, datetime(2024, 1, 2), None, "  "])
        path = tmp_path / f"scan-{write_only}.xlsx"
        book.save(path)
        assert scanned_only(path) == ours(path)
    assert ours(path)[3][1] == "ស្រី ពៅ" and ours(path)[2][1] == "Sok & Sons <1>"


def test_the_scan_hands_over_what_it_does_not_know_and_no_row_is_lost_or_repeated(tmp_path: Path) -> None:
    import pytest

    from registry.imports.errors import UnusableFile
    from registry.imports.fastsheet import Unusual

    rows = "".join(f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>v{r}</t></is></c></row>' for r in range(1, 2000))
    formula = '<row r="2000"><c r="A2000"><f>1+1</f><v>2</v></c></row>'
    later = "".join(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c></row>' for r in range(2001, 2100))
    path = tmp_path / "formula-late.xlsx"
    path.write_bytes(workbook(f'<?xml version="1.0"?><worksheet xmlns="{MAIN}"><sheetData>{rows}{formula}{later}</sheetData></worksheet>'))
    with pytest.raises(Unusual):
        scanned_only(path)
    read = ours(path)
    assert list(read) == list(range(1, 2100)) and read[2000] == ["2"] and read[2099] == ["2099"]
    for sheet, reason in [
        (f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&e;</t></is></c></row></sheetData></worksheet>', "DTD"),
        (f'<?xml version="1.0"?><worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&e;</t></is></c></row></sheetData></worksheet>', "XML line"),
        (f'<?xml version="1.0"?><worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>a\x01b</t></is></c></row></sheetData></worksheet>', "XML line"),
        (f'<?xml version="1.0"?><worksheet xmlns="{MAIN}"><sheetData><row r="2"><c r="A2"><v>1</v></c></row><row r="2"><c r="A2"><v>1</v></c></row></sheetData></worksheet>', "row 2"),
        (f'<?xml version="1.0"?><worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="B1"><v>1</v></c><c r="A1"><v>1</v></c></row></sheetData></worksheet>', "row 1"),
    ]:
        path.write_bytes(workbook(sheet))
        with pytest.raises(UnusableFile, match=reason), WorkbookArchive(path, DEFAULT_LIMITS) as archive:
            list(FastSheetReader(archive, DEFAULT_LIMITS).rows())


def test_shared_strings_as_excel_writes_them_are_scanned_too(tmp_path: Path) -> None:
    strings = [*HEADER, "ស្រី ពៅ", "Sok & Sons"]
    header = "".join(f'<c r="{chr(65 + i)}1" t="s"><v>{i}</v></c>' for i in range(len(HEADER)))
    row = (f'<c r="A2" t="s"><v>0</v></c><c r="B2" t="s"><v>{len(HEADER)}</v></c><c r="C2" s="0"><v>12.5</v></c>'
           f'<c r="E2" t="s"><v>{len(HEADER) + 1}</v></c><c r="F2" t="b"><v>1</v></c>')
    sheet = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{MAIN}"><dimension ref="A1:M2"/>'
             f'<sheetData><row r="1" spans="1:13">{header}</row><row r="2" spans="1:13">{row}</row></sheetData></worksheet>')
    path = tmp_path / "excel-shared.xlsx"
    path.write_bytes(workbook(sheet, shared_strings=strings))
    assert scanned_only(path) == ours(path)
    assert ours(path)[2] == ["category", "ស្រី ពៅ", "12.5", "", "Sok & Sons", "TRUE"]
