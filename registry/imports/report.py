"""The error report: the rows not stored, with reasons, ready to fix and upload again."""
from __future__ import annotations

from typing import Any, Callable, Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.actors.numbers import format_number
from registry.actors.validation import FieldError, describe
from registry.i18n import N_
from registry.imports.models import ImportBatch, ImportProblem

Translate = Callable[..., str]
REPORT_COLUMNS = ("row", "outcome", "errors")


def reasons(problem_outcome: str, detail: Any, translate: Translate, *, viewer_province: str | None = None) -> str:
    """All the reasons of one row, in the reader's language. A reader limited to a province
    sees the registration number of a duplicate only when it is registered in that province."""
    if problem_outcome == "duplicate":
        if "row" in detail:
            return translate(N_("Repeat of row %(row)s of this file."), row=detail["row"])
        if viewer_province and detail.get("province") != viewer_province:
            if detail.get("submission"):
                return translate(N_("This submission was already imported, as a registration of another province."))
            return translate(N_("Already registered, in another province."))
        if detail.get("submission"):  # the field tool's submission id is stored (imports.submissions)
            return translate(N_("This submission was already imported as registration %(number)s; corrections go "
                                "through the record page."), number=format_number(detail["number"]))
        return translate(N_("Already registered, number %(number)s."), number=format_number(detail["number"]))
    return " ".join(describe(FieldError(**error), translate, with_codes=True) for error in detail)


def report_rows(session: Session, batch: ImportBatch, translate: Translate, *,
                viewer_province: str | None = None) -> Iterator[list[Any]]:
    """Header, then one line per problem row in file order (streamed from the database)."""
    yield [*REPORT_COLUMNS, *batch.header]
    query = (
        select(ImportProblem.row_number, ImportProblem.outcome, ImportProblem.detail, ImportProblem.cells)
        .where(ImportProblem.batch_id == batch.id)
        .order_by(ImportProblem.row_number)
        .execution_options(yield_per=2000)
    )
    for row_number, outcome, detail, cells in session.execute(query):
        yield [row_number, outcome, reasons(outcome, detail, translate, viewer_province=viewer_province), *cells]
