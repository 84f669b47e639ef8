"""Reading the same rows from CSV and from XLSX: rows/s, the XLSX/CSV ratio, peak memory.

    .venv/bin/python bench/xlsx_read_bench.py N [--import]      (e.g. 100000, 1000000)

1. Writes N rows with bench/import_bench.py's write_rows (the same people), then the same
   cells to an XLSX with openpyxl's write-only mode (shared strings, as Excel writes).
2. In a child process each: every row read through `open_table` (CSV, then XLSX), and
   python-calamine's whole-sheet read of the XLSX for reference.
3. With --import: the whole `flask import-actors` path (create_batch + run_import into a fresh
   SQLite database) for the CSV and for the XLSX, which is the ratio the issue asks about:
   the reader runs in its own process beside the validating writer.
Prints rows/s, seconds, each child's peak memory (max RSS, its own worker included) and ratios.
"""
from __future__ import annotations

import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from import_bench import write_rows  # noqa: E402  (the same rows as the import bench)


def write_xlsx(csv_path: Path, xlsx_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("registrations")
    with csv_path.open(newline="", encoding="utf-8") as fh:
        for row in csv.reader(fh):
            sheet.append(row)
    book.save(xlsx_path)


def child_read(kind: str, path: str) -> dict:  # type: ignore[type-arg]
    sys.path.insert(0, str(ROOT))
    start = time.perf_counter()
    rows = 0
    if kind == "calamine":
        from python_calamine import CalamineWorkbook

        book = CalamineWorkbook.from_path(path)
        for _row in book.get_sheet_by_index(0).iter_rows():
            rows += 1
        rows -= 1  # the header
    else:
        from registry.imports.reading import open_table

        with open_table(Path(path), kind) as table:
            for _row in table.rows:
                rows += 1
    return {"rows": rows, "seconds": time.perf_counter() - start}


def child_import(kind: str, path: str, db_path: str) -> dict:  # type: ignore[type-arg]
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("SECRET_KEY", "bench-only")
    from flask_migrate import upgrade

    from registry import clock, create_app
    from registry.extensions import db
    from registry.imports.runner import run_import
    from registry.imports.services import create_batch

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}"})
    with app.app_context():
        upgrade()
        start = time.perf_counter()
        batch = create_batch(db.session, Path(path), f"bench.{kind}", uploaded_by_id=None, province_code=None, now=clock.now())
        db.session.commit()
        batch = run_import(db.session, batch.id)
        elapsed = time.perf_counter() - start
        assert batch.imported == batch.rows, (batch.imported, batch.rows, batch.rejected, batch.duplicates)
    return {"rows": batch.rows, "seconds": elapsed}


def run_child(*args: str) -> dict:  # type: ignore[type-arg]
    result = subprocess.run([sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        kind, *rest = sys.argv[2:]
        figures = child_import(kind[len("import-"):], *rest) if kind.startswith("import-") else child_read(kind, *rest)
        figures["peak_mb"] = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                                 resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
        print(json.dumps(figures))
        return
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        csv_path, xlsx_path = Path(tmp) / "rows.csv", Path(tmp) / "rows.xlsx"
        write_rows(csv_path, n)
        write_xlsx(csv_path, xlsx_path)
        print(f"rows: {n:,} (CSV {csv_path.stat().st_size / 1e6:.0f} MB, XLSX {xlsx_path.stat().st_size / 1e6:.0f} MB)")
        rates = {}
        for kind, path in (("csv", csv_path), ("xlsx", xlsx_path), ("calamine", xlsx_path)):
            got = run_child(kind, str(path))
            assert got["rows"] == n, (kind, got)
            rates[kind] = got["rows"] / got["seconds"]
            print(f"read {kind:8}: {rates[kind]:>9,.0f} rows/s, {got['seconds']:6.1f} s, peak {got['peak_mb']:5.0f} MB")
        print(f"read ratio XLSX/CSV: {rates['xlsx'] / rates['csv']:.2f} (calamine/CSV {rates['calamine'] / rates['csv']:.2f})")
        if "--import" in sys.argv:
            for kind, path in (("csv", csv_path), ("xlsx", xlsx_path)):
                got = run_child(f"import-{kind}", str(path), str(Path(tmp) / f"{kind}.sqlite3"))
                rates[f"import-{kind}"] = got["rows"] / got["seconds"]
                print(f"import {kind:6}: {rates[f'import-{kind}']:>9,.0f} rows/s, {got['seconds']:6.1f} s, peak {got['peak_mb']:5.0f} MB")
            print(f"import ratio XLSX/CSV: {rates['import-xlsx'] / rates['import-csv']:.2f}")


if __name__ == "__main__":
    main()
