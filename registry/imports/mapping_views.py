"""The mapping step of an upload: staff match a file's columns and coded values to ours."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from registry import clock, vocab
from registry.actors import fields
from registry.events.views import audit
from registry.extensions import db
from registry.imports import mappings
from registry.imports.errors import UnusableFile
from registry.imports.isolated import survey_upload
from registry.imports.mapping_models import ImportMapping
from registry.imports.mapping_proposals import propose_code, propose_columns
from registry.imports.mapping_rules import (
    CODES, IGNORE, MOST_VALUES, SAMPLE_ROWS, ColumnSurvey, Mapping, header_signature, parse_mapping, unknown_values,
)
from registry.imports.models import ImportBatch
from registry.imports.runner import read_limits
from registry.imports.services import LegacyFontText
from registry.imports.views import IMPORTERS, _visible_batches
from registry.imports.jobs import start_batch
from registry.web.access import roles_required

bp = Blueprint("import_mappings", __name__, url_prefix="/staff/imports")
VOCABULARIES = {"category": vocab.CATEGORIES, "gender": vocab.GENDERS, "sector": vocab.SECTORS}


def _waiting_batch(batch_id: int) -> ImportBatch:
    batch = db.session.scalar(_visible_batches().where(ImportBatch.id == batch_id))
    if batch is None:
        abort(404)
    return batch


def _saved_choice(signature: str) -> tuple[list[ImportMapping], ImportMapping | None]:
    """The saved mappings of this header this account sees, and the one to pre-fill (the
    first, or the one asked for with ?use=ID)."""
    saved = mappings.visible_for(db.session, current_user.province_code, signature)
    wanted = request.values.get("use", "")
    chosen = next((m for m in saved if wanted.isdigit() and m.id == int(wanted)), saved[0] if saved else None)
    return saved, chosen


def _value_rows(survey: ColumnSurvey, columns: list[str], pre: Mapping | None,
                posted: dict[str, dict[str, str]] | None = None) -> dict[str, dict[str, Any]]:
    """For each coded field given by a column: that column and its unrecognised values, each
    with the code proposed (or posted)."""
    rows: dict[str, dict[str, Any]] = {}
    for name in CODES:
        if name not in columns:
            continue
        index = columns.index(name)
        found = unknown_values(survey, index, name, {})
        chosen = (posted or {}).get(name, {})
        rows[name] = {"column": index, "values": [
            {"text": value, "code": chosen.get(value, propose_code(name, value, pre) or "") if posted is not None
             else (propose_code(name, value, pre) or "")} for value in found]}
    return rows


def _scopes() -> list[tuple[str, str]]:
    labels = []
    for scope in mappings.allowed_scopes(current_user.role, current_user.province_code):
        labels.append(("everyone", _("Everyone")) if scope is None else (scope, _("Province %(code)s", code=scope)))
    return labels


def _render(batch: ImportBatch, survey: ColumnSurvey, columns: list[str], values: dict[str, dict[str, Any]],
            saved: list[ImportMapping], chosen: ImportMapping | None, error: str | None = None,
            notice: str | None = None, legacy_font: bool = False, status: int = 200) -> Any:
    choices = [(IGNORE, _("Ignore this column"))] + [(f.name, _(f.label)) for f in fields.FIELDS]
    codes = {name: [(code, _(vocabulary[code])) for code in CODES[name]] for name, vocabulary in VOCABULARIES.items()}
    return render_template(
        "imports/mapping.html", batch=batch, survey=survey, columns=columns, values=values, saved=saved,
        chosen=chosen, choices=choices, codes=codes, labels=fields.LABELS, error=error, notice=notice,
        scopes=_scopes(), sample_rows=SAMPLE_ROWS, most_values=MOST_VALUES, legacy_font=legacy_font,
        form=request.form if request.method == "POST" else {}), status


@bp.route("/<int:batch_id>/mapping", methods=["GET", "POST"])
@roles_required(*IMPORTERS)
def batch_mapping(batch_id: int):  # type: ignore[no-untyped-def]
    batch = _waiting_batch(batch_id)
    if batch.status != "mapping":
        return redirect(url_for("imports.batch", batch_id=batch.id), 303)
    try:
        survey: ColumnSurvey = survey_upload(Path(batch.stored_path), batch.file_format, read_limits())
    except UnusableFile as error:
        return render_template("imports/mapping.html", batch=batch, survey=None, error=_(error.message, **error.params)), 422
    saved, chosen = _saved_choice(header_signature(survey.header))
    pre = mappings.as_mapping(chosen) if chosen else None
    if request.method == "GET":
        columns = propose_columns(survey, pre)
        return _render(batch, survey, columns, _value_rows(survey, columns, pre), saved, chosen)
    return _confirm(batch, survey, saved, chosen, pre)


def _posted(survey: ColumnSurvey) -> tuple[list[str], dict[str, dict[str, str]], dict[str, int]]:
    """The column choices, the value choices ({field: {value as written: code}}) and which
    column's values each coded field showed, as posted."""
    columns = [request.form.get(f"column-{i}", IGNORE)[:40] for i in range(len(survey.header))]
    values: dict[str, dict[str, str]] = {}
    shown: dict[str, int] = {}
    for name in CODES:
        raw = request.form.get(f"shown-{name}", "")
        if raw.isdigit():
            shown[name] = int(raw)
        table: dict[str, str] = {}
        for k in range(MOST_VALUES):
            text = request.form.get(f"value-{name}-{k}")
            if text is None:
                break
            table[text[:200]] = request.form.get(f"code-{name}-{k}", "")[:40]
        values[name] = table
    return columns, values, shown


def _confirm(batch: ImportBatch, survey: ColumnSurvey, saved: list[ImportMapping], chosen: ImportMapping | None,
             pre: Mapping | None) -> Any:
    columns, posted_values, shown = _posted(survey)
    value_rows = _value_rows(survey, columns, pre, posted_values)
    data = {"columns": dict(zip(survey.header, columns)),
            "values": {name: {v: c for v, c in table.items() if c} for name, table in posted_values.items()}}
    try:
        mapping = parse_mapping(data)
    except UnusableFile as error:
        return _render(batch, survey, columns, value_rows, saved, chosen, error=_(error.message, **error.params), status=422)
    # A coded field now read from another column than the one whose values were shown: show
    # that column's values first (nothing is applied that staff did not see).
    moved = [name for name, row in value_rows.items() if row["values"] and shown.get(name) != row["column"]]
    if moved:
        return _render(batch, survey, columns, value_rows, saved, chosen,
                       notice=_("Check the values of the columns you chose, then confirm again."))
    name = request.form.get("save_name", "").strip()
    scope_field = request.form.get("save_scope", "")
    try:
        applied_id = chosen.id if chosen and pre and _same(pre, mapping, survey.header) else None
        if name:
            scope = None if scope_field == "everyone" else scope_field or None
            kept = mappings.save_mapping(db.session, mapping, name=name, scope=scope, header=survey.header,
                                         by_id=current_user.id, role=current_user.role,
                                         province_code=current_user.province_code, now=clock.now())
            applied_id = kept.id
            audit("import_mapping_saved", subject=f"mapping {kept.id}",
                  detail={**mappings.summary(mapping, kept.name), "scope": kept.scope})
        mappings.confirm_mapping(db.session, batch, mapping, mapping_id=applied_id, limits=read_limits(),
                                 latin_names=request.form.get("latin_names") == "y")
        audit("import_mapping_applied", subject=f"batch {batch.id}",
              detail={**mappings.summary(mapping, name or (chosen.name if applied_id and chosen else None)),
                      "mapping_id": applied_id})
        db.session.commit()
    except UnusableFile as error:
        db.session.rollback()
        batch = _waiting_batch(batch.id)
        return _render(batch, survey, columns, value_rows, saved, chosen, error=_(error.message, **error.params),
                       legacy_font=isinstance(error, LegacyFontText), status=422)
    start_batch(current_app._get_current_object(), db.session, batch.id)  # type: ignore[attr-defined]
    return redirect(url_for("imports.batch", batch_id=batch.id), 303)


def _same(saved: Mapping, confirmed: Mapping, header: list[str]) -> bool:
    """Staff confirmed the saved mapping as proposed (every value it maps, mapped alike)."""
    return saved.rename(header) == confirmed.rename(header) and all(
        saved.value_map.get(name, {}).get(key) == code for name, table in confirmed.value_map.items() for key, code in table.items())


@bp.get("/mappings")
@roles_required(*IMPORTERS)
def saved_mappings():  # type: ignore[no-untyped-def]
    found = mappings.visible_for(db.session, current_user.province_code)
    return render_template("imports/mappings.html", mappings=found, fields=fields.LABELS,
                           may_delete=lambda m: mappings.may_delete(m, by_id=current_user.id, role=current_user.role))


@bp.post("/mappings/<int:mapping_id>/delete")
@roles_required(*IMPORTERS)
def delete_mapping(mapping_id: int):  # type: ignore[no-untyped-def]
    found = next((m for m in mappings.visible_for(db.session, current_user.province_code) if m.id == mapping_id), None)
    if found is None:
        abort(404)
    if not mappings.may_delete(found, by_id=current_user.id, role=current_user.role):
        abort(403)
    audit("import_mapping_deleted", subject=f"mapping {found.id}", detail={"mapping": found.name, "scope": found.scope})
    mappings.delete_mapping(db.session, found)
    db.session.commit()
    return redirect(url_for(".saved_mappings"), 303)
