"""The submission a row came from in a field tool (KoboToolbox's `_uuid`, ODK's instance id):
stored with the registration it created as `actor.source_ref`, so a re-export of the same
submissions is known whatever was edited in it since. The database keeps it unique.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Iterable

from sqlalchemy import text
from sqlalchemy.orm import Session

from registry.i18n import N_

MAX_LENGTH = 64  # a UUID is 36; ODK allows other ids, and `actor.source_ref` holds 64
_TOKEN = re.compile(r"[a-z0-9][a-z0-9._:\-]*")
NOT_AN_ID = N_("The submission id “%(value)s” is not one a field tool writes: "
               "letters, digits, “-”, “.”, “_” and “:” only, at most %(limit)s characters. "
               "Leave the column as the tool exported it, or empty.")


class NotASubmissionId(ValueError):
    """The cell holds something that is not a submission id."""


def source_reference(cell: str) -> str | None:
    """'uuid:6F1C…' and '6f1c…' -> '6f1c…' (ODK writes the prefix, Kobo's `_uuid` does not);
    an empty cell -> None. Raises NotASubmissionId for anything else than a short token."""
    value = cell.strip()
    if not value:
        return None
    if value[:5].casefold() == "uuid:":
        value = value[5:].strip()
    value = value.lower()
    if len(value) > MAX_LENGTH or not value.isascii() or not _TOKEN.fullmatch(value):
        raise NotASubmissionId(value)
    return value


@dataclass(frozen=True)
class Imported:
    """The registration a submission created."""

    registration_number: str
    province_code: str
    import_batch_id: int | None
    source_row: int | None


def find_imported(session: Session, references: Iterable[str]) -> dict[str, Imported]:
    """The registrations already holding these submission ids: one query for the lot, the
    ids as one parameter (JSON on SQLite, an array on PostgreSQL), one index probe each, as
    `identity.find_existing` does."""
    wanted = sorted(set(references))
    if not wanted:
        return {}
    columns = "actor.source_ref, actor.registration_number, actor.province_code, actor.import_batch_id, actor.source_row"
    if session.get_bind().dialect.name == "sqlite":
        sql = (f"SELECT {columns} FROM json_each(:values) AS wanted"
               " CROSS JOIN actor INDEXED BY uq_actor_source_ref ON actor.source_ref = wanted.value")
        values: object = json.dumps(wanted)
    else:
        sql = (f"SELECT {columns} FROM unnest(CAST(:values AS text[])) AS wanted(value)"
               " CROSS JOIN LATERAL (SELECT * FROM actor WHERE actor.source_ref = wanted.value OFFSET 0) AS actor")
        values = wanted
    return {row[0]: Imported(*row[1:]) for row in session.execute(text(sql), {"values": values})}
