"""Import operations: register a batch, and import one chunk of rows (flush only).

Every row goes through `validate_registration`, the same rules as the web form; identity
is decided by `registry.actors.identity`, in the file and against the registry, and in
the end by the database's unique indexes.
"""
from __future__ import annotations

import hashlib
import marshal
from operator import itemgetter
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from registry.actors import legacy_font
from registry.actors.fields import ROW
from registry.actors.identity import IdentityIndex, find_existing, lock_identities
from registry.actors.services import insert_actors
from registry.actors.validation import FieldError, Registration, code_key, validate_registration
from registry.i18n import N_
from registry.imports.errors import UnusableFile
from registry.imports.headers import SOURCE_REF
from registry.imports.models import ImportBatch, ImportProblem
from registry.imports.isolated import inspect_upload
from registry.imports.limits import DEFAULT_LIMITS, ReadLimits
from registry.imports.mapping_rules import Mapping, Unmatched
from registry.imports.reading import SourceRow
from registry.imports.submissions import MAX_LENGTH, NOT_AN_ID, Imported, NotASubmissionId, find_imported, source_reference


LEGACY_FONT = N_(
    "The names in %(suspect)s of the first %(looked_at)s rows (rows %(rows)s…) look like Khmer typed in an old "
    "font (Limon or ABC), not in Unicode: stored like that, every name would be misspelt and nobody could find "
    "it. Convert the file's Khmer text to Unicode and upload it again. If these names really are written in "
    "Latin letters, tick “The names are written in Latin letters” and upload the file again.")


class LegacyFontText(UnusableFile):
    """The file's names look typed in a legacy Khmer font; staff must convert or confirm."""


NEEDS_MAPPING = N_("Some columns or values of this file are not ours: match them to our fields first.")


class NeedsMapping(UnusableFile):
    """Columns or coded values of the file are not ours, and no mapping was given (`unmatched`)."""

    def __init__(self, header: list[str], unmatched: Unmatched) -> None:
        super().__init__(NEEDS_MAPPING)
        self.header, self.unmatched = header, unmatched


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def create_batch(
    session: Session,
    path: Path,
    filename: str,
    *,
    uploaded_by_id: int | None,
    province_code: str | None,
    now: datetime,
    limits: ReadLimits = DEFAULT_LIMITS,
    latin_names: bool = False,
    mapping: Mapping | None = None,
    mapping_id: int | None = None,
    mapping_step: bool = False,
) -> ImportBatch:
    """Check the file up front, in a child process with resource limits (format, every
    part of a workbook unpacked, header, columns, whether its names look typed in a legacy
    Khmer font), and record a queued batch for it.

    Raises errors.UnusableFile when the whole file must be refused; LegacyFontText when its
    names look like Limon/ABC text and staff did not confirm (`latin_names`) that they are
    Latin letters: such text is never converted silently (registry.actors.legacy_font).

    A file whose columns or coded values are not all ours raises NeedsMapping, or with
    `mapping_step` is recorded waiting for staff to match them (status "mapping", its file
    kept); `mapping` is what staff confirmed (the saved `mapping_id`, if any): applied, never guessed.
    """
    checked = inspect_upload(path, filename, limits, mapping)
    if checked.unmatched and not mapping_step:
        raise NeedsMapping(checked.header, checked.unmatched)
    if checked.legacy_font is not None and not latin_names:
        finding = checked.legacy_font
        raise LegacyFontText(LEGACY_FONT, suspect=finding.suspect, looked_at=finding.looked_at,
                             rows=legacy_font.row_list(finding.rows))
    sha = file_sha256(path)
    earlier = session.scalar(
        select(ImportBatch.id).where(ImportBatch.sha256 == sha).order_by(ImportBatch.id).limit(1)
    )
    batch = ImportBatch(
        uploaded_by_id=uploaded_by_id, province_code=province_code, created_at=now,
        filename=Path(filename).name[:255], sha256=sha, size_bytes=path.stat().st_size,
        file_format=checked.file_format, sheet_name=checked.sheet_name, stored_path=str(path), header=checked.header,
        unknown_columns=checked.unknown_columns, total_rows=checked.estimated_rows,
        same_as_batch_id=earlier, status="mapping" if checked.unmatched else "queued", last_row=1, rows=0,
        imported=0, duplicates=0, rejected=0, seconds_running=0.0,
        mapping_id=mapping_id if mapping else None, mapping_applied=mapping.as_json() if mapping else None,
    )
    session.add(batch)
    session.flush()
    return batch


def _error(error: FieldError) -> dict[str, Any]:
    return {"field": error.field, "message": error.message, "params": dict(error.params)}


def _row_errors(row: SourceRow, reg: Registration | None, errors: list[FieldError], province_code: str | None) -> list[dict[str, Any]]:
    found = [_error(e) for e in errors]
    if row.extra_cells:
        found.insert(0, {"field": ROW, "message": N_("This row has %(extra)s more cells than the header. Remove them or add a column name."), "params": {"extra": row.extra_cells}})
    if reg is not None and province_code and reg.province_code != province_code:
        found.append({"field": "province", "message": N_("Your account can import rows of province %(allowed)s only. Give this row to the right department."), "params": {"allowed": province_code}})
    return found


# One checked row, as it travels from the validating process to the writing one (plain
# tuples pickle fast): (spreadsheet row, outcome, cells, detail, submission id), where the
# outcome says what detail is:
ACCEPTED = "accepted"  # detail: the Registration's values (a plain tuple)
REJECTED = "rejected"  # detail: the errors, as stored in the report
REPEATED = "repeated"  # detail: the earlier row of the chunk that is the same person (or submission)
# An accepted row's cells travel packed (marshal bytes): they are unpacked only if the
# registry turns out to hold the person already, and thirteen separate strings cost more
# to unpickle than the whole registration. The submission id (registry.imports.submissions)
# is None unless the file has a field tool's id column and the cell holds one.
CheckedRow = tuple[int, str, "list[str] | bytes", Any, "str | None"]


def _submission_of(row: SourceRow, at: int) -> tuple[str | None, dict[str, Any] | None]:
    """The row's submission id, or the error that its cell holds none a field tool writes."""
    try:
        return source_reference(row.cells[at]), None
    except NotASubmissionId as bad:
        return None, {"field": ROW, "message": NOT_AN_ID, "params": {"value": str(bad)[:40], "limit": MAX_LENGTH}}


def check_rows(rows: list[SourceRow], columns: dict[str, int], today: date, province_code: str | None,
               values: dict[str, dict[str, str]] | None = None) -> list[CheckedRow]:
    """The validation core over a chunk, and repeats inside it (the same person, or the
    same submission of a field tool). Pure, so it can run in a worker process; the result
    carries everything the writer needs (no SourceRow objects).

    `values`, a confirmed mapping's value map, translates cells of coded fields first (the
    row keeps its cells as written, for the report)."""
    checked: list[CheckedRow] = []
    in_chunk = IdentityIndex()
    submitted: dict[str, int] = {}  # submission id -> the row of this chunk that imports it
    submission_at = columns.get(SOURCE_REF)
    names = tuple(columns)
    cells_of = itemgetter(*columns.values())
    # (field, value map, memo of the cells seen: a form's words repeat, so one look-up a cell)
    translate = [(name, table, {}) for name, table in (values or {}).items() if name in columns and table]
    for row in rows:
        raw = dict(zip(names, cells_of(row.cells)))
        for name, table, memo in translate:
            cell = raw[name]
            code = memo.get(cell)
            if code is None:
                code = memo[cell] = table.get(code_key(cell), cell)
            raw[name] = code
        ref, bad_ref = _submission_of(row, submission_at) if submission_at is not None else (None, None)
        if ref is not None and ref in submitted:
            checked.append((row.number, REPEATED, row.cells, submitted[ref], ref))
            continue
        reg, field_errors = validate_registration(raw, today=today)
        errors = _row_errors(row, reg, field_errors, province_code) if (field_errors or row.extra_cells or province_code) else []
        if bad_ref is not None:
            errors.append(bad_ref)
        if errors or reg is None:
            checked.append((row.number, REJECTED, row.cells, errors, ref))
            continue
        earlier = in_chunk.find(reg)
        if earlier is not None:
            checked.append((row.number, REPEATED, row.cells, earlier, ref))
            continue
        in_chunk.add(reg, row.number)
        if ref is not None:
            submitted[ref] = row.number
        checked.append((row.number, ACCEPTED, marshal.dumps(row.cells), tuple(reg), ref))
    return checked


def store_chunk(session: Session, batch: ImportBatch, checked: list[CheckedRow], *, now: datetime,
                before_counting: Callable[[], None] | None = None) -> None:
    """De-duplicate checked rows against the registry (earlier chunks included), store the
    new people and the problem rows, and advance the batch's counts (flush only).

    `before_counting()`: more changes to the batch in the same transaction (the runner's
    heartbeat), flushed with its counts before the tally, which is written last: its
    country and province rows are shared by every registration of the day, so they stay
    locked only for the COMMIT that follows.

    A row whose field-tool submission is already stored is a duplicate of the registration
    it created, whatever its values say now (edited since, or not valid any more): a
    correction goes through the record, not through a re-import."""
    problems: list[dict[str, Any]] = []
    accepted: list[tuple[int, bytes, Registration, str | None]] = []
    imported = find_imported(session, [row[4] for row in checked if row[4] is not None])
    for number, outcome, cells, detail, ref in checked:
        earlier = imported.get(ref) if ref is not None else None
        if earlier is not None:
            cells = marshal.loads(cells) if outcome == ACCEPTED else cells
            problems.append(_problem(batch, number, cells, "duplicate", _submitted_before(batch, earlier)))
        elif outcome == ACCEPTED:
            accepted.append((number, cells, Registration._make(detail), ref))
        elif outcome == REJECTED:
            problems.append(_problem(batch, number, cells, "rejected", detail))
        else:
            problems.append(_problem(batch, number, cells, "duplicate", {"row": detail}))

    people = [reg for _, _, reg, _ in accepted]
    lock_identities(session, people)
    new: list[tuple[int, Registration, str | None]] = []
    for (number, cells, reg, ref), match in zip(accepted, find_existing(session, people)):
        if match is None:
            new.append((number, reg, ref))
        elif match.import_batch_id == batch.id and match.source_row is not None:
            problems.append(_problem(batch, number, marshal.loads(cells), "duplicate", {"row": match.source_row}))
        else:
            problems.append(_problem(batch, number, marshal.loads(cells), "duplicate",
                                     {"number": match.registration_number, "province": match.province_code}))

    if problems:
        session.execute(insert(ImportProblem.__table__), problems)
    duplicates = sum(1 for p in problems if p["outcome"] == "duplicate")
    batch.rows += len(checked)
    batch.imported += len(new)
    batch.duplicates += duplicates
    batch.rejected += len(problems) - duplicates
    batch.last_row = checked[-1][0]
    if before_counting is not None:
        before_counting()
    session.flush()
    # Last (the tally at its end), so that the tally rows it adds to stay locked only until
    # the commit that follows: no statement runs between them.
    insert_actors(
        session,
        [reg for _, reg, _ in new],
        channel="outreach", now=now, consented_at=batch.created_at,
        import_batch_id=batch.id, source_rows=[number for number, _, _ in new],
        source_refs=[ref for _, _, ref in new],
    )


def _submitted_before(batch: ImportBatch, earlier: Imported) -> dict[str, Any]:
    """A duplicate's detail when its submission is stored: the row of this file that
    imported it, or the registration (and that the submission says so)."""
    if earlier.import_batch_id == batch.id and earlier.source_row is not None:
        return {"row": earlier.source_row}
    return {"number": earlier.registration_number, "province": earlier.province_code, "submission": True}


def _problem(batch: ImportBatch, number: int, cells: list[str], outcome: str, detail: Any) -> dict[str, Any]:
    return {"batch_id": batch.id, "row_number": number, "outcome": outcome, "detail": detail, "cells": cells}
