"""Outreach imports on the web: upload, batch list, live progress, error report, template."""
from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from registry import clock
from registry.events.views import audit
from registry.extensions import db, limiter
from registry.imports.forms import UploadForm
from registry.imports.models import STATUS_LABELS, ImportBatch
from registry.imports.reading import UnusableFile
from registry.imports.report import report_rows
from registry.imports.runner import read_limits, settings, start_in_background, upload_folder
from registry.imports.services import create_batch
from registry.imports.template import template_csv, template_xlsx
from registry.imports.uploads import save_upload
from registry.spreadsheets import csv_chunks
from registry.web.access import roles_required

bp = Blueprint("imports", __name__, url_prefix="/staff/imports")


@bp.context_processor
def inject_labels() -> dict[str, object]:
    return {"status_labels": STATUS_LABELS}
IMPORTERS = ("outreach", "admin")


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
    file_error = None
    if form.validate_on_submit():
        upload = form.file.data
        filename = upload.filename or "upload"
        stored = save_upload(upload.stream, upload_folder(), filename)
        try:
            batch = create_batch(
                db.session, stored, filename, uploaded_by_id=current_user.id,
                province_code=current_user.province_code, now=clock.now(), limits=read_limits(),
            )
            audit("import_upload", subject=f"batch {batch.id}", detail={"filename": batch.filename, "sha256": batch.sha256})
            db.session.commit()
        except UnusableFile as error:
            db.session.rollback()
            stored.unlink(missing_ok=True)
            file_error = _(error.message, **error.params)
        except BaseException:
            db.session.rollback()
            stored.unlink(missing_ok=True)  # no file is kept without its batch
            raise
        else:
            start_in_background(current_app._get_current_object(), batch.id)  # type: ignore[attr-defined]
            return redirect(url_for(".batch", batch_id=batch.id), 303)
    batches = db.session.scalars(_visible_batches().limit(50)).all()
    status = 422 if (form.errors or file_error) else 200
    return render_template("imports/index.html", form=form, file_error=file_error, batches=batches), status


def _progress(batch: ImportBatch) -> dict[str, object]:
    stalled = batch.status == "running" and batch.heartbeat_at is not None and (
        clock.now() - clock.as_utc(batch.heartbeat_at) > settings()[1]
    )
    rate = batch.rows / batch.seconds_running if batch.seconds_running else None
    return {
        "id": batch.id, "status": "stalled" if stalled else batch.status,
        "rows": batch.rows, "total_rows": batch.total_rows, "imported": batch.imported,
        "duplicates": batch.duplicates, "rejected": batch.rejected,
        "rows_per_second": round(rate) if rate else None,
        "report_url": url_for(".report", batch_id=batch.id) if batch.status == "done" and (batch.duplicates or batch.rejected) else None,
        "resumable": stalled or batch.resumable,
    }


@bp.get("/<int:batch_id>")
@roles_required(*IMPORTERS)
def batch(batch_id: int):  # type: ignore[no-untyped-def]
    found = _batch_or_404(batch_id)
    return render_template("imports/batch.html", batch=found, progress=_progress(found))


@bp.get("/<int:batch_id>/progress")
@roles_required(*IMPORTERS)
def progress(batch_id: int):  # type: ignore[no-untyped-def]
    return jsonify(_progress(_batch_or_404(batch_id)))


@bp.post("/<int:batch_id>/resume")
@roles_required(*IMPORTERS)
def resume(batch_id: int):  # type: ignore[no-untyped-def]
    found = _batch_or_404(batch_id)
    if _progress(found)["resumable"]:
        start_in_background(current_app._get_current_object(), found.id)  # type: ignore[attr-defined]
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
