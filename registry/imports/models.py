"""Import batches and the rows they could not store (with reasons)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, DateTime, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from registry.database import one_of
from registry.extensions import db

from registry.i18n import N_

STATUS_LABELS = {
    "queued": N_("Waiting to start"),
    "running": N_("Importing"),
    "done": N_("Finished"),
    "failed": N_("Stopped"),
    "mapping": N_("Waiting for staff to match its columns"),
    "stalled": N_("Interrupted"),
}
STATUSES = ("queued", "running", "done", "failed", "mapping")  # stored; "stalled" is shown for a dead "running"
# Why a batch failed, when its run stopped unexpectedly (a crash, a kill): it can be resumed,
# and keeps its file. Any other failure is the file's own, for good.
STOPPED = N_("The import stopped unexpectedly after row %(row)s. Resume it to continue.")
FILE_GONE = N_("The file of this import is no longer kept: files are deleted once their import has ended. Upload the file again.")


FILE_FORMATS = ("csv", "zip", "xlsx", "xls", "ods")  # as reading.FORMATS names them


class ImportBatch(db.Model):  # type: ignore[name-defined]
    """One uploaded file: who, when, what, and how far its import has got."""

    __tablename__ = "import_batch"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    province_code: Mapped[str | None] = mapped_column(String(2))  # the uploader's limit, if any
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size_bytes: Mapped[int] = mapped_column(Integer)
    file_format: Mapped[str] = mapped_column(String(4))  # reading.FORMATS
    sheet_name: Mapped[str | None] = mapped_column(String(100))  # the sheet a workbook was read from
    stored_path: Mapped[str] = mapped_column(String(1024))
    header: Mapped[list[str]] = mapped_column(JSON)
    unknown_columns: Mapped[list[str]] = mapped_column(JSON)
    same_as_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"))
    status: Mapped[str] = mapped_column(String(8))
    total_rows: Mapped[int | None] = mapped_column(Integer)  # estimate until done
    last_row: Mapped[int] = mapped_column(Integer, default=1)  # spreadsheet row fully processed
    rows: Mapped[int] = mapped_column(Integer, default=0)  # data rows processed (blank rows skipped)
    imported: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    seconds_running: Mapped[float] = mapped_column(Float, default=0.0)
    failure: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # {"message": msgid, "params": {...}}
    # The mapping staff confirmed for this file (imports.mappings): the saved one, if any, and
    # what was applied, as applied (the saved mapping may change or go later).
    mapping_id: Mapped[int | None] = mapped_column(ForeignKey("import_mapping.id", ondelete="SET NULL"))
    mapping_applied: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # On the job queue (registry.jobs): the worker running it or that ran it last (host.pid
    # or --name), and the RQ job that will run it; both empty for the in-process runner.
    worker: Mapped[str | None] = mapped_column(String(100))
    job_id: Mapped[str | None] = mapped_column(String(64))

    @property
    def resumable(self) -> bool:
        """Stopped unexpectedly (not because of its file): the import can go on from its last row."""
        return self.status == "failed" and (self.failure or {}).get("message") == STOPPED

    __table_args__ = (
        CheckConstraint(one_of("status", STATUSES), name="status"),
        CheckConstraint(one_of("file_format", FILE_FORMATS), name="file_format"),
        CheckConstraint("rows = imported + duplicates + rejected", name="counts_add_up"),
    )


class ImportProblem(db.Model):  # type: ignore[name-defined]
    """A row of a batch that was not stored: rejected (field errors) or a duplicate."""

    __tablename__ = "import_problem"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id"))
    row_number: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(9))
    # [{"field", "message", "params"}] for rejected rows; {"number"} or {"row"} for duplicates
    detail: Mapped[Any] = mapped_column(JSON)
    cells: Mapped[list[str]] = mapped_column(JSON)

    __table_args__ = (
        UniqueConstraint("batch_id", "row_number"),
        CheckConstraint(one_of("outcome", ("rejected", "duplicate")), name="outcome"),
    )
