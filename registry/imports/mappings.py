"""Saved import mappings: save, find, delete, and confirm one for a batch (flush only).

Who sees and saves what: an account limited to a province sees the mappings saved for its
province and for everyone, and saves for its province only; an admin saves for everyone
(or for its own province, if it has one); an outreach account with no province saves for
everyone. A saved mapping is only ever proposed: it is applied when staff confirm it.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from registry.i18n import N_
from registry.imports.mapping_models import ImportMapping
from registry.imports.mapping_rules import Mapping, MappingError, header_signature, parse_mapping
from registry.imports.limits import ReadLimits
from registry.imports.models import ImportBatch
from registry.imports.services import LEGACY_FONT, LegacyFontText
from registry.imports.isolated import inspect_upload
from registry.actors import legacy_font

NAME_CHARS = 80


def allowed_scopes(role: str, province_code: str | None) -> list[str | None]:
    """The scopes an account may save a mapping for (None: everyone)."""
    if role == "admin":
        return [None] + ([province_code] if province_code else [])
    return [province_code]  # an outreach account with no province is national: everyone


def visible_query(province_code: str | None):  # type: ignore[no-untyped-def]
    """Mappings an account sees: for everyone, and for its province (all, if it has none)."""
    query = select(ImportMapping).order_by(ImportMapping.scope.is_(None), ImportMapping.name)
    if province_code:
        query = query.where(or_(ImportMapping.scope.is_(None), ImportMapping.scope == province_code))
    return query


def visible_for(session: Session, province_code: str | None, signature: str | None = None) -> list[ImportMapping]:
    """The saved mappings an account sees (of this header signature, if given), its
    province's first, then the most recently updated."""
    query = visible_query(province_code)
    if signature is not None:
        query = query.where(ImportMapping.signature == signature)
    return list(session.scalars(query))


def by_name(session: Session, name: str, province_code: str | None) -> ImportMapping | None:
    """The mapping of this name an account sees (its province's before everyone's)."""
    found = [m for m in visible_for(session, province_code) if m.name == name.strip()]
    found.sort(key=lambda m: m.scope is None)
    return found[0] if found else None


def as_mapping(saved: ImportMapping) -> Mapping:
    return parse_mapping({"columns": saved.columns, "values": saved.values})


def save_mapping(session: Session, mapping: Mapping, *, name: str, scope: str | None, header: list[str],
                 by_id: int | None, role: str, province_code: str | None, now: datetime) -> ImportMapping:
    """Save `mapping` under `name` for `scope`, replacing the one of that name and scope."""
    name = " ".join(name.split())
    if not 1 <= len(name) <= NAME_CHARS:
        raise MappingError(N_("Give the mapping a name of 1 to %(most)s characters."), most=NAME_CHARS)
    if scope not in allowed_scopes(role, province_code):
        raise MappingError(N_("Your account can save mappings for province %(allowed)s only."), allowed=province_code or "")
    data = mapping.as_json()
    saved = session.scalar(select(ImportMapping).where(
        ImportMapping.name == name, ImportMapping.scope.is_(None) if scope is None else ImportMapping.scope == scope))
    if saved is None:
        saved = ImportMapping(name=name, scope=scope, created_by_id=by_id, created_at=now)
        session.add(saved)
    saved.signature, saved.columns, saved.values = header_signature(header), data["columns"], data["values"]
    saved.updated_by_id, saved.updated_at = by_id, now
    session.flush()
    return saved


def may_delete(saved: ImportMapping, *, by_id: int, role: str) -> bool:
    return role == "admin" or saved.created_by_id == by_id


def delete_mapping(session: Session, saved: ImportMapping) -> None:
    """Delete a saved mapping; batches that applied it keep their snapshot of what was applied."""
    session.execute(update(ImportBatch).where(ImportBatch.mapping_id == saved.id).values(mapping_id=None)
                    .execution_options(synchronize_session=False))
    session.delete(saved)
    session.flush()


def confirm_mapping(session: Session, batch: ImportBatch, mapping: Mapping, *, mapping_id: int | None,
                    limits: ReadLimits, latin_names: bool = False) -> ImportBatch:
    """Apply what staff confirmed to a batch waiting for it: the file is checked again with the
    mapping (raises UnusableFile naming the columns still missing) and the batch is queued."""
    checked = inspect_upload(Path(batch.stored_path), batch.filename, limits, mapping)
    if checked.legacy_font is not None and not latin_names:
        finding = checked.legacy_font
        raise LegacyFontText(LEGACY_FONT, suspect=finding.suspect, looked_at=finding.looked_at,
                             rows=legacy_font.row_list(finding.rows))
    batch.header, batch.unknown_columns, batch.total_rows = checked.header, checked.unknown_columns, checked.estimated_rows
    batch.sheet_name = checked.sheet_name
    batch.mapping_id, batch.mapping_applied = mapping_id, mapping.as_json()
    batch.status = "queued"
    session.flush()
    return batch


def summary(mapping: Mapping, name: str | None = None) -> dict[str, Any]:
    """What an event records of a mapping: its name and how much it maps (no cell values)."""
    return {"mapping": name, "columns": len(mapping.column_map),
            "values": sum(len(v) for v in mapping.value_map.values())}
