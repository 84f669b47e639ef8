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
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from registry.actors import legacy_font
from registry.actors.fields import ROW
from registry.actors.identity import IdentityIndex, find_existing, lock_identities
from registry.actors.services import insert_actors
from registry.actors.validation import FieldError, Registration, validate_registration
from registry.i18n import N_
from registry.imports.errors import UnusableFile
from registry.imports.models import ImportBatch, ImportProblem
from registry.imports.isolated import inspect_upload
from registry.imports.limits import DEFAULT_LIMITS, ReadLimits
from registry.imports.reading import SourceRow


LEGACY_FONT = N_(
    "The names in %(suspect)s of the first %(looked_at)s rows (rows %(rows)s…) look like Khmer typed in an old "
    "font (Limon or ABC), not in Unicode: stored like that, every name would be misspelt and nobody could find "
    "it. Convert the file's Khmer text to Unicode and upload it again. If these names really are written in "
    "Latin letters, tick “The names are written in Latin letters” and upload the file again.")


class LegacyFontText(UnusableFile):
    """The file's names look typed in a legacy Khmer font; staff must convert or confirm."""


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
) -> ImportBatch:
    """Check the file up front, in a child process with resource limits (format, every
    part of a workbook unpacked, header, columns, whether its names look typed in a legacy
    Khmer font), and record a queued batch for it.

    Raises errors.UnusableFile when the whole file must be refused; LegacyFontText when its
    names look like Limon/ABC text and staff did not confirm (`latin_names`) that they are
    Latin letters: such text is never converted silently (registry.actors.legacy_font).
    """
    checked = inspect_upload(path, filename, limits)
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
        same_as_batch_id=earlier, status="queued", last_row=1, rows=0, imported=0,
        duplicates=0, rejected=0, seconds_running=0.0,
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
# tuples pickle fast): (spreadsheet row, outcome, cells, detail), where the outcome says
# what detail is:
ACCEPTED = "accepted"  # detail: the Registration's values (a plain tuple)
REJECTED = "rejected"  # detail: the errors, as stored in the report
REPEATED = "repeated"  # detail: the earlier row of the chunk that is the same person
# An accepted row's cells travel packed (marshal bytes): they are unpacked only if the
# registry turns out to hold the person already, and thirteen separate strings cost more
# to unpickle than the whole registration.
CheckedRow = tuple[int, str, "list[str] | bytes", Any]


def check_rows(rows: list[SourceRow], columns: dict[str, int], today: date, province_code: str | None) -> list[CheckedRow]:
    """The validation core over a chunk, and repeats inside it. Pure, so it can run in a
    worker process; the result carries everything the writer needs (no SourceRow objects)."""
    checked: list[CheckedRow] = []
    in_chunk = IdentityIndex()
    names = tuple(columns)
    cells_of = itemgetter(*columns.values())
    for row in rows:
        raw = dict(zip(names, cells_of(row.cells)))
        reg, field_errors = validate_registration(raw, today=today)
        errors = _row_errors(row, reg, field_errors, province_code) if (field_errors or row.extra_cells or province_code) else []
        if errors or reg is None:
            checked.append((row.number, REJECTED, row.cells, errors))
            continue
        earlier = in_chunk.find(reg)
        if earlier is not None:
            checked.append((row.number, REPEATED, row.cells, earlier))
            continue
        in_chunk.add(reg, row.number)
        checked.append((row.number, ACCEPTED, marshal.dumps(row.cells), tuple(reg)))
    return checked


def store_chunk(session: Session, batch: ImportBatch, checked: list[CheckedRow], *, now: datetime) -> None:
    """De-duplicate checked rows against the registry (earlier chunks included), store the
    new people and the problem rows, and advance the batch's counts (flush only)."""
    problems: list[dict[str, Any]] = []
    accepted: list[tuple[int, bytes, Registration]] = []
    for number, outcome, cells, detail in checked:
        if outcome == ACCEPTED:
            accepted.append((number, cells, Registration._make(detail)))
        elif outcome == REJECTED:
            problems.append(_problem(batch, number, cells, "rejected", detail))
        else:
            problems.append(_problem(batch, number, cells, "duplicate", {"row": detail}))

    people = [reg for _, _, reg in accepted]
    lock_identities(session, people)
    new: list[tuple[int, Registration]] = []
    for (number, cells, reg), match in zip(accepted, find_existing(session, people)):
        if match is None:
            new.append((number, reg))
        elif match.import_batch_id == batch.id and match.source_row is not None:
            problems.append(_problem(batch, number, marshal.loads(cells), "duplicate", {"row": match.source_row}))
        else:
            problems.append(_problem(batch, number, marshal.loads(cells), "duplicate",
                                     {"number": match.registration_number, "province": match.province_code}))

    insert_actors(
        session,
        [reg for _, reg in new],
        channel="outreach", now=now, consented_at=batch.created_at,
        import_batch_id=batch.id, source_rows=[number for number, _ in new],
    )
    if problems:
        session.execute(insert(ImportProblem.__table__), problems)
    duplicates = sum(1 for p in problems if p["outcome"] == "duplicate")
    batch.rows += len(checked)
    batch.imported += len(new)
    batch.duplicates += duplicates
    batch.rejected += len(problems) - duplicates
    batch.last_row = checked[-1][0]
    session.flush()


def _problem(batch: ImportBatch, number: int, cells: list[str], outcome: str, detail: Any) -> dict[str, Any]:
    return {"batch_id": batch.id, "row_number": number, "outcome": outcome, "detail": detail, "cells": cells}
