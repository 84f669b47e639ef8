"""Hostile files are refused in seconds with a reason, and the process that received them
stays flat: every file is checked and read in a child process with limits (limits.py)."""
from __future__ import annotations

import io
import os
import re
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy as sa

from registry.extensions import db
from tests.helpers import count_actors, make_app, make_user, sign_in, upload_file
from tests.hostile_files import (
    SHEET, cell, declaring, encrypted, entity_ods, many_strings_workbook, nested_zip, sheet_xml, wide_csv,
    wide_xlsx_header, wide_zipped_csv, workbook, zeros_ods, zeros_workbook, zeros_zip,
)
from tests.import_files import HEADER, good, write_csv

SECONDS = 20  # the bound for a refusal
MEGABYTES = 50  # and for the memory the receiving process may grow by


def _status_mb(key: str) -> int:
    match = re.search(rf"^{key}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M)
    assert match
    return int(match.group(1)) // 1024


class Measured:
    seconds: float
    grown_mb: int  # resident memory after, less before
    peak_mb: int | None  # highest resident memory during, less before (None: the kernel cannot reset the peak)


@contextmanager
def measured() -> Iterator[Measured]:
    """Time, and this process's resident memory: how much it grew, and its peak meanwhile."""
    result = Measured()
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current VmRSS
        can_peak = True
    except OSError:
        can_peak = False
    before = _status_mb("VmRSS")
    start = time.perf_counter()
    yield result
    result.seconds = time.perf_counter() - start
    result.grown_mb = _status_mb("VmRSS") - before
    result.peak_mb = _status_mb("VmHWM") - before if can_peak else None


HOSTILE = {
    # name: (builds the file's bytes, what the refusal says)
    "declares-2-gb.xlsx": (lambda: declaring(zeros_workbook(100), SHEET, 2**31 - 1), "unpacks to more than 800 MB"),
    "declares-1-kb.xlsx": (lambda: declaring(zeros_workbook(100), SHEET, 1024), "cannot be opened safely"),
    "zeros.xlsx": (lambda: zeros_workbook(300), "zip bomb"),
    "million-columns.csv": (None, "more than 500 columns"),
    "million-columns.xlsx": (lambda: wide_xlsx_header(1_000_000), "more than 500 columns"),
    # The same distrust for the other archives: a zipped CSV (ODK Central) and an ODS.
    "zeros.csv.zip": (lambda: zeros_zip(300), "zip bomb"),
    "declares-2-gb.csv.zip": (lambda: declaring(zeros_zip(100), "submissions.csv", 2**31 - 1), "unpacks to more than 800 MB"),
    "bomb-inside.zip": (lambda: nested_zip(zeros_zip(300)), "holds another archive"),
    "million-columns.csv.zip": (lambda: wide_zipped_csv(1_000_000), "more than 500 columns"),
    "zeros.ods": (lambda: zeros_ods(300), "zip bomb"),
    "billion-laughs.ods": (entity_ods, "cannot be opened"),
}


@pytest.fixture(scope="module")
def hostile_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("hostile")
    files = {}
    for name, (build, _reason) in HOSTILE.items():
        files[name] = wide_csv(folder / name, 1_000_000) if build is None else folder / name
        if build is not None:
            files[name].write_bytes(build())
    return files


def _nothing_kept(app) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        assert db.session.execute(sa.text("SELECT count(*) FROM import_batch")).scalar_one() == 0
    folder = Path(app.config["IMPORT_UPLOAD_FOLDER"])
    assert not folder.exists() or not any(folder.iterdir())


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_upload_is_refused_in_seconds_and_the_web_worker_stays_flat(database_url, tmp_path, hostile_files, name) -> None:  # type: ignore[no-untyped-def]
    app = make_app(database_url, IMPORT_UPLOAD_FOLDER=str(tmp_path / "uploads"))
    make_user(app, "o@example.org", "outreach")
    client = app.test_client()
    sign_in(client, "o@example.org")
    client.get("/staff/imports?lang=en")
    assert upload_file(client, write_csv(tmp_path / "warm-up.csv", [], header=[""])).status_code == 422  # first spawn, templates (a blank header row: refused in the child)
    with measured() as took:
        response = upload_file(client, hostile_files[name])
    print(f"\n{name} through the web: {response.status_code} in {took.seconds:.2f} s, "
          f"resident memory {took.grown_mb:+d} MB, peak {took.peak_mb} MB above the start")
    assert response.status_code == 422
    assert HOSTILE[name][1] in response.get_data(as_text=True)
    assert took.seconds < SECONDS
    assert took.grown_mb < MEGABYTES
    assert took.peak_mb is None or took.peak_mb < MEGABYTES
    _nothing_kept(app)


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_file_is_refused_by_the_cli_in_seconds_with_flat_memory(database_url, tmp_path, hostile_files, name) -> None:  # type: ignore[no-untyped-def]
    app = make_app(database_url, IMPORT_UPLOAD_FOLDER=str(tmp_path / "uploads"))
    runner = app.test_cli_runner()
    assert runner.invoke(args=["import-actors", str(write_csv(tmp_path / "warm-up.csv", [], header=["x"]))]).exit_code != 0
    with measured() as took:
        result = runner.invoke(args=["import-actors", str(hostile_files[name])])
    print(f"\n{name} through import-actors: exit {result.exit_code} in {took.seconds:.2f} s, "
          f"resident memory {took.grown_mb:+d} MB, peak {took.peak_mb} MB above the start")
    assert result.exit_code == 1 and result.output.startswith(f"Error: {name}: ")
    assert HOSTILE[name][1] in result.output
    assert took.seconds < SECONDS
    assert took.grown_mb < MEGABYTES
    assert took.peak_mb is None or took.peak_mb < MEGABYTES
    _nothing_kept(app)
    assert hostile_files[name].exists()  # the operator's file is left alone


def _part(size: int) -> bytes:
    """`size` bytes that pack about 2:1 (so no ratio rule applies)."""
    return os.urandom(size // 2).hex().encode()


def _shared_header(long_cell: str) -> bytes:
    """A workbook whose header's last cell is a shared string."""
    cells = "".join(cell(c, 1, name) for c, name in enumerate(HEADER[:-1], 1)) + '<c r="M1" t="s"><v>0</v></c>'
    return workbook(f'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                    f'<sheetData><row r="1">{cells}</row></sheetData></worksheet>', shared_strings=[long_cell])


WORKBOOK_CASES = [
    # (workbook, config, what the refusal says)
    (lambda: workbook(sheet_xml([HEADER]), extra=(("xl/media/a.bin", _part(700_000)), ("xl/media/b.bin", _part(700_000)))),
     {"IMPORT_LIMIT_UNPACKED_BYTES": 1024 * 1024}, "unpacks to more than 1 MB"),
    (lambda: workbook(sheet_xml([HEADER]), extra=(("xl/media/a.bin", _part(1_500_000)),)),
     {"IMPORT_LIMIT_PART_BYTES": 1024 * 1024}, "unpacks to more than 1 MB"),
    (lambda: workbook(sheet_xml([HEADER]), extra=tuple((f"xl/media/{i}.bin", b"x") for i in range(10))),
     {"IMPORT_LIMIT_PARTS": 10}, "more than 10 parts"),
    (lambda: workbook(sheet_xml([HEADER]), extra=(("xl/../../evil.sh", b"x"),)), {}, "points outside the workbook"),
    (lambda: workbook(sheet_xml([HEADER]), extra=(("/etc/cron.d/evil", b"x"),)), {}, "points outside the workbook"),
    (lambda: workbook(sheet_xml([HEADER]), extra=(("C:/evil.bat", b"x"),)), {}, "points outside the workbook"),
    (lambda: workbook(sheet_xml([HEADER]), extra=((SHEET, sheet_xml([["x"]]).encode()),)), {}, "two parts named"),
    (lambda: encrypted(workbook(sheet_xml([HEADER])), SHEET), {}, "encrypted"),
    (lambda: workbook(sheet_xml([HEADER + [f"x{i}" for i in range(488)]])), {}, "more than 500 columns"),
    (lambda: workbook(sheet_xml([HEADER[:-1] + ["n" * 2001]])), {}, "Row 1 has a cell longer than 2000 characters"),
    (lambda: _shared_header("n" * 2001), {}, "Row 1 has a cell longer than 2000 characters"),
    (lambda: workbook(sheet_xml([HEADER])), {"IMPORT_LIMIT_CHECK_SECONDS": 0}, "took longer than 0 seconds"),
]


@pytest.mark.parametrize(("build", "config", "reason"), WORKBOOK_CASES)
def test_every_limit_refuses_a_workbook_with_its_reason(database_url, tmp_path, build, config, reason) -> None:  # type: ignore[no-untyped-def]
    app = make_app(database_url, IMPORT_UPLOAD_FOLDER=str(tmp_path / "uploads"), **config)
    path = tmp_path / "book.xlsx"
    path.write_bytes(build())
    result = app.test_cli_runner().invoke(args=["import-actors", str(path)])
    assert result.exit_code == 1, result.output
    assert reason in result.output
    _nothing_kept(app)


@pytest.mark.parametrize(("text", "reason"), [
    (",".join(HEADER + [f"x{i}" for i in range(488)]) + "\r\n", "The first row has more than 500 columns"),
    (",".join(HEADER + [""] * 600) + "\r\n", None),  # empty cells beyond the last column read are nothing
    (",".join(HEADER[:-1] + ["n" * 2001]) + "\r\n", "Row 1 has a cell longer than 2000 characters"),
    ('"' + ",".join(HEADER) + "\r\n" + "x" * 1_100_000 + "\r\n", "Row 1 is longer than 1001500 characters"),
])
def test_every_limit_refuses_a_csv_header_with_its_reason(runner, app, tmp_path, text, reason) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "header.csv"
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(args=["import-actors", str(path), "--json"])
    if reason is None:
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code == 1 and reason in result.output


@pytest.mark.parametrize("parallel", [False, True])
@pytest.mark.parametrize(("bad_row", "reason"), [
    (good(3, full_name="n" * 2001), "Row 4 has a cell longer than 2000 characters"),
    (good(3) + [""] * 487 + ["filled"], "Row 4 has cells filled beyond column 500"),
    (good(3) + [""] * 600, None),  # trailing empty cells: an ordinary row
    (None, "Row 4 is longer than 1001500 characters"),  # a quote opened and never closed
])
def test_a_csv_row_past_a_limit_stops_the_import_there(database_url, tmp_path, parallel, bad_row, reason) -> None:  # type: ignore[no-untyped-def]
    app = make_app(database_url, IMPORT_WORKERS=int(parallel), IMPORT_PARALLEL_MIN_ROWS=0, IMPORT_CHUNK_ROWS=2)
    path = write_csv(tmp_path / "rows.csv", [good(1), good(2), bad_row or good(3), *[good(n) for n in range(4, 40)]])
    if bad_row is None:
        text = path.read_text(encoding="utf-8-sig").splitlines()
        text[3] = text[3].replace("Person", '"Person', 1) + "x" * 1_100_000
        path.write_text("\r\n".join(text) + "\r\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["import-actors", str(path), "--json"])
    if reason is None:
        assert result.exit_code == 0, result.output
        assert count_actors(app) == 39
        return
    assert result.exit_code == 1 and reason in result.output
    assert count_actors(app) == 2  # the rows before it, in whole chunks


@pytest.mark.parametrize(("cells", "reason"), [
    (lambda r: cell(501, r, "filled"), "Row 4 has cells filled beyond column 500"),
    (lambda r: cell(2, r, "n" * 2001), "Row 4 has a cell longer than 2000 characters"),
    (lambda r: cell(1, r, "employee"), "cannot be opened safely: row 4"),  # cells out of order
])
def test_a_workbook_row_past_a_limit_stops_the_import_there(database_url, tmp_path, cells, reason) -> None:  # type: ignore[no-untyped-def]
    app = make_app(database_url, IMPORT_CHUNK_ROWS=2)
    xml = sheet_xml([HEADER, good(1), good(2), good(3), good(4)])
    row4 = re.search(r'<row r="4">.*?</row>', xml).group(0)  # type: ignore[union-attr]
    xml = xml.replace(row4, row4.replace("</row>", cells(4) + "</row>"))
    path = tmp_path / "rows.xlsx"
    path.write_bytes(workbook(xml))
    result = app.test_cli_runner().invoke(args=["import-actors", str(path), "--json"])
    assert result.exit_code == 1 and reason in result.output, result.output
    assert count_actors(app) == 2


def test_the_reader_of_a_running_import_meters_what_it_unpacks(database_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The byte limits hold while rows stream, not only up front: a file that passed the
    check is stopped mid-read when the reader's meter runs out (here: a stricter ratio)."""
    path = tmp_path / "rows.xlsx"
    path.write_bytes(workbook(sheet_xml([HEADER, *[good(n) for n in range(3000)]])))
    folder = tmp_path / "uploads"
    stored = folder / "stored.xlsx"
    folder.mkdir()
    stored.write_bytes(path.read_bytes())
    app = make_app(database_url, IMPORT_UPLOAD_FOLDER=str(folder), IMPORT_CHUNK_ROWS=100)
    from registry import clock
    from registry.imports.services import create_batch

    with app.app_context():
        batch_id = create_batch(db.session, stored, "rows.xlsx", uploaded_by_id=None, province_code=None, now=clock.now()).id
        db.session.commit()
    strict = make_app(database_url, IMPORT_UPLOAD_FOLDER=str(folder), IMPORT_CHUNK_ROWS=100,
                      IMPORT_LIMIT_UNPACK_RATIO=3, IMPORT_LIMIT_UNPACK_ALLOWANCE=0)
    result = strict.test_cli_runner().invoke(args=["import-actors", "--resume", str(batch_id)])
    assert result.exit_code == 1 and "zip bomb" in result.output, result.output
    assert 0 < count_actors(app) < 3000  # stopped part of the way through the sheet
    assert not stored.exists()  # failed for good: its file is deleted


def test_the_reader_of_a_running_import_has_a_memory_limit(database_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A workbook whose shared strings need 200 MB passes a check with 1 GiB and is stopped,
    with a reason, by a reader limited to 300 MB (of which the process itself takes 200)."""
    folder = tmp_path / "uploads"
    folder.mkdir()
    stored = folder / "strings.xlsx"
    stored.write_bytes(many_strings_workbook(sheet_xml([HEADER, good(1)]), 100_000, 2000))  # within the cell limit
    generous = {"IMPORT_UPLOAD_FOLDER": str(folder), "IMPORT_LIMIT_UNPACK_RATIO": 10**6}
    app = make_app(database_url, **generous)
    from registry import clock
    from registry.imports.services import create_batch
    from registry.imports.runner import read_limits

    with app.app_context():
        batch_id = create_batch(db.session, stored, "strings.xlsx", uploaded_by_id=None, province_code=None,
                                now=clock.now(), limits=read_limits()).id
        db.session.commit()
    tight = make_app(database_url, IMPORT_LIMIT_CHILD_MEMORY_BYTES=300 * 1024 * 1024, **generous)
    result = tight.test_cli_runner().invoke(args=["import-actors", "--resume", str(batch_id)])
    assert result.exit_code == 1, result.output
    assert "Reading the file needs more than 300 MB of memory" in result.output
    assert count_actors(app) == 0 and not stored.exists()


def test_the_up_front_check_has_a_memory_limit(database_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "strings.xlsx"
    path.write_bytes(many_strings_workbook(sheet_xml([HEADER, good(1)]), 100_000, 2000))
    app = make_app(database_url, IMPORT_LIMIT_UNPACK_RATIO=10**6, IMPORT_LIMIT_CHILD_MEMORY_BYTES=300 * 1024 * 1024)
    with measured() as took:
        result = app.test_cli_runner().invoke(args=["import-actors", str(path)])
    assert result.exit_code == 1 and "Reading the file needs more than 300 MB of memory" in result.output, result.output
    assert took.seconds < SECONDS and took.grown_mb < MEGABYTES
    _nothing_kept(app)


def test_damaged_files_never_fail_otherwise_than_with_a_reason(tmp_path) -> None:
    """Bytes changed at random in every part of a workbook, and in a CSV: reading (header and
    every row) either works or raises UnusableFile, never anything else (no 500)."""
    import random

    from registry.imports.errors import UnusableFile
    from registry.imports.reading import detect_format, open_table
    from tests.hostile_files import _PARTS

    rng = random.Random(2024)
    sheet = sheet_xml([HEADER, good(1), good(2, full_name="ស្រី ពៅ")])
    parts = {**_PARTS, SHEET: sheet}
    outcomes = {"usable": 0, "refused": 0}

    def attempt(path: Path, name: str) -> None:
        try:
            file_format = detect_format(path, name)
            with open_table(path, file_format) as table:
                for _row in table.rows:
                    pass
            outcomes["usable"] += 1
        except UnusableFile:
            outcomes["refused"] += 1

    for trial in range(300):
        name = rng.choice(list(parts))
        text = bytearray(parts[name].encode())
        for _ in range(rng.randint(1, 4)):
            position = rng.randrange(len(text))
            text[position:position + rng.randint(0, 3)] = bytes(rng.randrange(256) for _ in range(rng.randint(0, 3)))
        data = io.BytesIO()
        import zipfile

        with zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED) as archive:
            for part_name, part_text in parts.items():
                archive.writestr(part_name, bytes(text) if part_name == name else part_text.encode())
        path = tmp_path / f"{trial}.xlsx"
        path.write_bytes(data.getvalue())
        attempt(path, path.name)
        blob = bytearray(path.read_bytes())
        for _ in range(rng.randint(1, 8)):
            blob[rng.randrange(len(blob))] = rng.randrange(256)
        path.write_bytes(bytes(blob))
        attempt(path, path.name)
    csv_text = bytearray(write_csv(tmp_path / "base.csv", [good(1), good(2)]).read_bytes())
    for trial in range(200):
        blob = bytearray(csv_text)
        for _ in range(rng.randint(1, 6)):
            blob[rng.randrange(len(blob))] = rng.choice(b'",\r\n\x00\xff\xfe"x')
        path = tmp_path / f"{trial}.csv"
        path.write_bytes(bytes(blob))
        attempt(path, path.name)
    assert outcomes["usable"] and outcomes["refused"]
