"""Outreach imports on the web: upload, batch list, live progress, error report, template."""
from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    request,
    redirect,
    render_template,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from redis.exceptions import RedisError
from sqlalchemy import select

from registry import clock
from registry.events.views import audit
from registry.extensions import db, limiter
from registry.i18n import N_
from registry.imports.forms import UploadForm
from registry.imports.headers import tool_columns
from registry.imports.models import STATUS_LABELS, ImportBatch, ImportProblem
from registry.imports.reading import UnusableFile
from registry.imports.report import reasons, report_rows
from registry.imports.runner import read_limits, settings, upload_folder
from registry.imports.services import LegacyFontText, create_batch
from registry.imports.template import template_csv, template_xlsx
from registry.imports.uploads import save_upload
from registry.imports.xlsform import xlsform_xlsx
from registry.imports.jobs import start_batch
from registry.jobs.queue import is_pending, uses_queue
from registry.spreadsheets import csv_chunks
from registry.web.access import roles_required

bp = Blueprint("imports", __name__, url_prefix="/staff/imports")


IMPORTERS = ("outreach", "admin")
PROBLEMS_PAGE = 50  # problem rows shown on the batch page at a time
OUTCOME_LABELS = {"rejected": N_("Rejected"), "duplicate": N_("Duplicate")}
TAKEN_OVER = N_("Interrupted: another worker will resume it by itself")


def status_text(status: str, not_stored: int) -> str:
    """The status as people read it: a finished batch says how many rows it did not store."""
    if status == "done" and not_stored:
        return ngettext("Finished — %(num)s row not stored", "Finished — %(num)s rows not stored", not_stored)
    return _(STATUS_LABELS[status])


@bp.context_processor
def inject_labels() -> dict[str, object]:
    return {"status_labels": STATUS_LABELS, "status_text": status_text, "outcome_labels": OUTCOME_LABELS}


def _visible_batches():  # type: ignore[no-untyped-def]
    """Admins see every batch (of their province, if limited); outreach staff their own."""
    query = select(ImportBatch).order_by(ImportBatch.id.desc())
    if current_user.role != "admin":
        query = query.where(ImportBatch.uploaded_by_id == current_user.id)
    elif current_user.province_code:
        query = query.where(ImportBatch.province_code == current_user.province_code)
    return query


def _batch_or_404(batch_id: int) -> ImportBatch:
    batch = db.session.scalar(_visible_batches().where(ImportBatch.id == batch_id))
    if batch is None:
        abort(404)
    return batch


def _uploader_key() -> str:
    """Uploads count per account, wherever they come from (limits are checked before the view)."""
    return f"upload:{current_user.get_id() or 'anonymous'}"


@bp.route("", methods=["GET", "POST"])
@roles_required(*IMPORTERS)
@limiter.limit(lambda: current_app.config["UPLOAD_RATE_LIMIT"], methods=["POST"], key_func=_uploader_key)
def index():  # type: ignore[no-untyped-def]
    form = UploadForm()
    file_error, legacy_font = None, bool(form.latin_names.data)
    if form.validate_on_submit():
        upload = form.file.data
        filename = upload.filename or "upload"
        stored = save_upload(upload.stream, upload_folder(), filename)
        try:
            batch = create_batch(
                db.session, stored, filename, uploaded_by_id=current_user.id,
                province_code=current_user.province_code, now=clock.now(), limits=read_limits(),
                latin_names=bool(form.latin_names.data), mapping_step=True,
            )
            detail = {"filename": batch.filename, "sha256": batch.sha256}
            if form.latin_names.data:
                detail["latin_names_confirmed"] = True  # staff overrode the legacy-font check
            audit("import_upload", subject=f"batch {batch.id}", detail=detail)
            db.session.commit()
        except UnusableFile as error:
            db.session.rollback()
            stored.unlink(missing_ok=True)
            file_error = _(error.message, **error.params)
            legacy_font = legacy_font or isinstance(error, LegacyFontText)
        except BaseException:
            db.session.rollback()
            stored.unlink(missing_ok=True)  # no file is kept without its batch
            raise
        else:
            if batch.status == "mapping":  # columns or values not ours: staff match them first
                return redirect(url_for("import_mappings.batch_mapping", batch_id=batch.id), 303)
            start_batch(current_app._get_current_object(), db.session, batch.id)  # type: ignore[attr-defined]
            return redirect(url_for(".batch", batch_id=batch.id), 303)
    batches = db.session.scalars(_visible_batches().limit(50)).all()
    status = 422 if (form.errors or file_error) else 200
    return render_template("imports/index.html", form=form, file_error=file_error, batches=batches,
                           legacy_font=legacy_font), status


def _progress(batch: ImportBatch) -> dict[str, object]:
    stalled = batch.status == "running" and batch.heartbeat_at is not None and (
        clock.now() - clock.as_utc(batch.heartbeat_at) > settings()[1]
    )
    rate = batch.rows / batch.seconds_running if batch.seconds_running else None
    handed_on = stalled and _handed_on(batch)
    return {
        "id": batch.id, "status": "stalled" if stalled else batch.status, "worker": batch.worker,
        "rows": batch.rows, "total_rows": batch.total_rows, "imported": batch.imported,
        "duplicates": batch.duplicates, "rejected": batch.rejected,
        "rows_per_second": round(rate) if rate else None,
        "report_url": url_for(".report", batch_id=batch.id) if batch.status == "done" and (batch.duplicates or batch.rejected) else None,
        "resumable": (stalled and not handed_on) or batch.resumable,
        "taken_over": handed_on,
        "live": batch.status in ("queued", "running") and (not stalled or handed_on),  # the page follows it
    }


def _handed_on(batch: ImportBatch) -> bool:
    """On the job queue a stalled batch needs no one while its job is pending: RQ hands it
    to another worker. Once its retries are spent, staff resume it (the button)."""
    if not uses_queue(current_app) or batch.job_id is None:
        return False
    try:
        return is_pending(current_app, batch.job_id)
    except RedisError:  # the queue does not answer: no button can help either
        return True


def _problem_page(batch: ImportBatch, after: int) -> tuple[list[dict[str, object]], int | None]:
    """The problem rows after spreadsheet row `after` (keyset paging, in file order), with their
    reasons as the CSV report gives them; and the row the next page starts after, if any."""
    found = db.session.execute(
        select(ImportProblem.row_number, ImportProblem.outcome, ImportProblem.detail)
        .where(ImportProblem.batch_id == batch.id, ImportProblem.row_number > after)
        .order_by(ImportProblem.row_number)
        .limit(PROBLEMS_PAGE + 1)
    ).all()
    rows = [{"row": number, "outcome": outcome,
             "reasons": reasons(outcome, detail, _, viewer_province=current_user.province_code)}
            for number, outcome, detail in found[:PROBLEMS_PAGE]]
    return rows, (rows[-1]["row"] if len(found) > PROBLEMS_PAGE else None)  # type: ignore[return-value]


@bp.get("/<int:batch_id>")
@roles_required(*IMPORTERS)
def batch(batch_id: int):  # type: ignore[no-untyped-def]
    found = _batch_or_404(batch_id)
    progress = _progress(found)
    after = request.args.get("after", "")
    if after and not (after.isdigit() and len(after) <= 9):
        abort(400)
    problems, next_after = ([], None)
    if progress["report_url"]:  # finished with rows not stored: listed here as in the CSV
        problems, next_after = _problem_page(found, int(after or 0))
    return render_template("imports/batch.html", batch=found, progress=progress, problems=problems,
                           tool_columns=tool_columns(found.header),
                           after=int(after or 0), next_after=next_after,
                           status=_(TAKEN_OVER) if progress["taken_over"] else
                           status_text(str(progress["status"]), found.duplicates + found.rejected))


@bp.get("/<int:batch_id>/progress")
@roles_required(*IMPORTERS)
def progress(batch_id: int):  # type: ignore[no-untyped-def]
    return jsonify(_progress(_batch_or_404(batch_id)))


@bp.post("/<int:batch_id>/resume")
@roles_required(*IMPORTERS)
def resume(batch_id: int):  # type: ignore[no-untyped-def]
    found = _batch_or_404(batch_id)
    if _progress(found)["resumable"]:
        start_batch(current_app._get_current_object(), db.session, found.id)  # type: ignore[attr-defined]
    return redirect(url_for(".batch", batch_id=found.id), 303)


@bp.get("/<int:batch_id>/report.csv")
@roles_required(*IMPORTERS)
def report(batch_id: int):  # type: ignore[no-untyped-def]
    found = _batch_or_404(batch_id)
    audit("report_download", subject=f"batch {found.id}")
    db.session.commit()
    rows = report_rows(db.session, found, _, viewer_province=current_user.province_code)
    return Response(
        stream_with_context(csv_chunks(rows)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="import-{found.id}-report.csv"'},
    )


@bp.get("/template.<any(csv, xlsx):kind>")
@roles_required(*IMPORTERS)
def template(kind: str):  # type: ignore[no-untyped-def]
    if kind == "csv":
        body, mimetype = template_csv(), "text/csv"
    else:
        body, mimetype = template_xlsx(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="registry-template.{kind}"'})


@bp.get("/form.xlsx")
@roles_required(*IMPORTERS)
def xlsform():  # type: ignore[no-untyped-def]
    """The XLSForm for KoboToolbox and ODK Collect (registry.imports.xlsform)."""
    return Response(xlsform_xlsx(), mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": 'attachment; filename="registry-form.xlsx"'})
