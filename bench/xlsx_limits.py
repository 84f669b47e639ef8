"""What a full workbook of the template unpacks to, and what checking and reading it takes.

    .venv/bin/python bench/xlsx_limits.py [ROWS]        (default 1,048,575: Excel's last row)

Builds the template's columns filled with ROWS distinct people (the rows of
bench/import_bench.py; dates as real date cells) twice: with inline strings, as openpyxl
writes a workbook, and with a shared strings table, as Excel and LibreOffice do. For each:
packed and unpacked size (the largest part apart), then the up-front check an upload gets
(`isolated.inspect_upload`, a child process) and reading every row in a child process with
the import's memory limit, with times and peak memory. The caps in
`registry/imports/limits.py` are set above these figures.
"""
from __future__ import annotations

import csv
import importlib.util
import sys
import tempfile
import time
import zipfile
from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EXCEL_EPOCH = date(1899, 12, 30)
DATE_COLUMNS = {"date_of_birth", "registered_on"}
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    "</Types>"
)
ROOT_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
             '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
WORKBOOK = ('<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="registrations" sheetId="1" r:id="rId1"/></sheets></workbook>')
WORKBOOK_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                 '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
                 '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
                 '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>')
STYLES = ('<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
          '<cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/></cellXfs></styleSheet>')


def _column_letter(index: int) -> str:
    return "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[index]


def build(csv_path: Path, out: Path, shared: bool) -> None:
    """The rows of `csv_path` as a workbook: inline strings (openpyxl) or a shared table (Excel)."""
    strings: dict[str, int] = {}
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in (("[Content_Types].xml", CONTENT_TYPES), ("_rels/.rels", ROOT_RELS), ("xl/workbook.xml", WORKBOOK),
                           ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS), ("xl/styles.xml", STYLES)):
            archive.writestr(name, text)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet, csv_path.open(newline="", encoding="utf-8") as fh:
            sheet.write(b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
            reader = csv.reader(fh)
            header = next(reader)
            dates = {i for i, h in enumerate(header) if h in DATE_COLUMNS}
            block: list[str] = []
            for number, row in enumerate(_with_header(header, reader), start=1):
                cells = []
                for i, value in enumerate(row):
                    if not value:
                        continue
                    ref = f"{_column_letter(i)}{number}"
                    if number > 1 and i in dates:
                        serial = (date.fromisoformat(value) - EXCEL_EPOCH).days
                        cells.append(f'<c r="{ref}" s="1"><v>{serial}</v></c>')
                    elif shared:
                        index = strings.setdefault(value, len(strings))
                        cells.append(f'<c r="{ref}" t="s"><v>{index}</v></c>')
                    else:
                        cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{escape(value)}</t></is></c>')
                block.append(f'<row r="{number}">{"".join(cells)}</row>')
                if len(block) >= 5000:
                    sheet.write("".join(block).encode())
                    block = []
            sheet.write(("".join(block) + "</sheetData></worksheet>").encode())
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as table:
            table.write(f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" uniqueCount="{len(strings)}">'.encode())
            table.write("".join(f"<si><t>{escape(s)}</t></si>" for s in strings).encode())
            table.write(b"</sst>")


def _with_header(header: list[str], reader):  # type: ignore[no-untyped-def]
    yield header
    yield from reader


def sizes(path: Path) -> tuple[int, int, int]:
    with zipfile.ZipFile(path) as archive:
        entries = archive.infolist()
    return path.stat().st_size, sum(e.file_size for e in entries), max(e.file_size for e in entries)


def _peaks() -> str:
    """This process's peak resident and virtual memory (VmHWM, VmPeak: reset by exec, unlike ru_maxrss)."""
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return f"peak {int(status['VmHWM'].split()[0]) // 1024} MB resident, {int(status['VmPeak'].split()[0]) // 1024} MB address space"


def check_like_an_upload(path: str, queue) -> None:  # type: ignore[no-untyped-def]
    """Child: what `isolated.inspect_upload` runs, timed, with its peak memory."""
    from registry.imports.isolated import limit_this_process
    from registry.imports.limits import DEFAULT_LIMITS
    from registry.imports.reading import detect_format, read_header

    limit_this_process(DEFAULT_LIMITS, cpu_seconds=DEFAULT_LIMITS.check_seconds)
    start = time.perf_counter()
    header = read_header(Path(path), detect_format(Path(path), Path(path).name, DEFAULT_LIMITS), DEFAULT_LIMITS)[0]
    queue.put((len(header), time.perf_counter() - start, _peaks()))


def read_all(path: str, queue) -> None:  # type: ignore[no-untyped-def]
    """Child: every row through the importer's reader, within the import's memory limit."""
    from registry.imports.isolated import limit_this_process
    from registry.imports.limits import DEFAULT_LIMITS
    from registry.imports.reading import open_table

    limit_this_process(DEFAULT_LIMITS)
    start = time.perf_counter()
    with open_table(Path(path), "xlsx", DEFAULT_LIMITS) as table:
        rows = sum(1 for _ in table.rows)
    queue.put((rows, time.perf_counter() - start, _peaks()))


def in_child(target, path: Path):  # type: ignore[no-untyped-def]
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=target, args=(str(path), queue))
    child.start()
    result = queue.get()
    child.join()
    return result


def main() -> None:
    from registry.imports.isolated import inspect_upload
    from registry.imports.limits import DEFAULT_LIMITS

    spec = importlib.util.spec_from_file_location("import_bench", ROOT / "bench" / "import_bench.py")
    import_bench = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(import_bench)  # type: ignore[union-attr]
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_048_575
    with tempfile.TemporaryDirectory() as tmp:
        rows_csv = Path(tmp) / "rows.csv"
        import_bench.write_rows(rows_csv, n)
        for shared in (False, True):
            kind = "shared strings (Excel, LibreOffice)" if shared else "inline strings (openpyxl)"
            path = Path(tmp) / f"rows-{int(shared)}.xlsx"
            build(rows_csv, path, shared)
            packed, unpacked, largest = sizes(path)
            print(f"{n:,} rows, {kind}: {packed / 1e6:.0f} MB packed, {unpacked / 1e6:.0f} MB unpacked "
                  f"(largest part {largest / 1e6:.0f} MB, {largest / 2**20:.0f} MiB), ratio {unpacked / packed:.1f}")
            start = time.perf_counter()
            inspect_upload(path, path.name, DEFAULT_LIMITS)
            whole = time.perf_counter() - start
            columns, seconds, peaks = in_child(check_like_an_upload, path)
            print(f"  up-front check as an upload gets it: {whole:.1f} s with the child's start "
                  f"({seconds:.1f} s of work), {columns} columns; {peaks}")
            rows, seconds, peaks = in_child(read_all, path)
            print(f"  every row read: {rows:,} rows in {seconds:.1f} s ({rows / seconds:,.0f} rows/s); {peaks}")


if __name__ == "__main__":
    main()
