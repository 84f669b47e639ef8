"""Bulk import through the CLI: exact row outcomes, the report, re-imports, both file formats."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from registry.extensions import db
from tests.helpers import count_actors
from tests.import_files import HEADER, expected_outcomes, good, mixed_rows, write_csv, write_xlsx


def run_import(runner, path: Path, *args: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    result = runner.invoke(args=["import-actors", str(path), "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output.strip().splitlines()[-1])


def read_report(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def mixed_file(tmp_path: Path, kind: str = "csv") -> Path:
    rows = [row for row, _, _ in mixed_rows()]
    return write_csv(tmp_path / "mixed.csv", rows) if kind == "csv" else write_xlsx(tmp_path / "mixed.xlsx", rows)


def test_every_kind_of_bad_row_gets_its_row_number_and_reason(runner, app, tmp_path: Path) -> None:
    report = tmp_path / "report.csv"
    summary = run_import(runner, mixed_file(tmp_path), "--errors", str(report), "--lang", "en")
    expected = expected_outcomes()
    assert summary == {
        "rows": len(expected),
        "imported": sum(1 for o in expected.values() if o == "imported"),
        "duplicates": sum(1 for o in expected.values() if o == "duplicate"),
        "rejected": sum(1 for o in expected.values() if o == "rejected"),
        "errors_file": str(report),
    }
    lines = read_report(report)
    assert {int(line["row"]): line["outcome"] for line in lines} == {
        n: o for n, o in expected.items() if o != "imported"
    }
    reasons = {int(line["row"]): line["errors"] for line in lines}
    for number, (row, outcome, mention) in enumerate(mixed_rows(), start=2):
        if outcome in ("rejected", "duplicate"):
            assert mention.lower() in reasons[number].lower(), (number, reasons[number])
    several = reasons[24]
    assert "Gender" in several and "Phone" in several and "Sector" in several
    assert count_actors(app) == summary["imported"]


def test_report_keeps_original_columns_and_neutralises_formulas(runner, tmp_path: Path) -> None:
    report = tmp_path / "report.csv"
    run_import(runner, mixed_file(tmp_path), "--errors", str(report))
    with report.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["row", "outcome", "errors", *HEADER]
    formula_row = next(r for r in rows if r[0] == "8")
    assert formula_row[4] == "'=HYPERLINK(\"x\")"
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    assert any("\u1780" <= ch <= "\u17ff" for ch in rows[1][2])  # reasons in Khmer by default


def test_fixed_report_uploaded_again_imports_the_fixed_rows(runner, app, tmp_path: Path) -> None:
    report = tmp_path / "report.csv"
    first = run_import(runner, mixed_file(tmp_path), "--errors", str(report), "--lang", "en")
    with report.open(encoding="utf-8-sig", newline="") as fh:
        lines = list(csv.reader(fh))
    fixes = {"5": ("category", "employee"), "9": ("gender", "male"), "13": ("phone", "012 777 111")}
    header = lines[0]
    for line in lines[1:]:
        if line[0] in fixes:
            column, value = fixes[line[0]]
            line[header.index(column)] = value
    fixed = tmp_path / "fixed.csv"
    with fixed.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(lines)
    second = run_import(runner, fixed)
    assert second["imported"] == 3
    assert second["duplicates"] == first["duplicates"]  # still duplicates of the same people
    assert count_actors(app) == first["imported"] + 3


def test_same_file_twice_stores_nothing_twice_and_is_recognised(runner, app, tmp_path: Path) -> None:
    path = mixed_file(tmp_path)
    first = run_import(runner, path)
    result = runner.invoke(args=["import-actors", str(path), "--json"])
    second = json.loads(result.output.strip().splitlines()[-1])
    with app.app_context():
        first_batch = db.session.execute(sa.text("SELECT min(id) FROM import_batch")).scalar_one()
    assert f"identical to batch {first_batch}" in result.output
    assert second["imported"] == 0
    assert second["duplicates"] == first["imported"] + first["duplicates"]
    assert count_actors(app) == first["imported"]


def test_overlapping_file_stores_only_the_new_people(runner, app, tmp_path: Path) -> None:
    run_import(runner, write_csv(tmp_path / "a.csv", [good(n) for n in range(100, 150)]))
    summary = run_import(runner, write_csv(tmp_path / "b.csv", [good(n) for n in range(130, 170)]))
    assert (summary["imported"], summary["duplicates"]) == (20, 20)
    assert count_actors(app) == 70


def test_xlsx_and_csv_of_the_same_rows_give_the_same_result(runner, app, tmp_path: Path) -> None:
    csv_report, xlsx_report = tmp_path / "c.csv", tmp_path / "x.csv"
    from_csv = run_import(runner, mixed_file(tmp_path, "csv"), "--errors", str(csv_report))
    with app.app_context():
        db.session.execute(sa.text("DELETE FROM actor"))
        db.session.commit()
    from_xlsx = run_import(runner, mixed_file(tmp_path, "xlsx"), "--errors", str(xlsx_report))
    assert from_xlsx.pop("sheet") == "Sheet"  # a workbook's summary names the sheet read
    assert {k: v for k, v in from_csv.items() if k != "errors_file"} == {k: v for k, v in from_xlsx.items() if k != "errors_file"}
    outcomes = lambda p: [(r["row"], r["outcome"]) for r in read_report(p)]  # noqa: E731
    assert outcomes(csv_report) == outcomes(xlsx_report)


def test_lf_no_bom_columns_in_any_order_and_case(runner, app, tmp_path: Path) -> None:
    header = [" Phone ", "Full Name", "GENDER", "date-of-birth", "Category", "province", "District", "commune", "sector", "Notes"]
    order = [HEADER.index(h.strip().lower().replace(" ", "_").replace("-", "_")) if h.strip().lower() != "notes" else None for h in header]
    rows = [[good(n)[i] if i is not None else "note" for i in order] for n in range(3)]
    result = runner.invoke(args=["import-actors", str(write_csv(tmp_path / "o.csv", rows, header, crlf=False, bom=False)), "--json"])
    assert result.exit_code == 0, result.output
    assert "Ignored columns: Notes" in result.output
    assert json.loads(result.output.strip().splitlines()[-1])["imported"] == 3


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (None, "missing.csv", "no such file"),
        (b"just some text", "notes.pdf", "Only .csv, .txt"),
        (b"category,full_name\nemployee,X\n", "cols.csv", "gender, date_of_birth"),
        (b"\xff\xfec\x00a\x00t", "utf16.csv", "UTF-16"),  # a byte order mark, then not UTF-16
        (b"PK\x03\x04 not really a workbook", "fake.xlsx", "not an Excel workbook"),
        (b"", "empty.csv", "empty"),
    ],
)
def test_unusable_file_is_refused_up_front(runner, app, tmp_path: Path, content, name, message) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    result = runner.invoke(args=["import-actors", str(path), "--json"])
    assert result.exit_code != 0
    assert message in result.output
    assert count_actors(app) == 0


def test_province_limited_account_imports_only_its_province(runner, app, tmp_path: Path) -> None:
    created = runner.invoke(args=["create-user", "kampot@example.org", "--role", "outreach", "--province", "07", "--password-stdin"], input="correct horse battery\n")
    assert created.exit_code == 0, created.output
    rows = [good(1, province="07", district="0701", commune="070101"), good(2)]
    report = tmp_path / "r.csv"
    summary = run_import(runner, write_csv(tmp_path / "p.csv", rows), "--by", "kampot@example.org", "--errors", str(report), "--lang", "en")
    assert (summary["imported"], summary["rejected"]) == (1, 1)
    assert "province 07 only" in read_report(report)[0]["errors"]
    with app.app_context():
        provinces = db.session.execute(sa.text("SELECT province_code FROM actor")).scalars().all()
    assert provinces == ["07"]


@pytest.mark.parametrize("parallel", [False, True])
def test_reading_and_validating_in_a_worker_process_gives_the_same_result(database_url, tmp_path: Path, parallel: bool) -> None:  # type: ignore[no-untyped-def]
    from tests.helpers import make_app

    app = make_app(database_url, IMPORT_WORKERS=1 if parallel else 0, IMPORT_PARALLEL_MIN_ROWS=0, IMPORT_CHUNK_ROWS=7)
    report = tmp_path / "r.csv"
    summary = run_import(app.test_cli_runner(), mixed_file(tmp_path), "--errors", str(report))
    expected = expected_outcomes()
    assert summary["rows"] == len(expected)
    assert {int(r["row"]): r["outcome"] for r in read_report(report)} == {n: o for n, o in expected.items() if o != "imported"}
    assert count_actors(app) == summary["imported"]


@pytest.mark.parametrize("parallel", [False, True])
def test_a_row_that_cannot_be_read_stops_the_import_with_its_number(database_url, tmp_path: Path, parallel: bool) -> None:  # type: ignore[no-untyped-def]
    from tests.helpers import make_app

    app = make_app(database_url, IMPORT_WORKERS=1 if parallel else 0, IMPORT_PARALLEL_MIN_ROWS=0, IMPORT_CHUNK_ROWS=2)
    rows = [good(1), good(2), good(3, full_name="x" * (2 * 1024 * 1024))]
    result = app.test_cli_runner().invoke(args=["import-actors", str(write_csv(tmp_path / "huge.csv", rows)), "--json"])
    assert result.exit_code != 0
    assert "Row 4 is longer than" in result.output  # its cell is longer than a row may be (limits.py)
    assert count_actors(app) == 2  # the chunk before the bad row was stored; the batch says where it stopped


BAD_KINDS: list[dict[str, str]] = [
    {"category": "worker"}, {"full_name": "Sok 4"}, {"full_name": "Sok\x00Dara"}, {"full_name": "=1+1"},
    {"gender": "x"}, {"date_of_birth": "31/02/1990"}, {"date_of_birth": "2015-01-01"},
    {"national_id": "12345"}, {"phone": "+66 81 234 5678"}, {"province": "Atlantis"},
    {"district": "0203"}, {"province": "25", "district": "2503", "commune": "Kokir"},
    {"sector": "mining"}, {"category": "micro_enterprise"}, {"registered_on": "2099-01-01"},
    {"gender": "?", "phone": "1", "sector": "?"},
]


def test_a_thousand_row_file_reports_exactly_its_bad_rows_and_the_fixed_report_imports(runner, app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The issue's acceptance case: 1,000 rows, bad rows of many kinds spread through it."""
    rows: list[list[str] | None] = []
    expected: dict[int, str] = {}
    for n in range(1000):
        if n and n % 97 == 0:
            rows.append(None)  # a blank row every so often: skipped, still numbered
        number = len(rows) + 2
        if n % 10 == 3:
            rows.append(good(5000 + n, **BAD_KINDS[(n // 10) % len(BAD_KINDS)]))
            expected[number] = "rejected"
        elif n % 50 == 7:
            rows.append(good(5000 + n - 1))  # the row before, again: an in-file duplicate
            expected[number] = "duplicate"
        elif n == 500:
            rows.append(good(5000 + n) + ["surplus"])
            expected[number] = "rejected"
        else:
            rows.append(good(5000 + n))
    report = tmp_path / "report.csv"
    summary = run_import(runner, write_csv(tmp_path / "thousand.csv", rows), "--errors", str(report), "--lang", "en")
    assert summary["rows"] == 1000
    lines = read_report(report)
    assert {int(line["row"]): line["outcome"] for line in lines} == expected
    assert all(line["errors"] for line in lines)
    assert summary["imported"] == 1000 - len(expected) == count_actors(app)
    # Fix the rejected rows in the report itself (its extra columns stay) and upload it again.
    with report.open(encoding="utf-8-sig", newline="") as fh:
        table = list(csv.reader(fh))
    fixed = [table[0]] + [[*line[:3], *good(9000 + int(line[0]))] for line in table[1:] if line[1] == "rejected"]
    fixed_path = tmp_path / "fixed.csv"
    with fixed_path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(fixed)
    again = run_import(runner, fixed_path)
    assert again["imported"] == sum(1 for o in expected.values() if o == "rejected") == again["rows"]


class _Waits:
    """Stands in for the writer's wait counter: `waiting` says whether each read sees a new wait."""

    def __init__(self, waiting: bool) -> None:
        self.waiting, self.reads = waiting, 0

    @property
    def value(self) -> int:
        self.reads += 1
        return self.reads if self.waiting else 0


def test_reader_leaves_chunks_to_an_idle_writer_and_both_ways_check_the_same(tmp_path: Path) -> None:
    """The reader validates while the writer is busy and hands raw chunks over when the
    writer had to wait; the writer then checks them with the same function."""
    import queue
    from datetime import date

    from registry.imports.limits import DEFAULT_LIMITS
    from registry.imports.reading import SourceRow, open_table
    from registry.imports.runner import _Numbered, _read_and_check
    from registry.imports.services import check_rows

    path = mixed_file(tmp_path)
    with open_table(path, "csv") as table:
        columns = table.columns
    results = {}
    for waiting in (False, True):
        out: queue.Queue = queue.Queue()  # type: ignore[type-arg]
        _read_and_check(DEFAULT_LIMITS, str(path), "csv", 1, 7, columns, date(2026, 11, 25), None, _Numbered(out), _Waits(waiting))
        numbered = [out.get() for _ in range(out.qsize())]
        assert [n for n, _kind, _payload in numbered] == list(range(len(numbered))) and numbered[-1][1] == "end"
        items = [(kind, payload) for _n, kind, payload in numbered[:-1]]
        kinds = {kind for kind, _payload in items}
        assert kinds == ({"unchecked"} if waiting else {"checked"})
        results[waiting] = [
            payload if kind == "checked" else check_rows([SourceRow(*r) for r in payload], columns, date(2026, 11, 25), None)
            for kind, payload in items
        ]
    assert results[True] == results[False]
    assert sum(len(chunk) for chunk in results[False]) == len(expected_outcomes())


def test_a_bulk_import_leaves_the_planner_statistics_of_the_table_it_fills(database_url, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL: a table never analysed looks empty to the planner, which then probes the
    duplicate look-ups through the wrong partial index (quadratic on a large first import):
    the importer analyses the table as it grows (registry.database.PlannerStatistics)."""
    from tests.helpers import make_app

    if not database_url.startswith("postgresql"):
        pytest.skip("planner statistics are PostgreSQL's")
    app = make_app(database_url, IMPORT_CHUNK_ROWS=7)
    summary = run_import(app.test_cli_runner(), mixed_file(tmp_path))
    with app.app_context():
        known = db.session.scalar(sa.text("SELECT reltuples FROM pg_class WHERE oid = 'actor'::regclass"))
    assert summary["imported"] / 2 <= known <= summary["imported"]
