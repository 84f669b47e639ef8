"""The one error of reading an import file: the whole file (from some row on) cannot be imported."""
from __future__ import annotations

from typing import Any

from registry.i18n import N_


class UnusableFile(ValueError):
    """The whole file cannot be imported; `message` (an msgid) says why and how to fix it."""

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return _rebuild, (self.message, self.params)


def _rebuild(message: str, params: dict[str, Any]) -> UnusableFile:
    return UnusableFile(message, **params)


HEADER_TOO_WIDE = N_("The first row has more than %(limit)s columns; an import reads at most %(limit)s. Delete the columns that are not needed, then upload the file again.")
ROW_TOO_WIDE = N_("Row %(row)s has cells filled beyond column %(limit)s; an import reads at most %(limit)s columns. Delete what is right of the table, then upload the file again.")
CELL_TOO_LONG = N_("Row %(row)s has a cell longer than %(limit)s characters; no field needs that many. Shorten it, then upload the file again.")
ROW_TOO_LONG = N_("Row %(row)s is longer than %(limit)s characters (at most %(columns)s cells of %(cell)s characters). Often a quote mark (\") was opened and never closed: check that row and the one before, then upload the file again.")


def too_wide(row: int, limit: int) -> UnusableFile:
    """Cells filled beyond the last column an import reads (the header has its own words)."""
    return UnusableFile(HEADER_TOO_WIDE, limit=limit) if row == 1 else UnusableFile(ROW_TOO_WIDE, row=row, limit=limit)
