"""Running a batch: chunk by chunk, one transaction each, resumable after any crash.

Each chunk's actors, problem rows and the batch's progress (the last spreadsheet row
done, the counts) commit together, so a killed process leaves either the whole chunk or
none of it, and a resumed run starts after the last committed row.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from contextlib import ExitStack
from datetime import date, datetime, timedelta
from queue import Empty, Full
from pathlib import Path
from typing import Any, Iterator, NamedTuple

from flask import Flask, current_app
from sqlalchemy import or_, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from registry import clock
from registry.actors.identity import MOST_LOCKED
from registry.database import PlannerStatistics, database_unavailable, is_retryable, is_unique_violation
from registry.duplicates.scan import find_after_import
from registry.imports.isolated import limit_this_process, out_of_memory
from registry.imports.limits import ReadLimits
from registry.imports.mapping_rules import Mapping, parse_mapping
from registry.imports.models import FILE_GONE, STOPPED, ImportBatch
from registry.imports.reading import SourceRow, UnusableFile, columns_of, open_table
from registry.imports.services import CheckedRow, check_rows, store_chunk
from registry.imports.uploads import discard_upload

log = logging.getLogger(__name__)
RETRIES = 3
STOP_RECORD_SECONDS = 15  # a restarting PostgreSQL answers again within seconds


def settings() -> tuple[int, timedelta]:
    """Chunk size and how long a silent run counts as alive, from the app's config."""
    config = current_app.config
    return config["IMPORT_CHUNK_ROWS"], timedelta(seconds=config["IMPORT_STALE_SECONDS"])


def read_limits() -> ReadLimits:
    """How much of a file the importer reads (`limits.py`), as the app is configured."""
    return ReadLimits.from_config(current_app.config)


def upload_folder() -> Path:
    return Path(current_app.config["IMPORT_UPLOAD_FOLDER"])


class BatchBusy(RuntimeError):
    """Another process is running this batch (its heartbeat is fresh), or it has ended for good."""


def claim(session: Session, batch_id: int, now: datetime, stale_after: timedelta, worker: str | None = None) -> None:
    """Mark the batch running for us (`worker`: the job queue worker's name, shown on the
    batch page): queued, failed, or running with a stale heartbeat."""
    claimed = session.execute(
        update(ImportBatch)
        .where(
            ImportBatch.id == batch_id,
            or_(
                ImportBatch.status.in_(("queued", "failed")),
                (ImportBatch.status == "running") & (ImportBatch.heartbeat_at <= now - stale_after),
            ),
        )
        .values(status="running", heartbeat_at=now, failure=None, worker=worker)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    if claimed != 1:
        raise BatchBusy(batch_id)


def run_import(session: Session, batch_id: int, *, worker: str | None = None,
               find_duplicates: bool = True) -> ImportBatch:
    """Import (or resume) a batch to the end; return it with its final counts.

    `worker` names the job queue worker running it; `find_duplicates=False` leaves the
    after-import search to the caller (the job queue runs it as a job of its own).

    The file is read in a worker process with a memory limit (always for a workbook; for
    a CSV of at least IMPORT_PARALLEL_MIN_ROWS rows, so that reading and writing share the
    two cores), or here for a smaller CSV, whose reader is bounded by the limits alone."""
    _chunk_rows, stale_after = settings()
    known = session.get(ImportBatch, batch_id)
    if known is not None and known.status == "failed" and not known.resumable:
        raise BatchBusy(batch_id)
    claim(session, batch_id, clock.now(), stale_after, worker)
    # The writer (this thread) keeps its priority: it holds locks registrations wait for, and
    # a lowered one would be descheduled while holding them (measured: a registration waited
    # 337 ms on an identity lock behind an import at nice 19 that had yet to send COMMIT).
    # Reading and validating, the CPU-heavy part, run lower (_reader_process).
    return _run_claimed(session, batch_id, find_duplicates)


class _File(NamedTuple):
    """What a run reads of its batch, read once, before the run's first commit. Read after a
    commit, an expired attribute of the batch would open a transaction that stays open while
    the reader starts and reads the next chunk: on SQLite every transaction holds the
    database's write lock from its first statement (registry.database), and registrations
    waited behind it for 0.3–1.9 s (README, mixed load)."""

    path: str
    format: str
    header: list[str]
    mapping_applied: Any
    total_rows: int | None
    last_row: int
    province_code: str | None

    @classmethod
    def of(cls, batch: ImportBatch) -> "_File":
        return cls(batch.stored_path, batch.file_format, batch.header, batch.mapping_applied, batch.total_rows,
                   batch.last_row, batch.province_code)


def _run_claimed(session: Session, batch_id: int, find_duplicates: bool) -> ImportBatch:
    config = current_app.config
    chunk_rows, _stale_after = settings()
    limits = read_limits()
    batch = session.get(ImportBatch, batch_id, populate_existing=True)
    assert batch is not None
    if batch.started_at is None:
        batch.started_at = clock.now()
    file = _File.of(batch)
    imported = batch.imported
    session.commit()
    try:
        if not Path(file.path).is_file():
            raise UnusableFile(FILE_GONE)
        mapping = parse_mapping(file.mapping_applied) if file.mapping_applied else None
        columns, _unknown = columns_of(file.header) if mapping is None else mapping.columns(file.header)
        values = mapping.value_map if mapping else None
        inline = file.format == "csv" and (
            config["IMPORT_WORKERS"] <= 0 or (file.total_rows or 0) < config["IMPORT_PARALLEL_MIN_ROWS"])
        with ExitStack() as stack:
            if inline:
                table = stack.enter_context(open_table(Path(file.path), file.format, limits, mapping))
                chunks = _chunks(table.rows, file.last_row, chunk_rows)
                checked = (check_rows(rows, columns, clock.today(), file.province_code, values) for rows in chunks)
            else:
                checked = _checked_by_worker(file, columns, chunk_rows, limits, mapping)
                stack.callback(checked.close)  # stops the worker if storing fails
            statistics = PlannerStatistics(session, "actor")
            writes = Writes(config["IMPORT_WRITE_SECONDS"], chunk_rows)
            mark = time.perf_counter()
            for chunk in checked:
                mark, now_imported = _commit_chunk(session, batch, chunk, mark, writes)
                statistics.added_rows(now_imported - imported)
                imported = now_imported
    except UnusableFile as error:
        session.rollback()
        _finish(session, batch, "failed", {"message": error.message, "params": error.params})
        return batch
    except Exception:
        session.rollback()
        log.exception("import batch %s stopped", batch_id)
        _record_stop(session, batch, batch_id)
        raise
    batch.total_rows = batch.rows
    batch_id = batch.id  # read before the commit: reading it after would open a transaction
    _finish(session, batch, "done", None)  # the rows are the import; staff see it done now
    if find_duplicates:
        queue_duplicates(session, batch_id)
    return batch


def lower_this_process(nice: int) -> None:
    """Run this process `nice` steps lower (the reader of an import: reading and validating
    take CPU that web requests should win; it holds no database lock)."""
    if nice > 0:
        os.nice(nice)


def queue_duplicates(session: Session, batch_id: int) -> None:
    """The review queue's candidates of the rows just stored (registry.duplicates), once the
    batch is done. Its own transactions (one per slice of pairs stored: services.store): a
    failure here loses no row and does not fail the import (the periodic `find-duplicates` finds the same pairs), it is logged. (On the job
    queue it is a job of its own: registry.imports.jobs.) The session holds no transaction while
    the search reads on its own connection (a write lock on SQLite; on PostgreSQL a lock that
    a waiting TRUNCATE or migration would queue the reader behind: a deadlock across the two
    connections that the database cannot see)."""
    try:
        find_after_import(session, batch_id, now=clock.now(), between=session.commit)
        session.commit()
    except Exception:  # noqa: BLE001 - logged; the import itself is done
        session.rollback()
        log.exception("import batch %s: the search for possible duplicates stopped", batch_id)


def _chunks(rows: Iterator[SourceRow], last_done: int, size: int) -> Iterator[list[SourceRow]]:
    """Rows after `last_done` (an earlier run did those), in lists of `size`."""
    chunk: list[SourceRow] = []
    for row in rows:
        if row.number <= last_done:
            continue
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# What the reader process puts on the queue: (number, kind, payload), numbered from 0 so
# that the writer notices a message lost on the way (see _checked_by_worker).
_STARTED = "started"  # nothing: sent before the memory limit, to start the queue's feeder thread
_CHECKED = "checked"  # a chunk's CheckedRows
_UNCHECKED = "unchecked"  # a chunk's rows as (number, cells, extra_cells), for the writer to check
_UNUSABLE = "unusable"  # (message, params): the file cannot be read on
_END = "end"


class _Numbered:
    """The queue as the reader uses it: every message numbered in order. The reader quits
    when the process it reads for has died (SIGKILL, the OOM killer: no clean-up ran), rather
    than wait forever, with its memory, for a full queue to be read."""

    def __init__(self, queue: Any) -> None:
        self.queue, self.sent, self.writer = queue, 0, os.getppid()

    def put(self, kind: str, payload: Any) -> None:
        while True:
            try:
                self.queue.put((self.sent, kind, payload), timeout=1)
                break
            except Full:
                if os.getppid() != self.writer:
                    os._exit(0)
        self.sent += 1


def _reader_process(
    limits: ReadLimits, path: str, file_format: str, last_row: int, chunk_rows: int, columns: dict[str, int],
    today: date, province_code: str | None, queue: Any, writer_waits: Any, mapping: Mapping | None = None,
    nice: int = 0,
) -> None:
    """Worker process: `_read_and_check` within the memory limit of a child that reads a file,
    `nice` steps below the writer.

    The queue's feeder thread starts before the limit (a thread needs address space for its
    stack); if memory runs out while it sends a chunk, that chunk is lost and the writer,
    seeing a number missing, stops the import unexpectedly (resumable) rather than skip it."""
    out = _Numbered(queue)
    out.put(_STARTED, None)
    lower_this_process(nice)
    limit_this_process(limits)
    try:
        _read_and_check(limits, path, file_format, last_row, chunk_rows, columns, today, province_code, out, writer_waits, mapping)
    except MemoryError:
        error = out_of_memory(limits)
        out.put(_UNUSABLE, (error.message, error.params))


def _read_and_check(
    limits: ReadLimits, path: str, file_format: str, last_row: int, chunk_rows: int, columns: dict[str, int],
    today: date, province_code: str | None, out: Any, writer_waits: Any, mapping: Mapping | None = None,
) -> None:
    """Worker process: read the file chunk by chunk into `out` (bounded) and validate each
    chunk here, unless the writer had to wait for work since the last chunk: then the chunk
    goes unvalidated and the writer validates it itself. So the work splits over both cores
    whichever side is slower on this machine and file (validating a row costs about as much
    as storing it)."""
    seen_waits = 0
    try:
        with open_table(Path(path), file_format, limits, mapping) as table:
            for rows in _chunks(table.rows, last_row, chunk_rows):
                waits = writer_waits.value
                if waits != seen_waits:
                    seen_waits = waits
                    out.put(_UNCHECKED, [(row.number, row.cells, row.extra_cells) for row in rows])
                else:
                    out.put(_CHECKED, check_rows(rows, columns, today, province_code, mapping.value_map if mapping else None))
        out.put(_END, None)
    except UnusableFile as error:
        out.put(_UNUSABLE, (error.message, error.params))


def _checked_by_worker(file: _File, columns: dict[str, int], chunk_rows: int, limits: ReadLimits,
                       mapping: Mapping | None = None) -> Iterator[list[CheckedRow]]:
    """Chunks with their validation results from a worker process, in file order.

    Reading and validating (pure) run on the other core while this process writes: at
    most a few chunks wait in the queue, so memory stays flat whatever the file size.
    """
    context = multiprocessing.get_context("spawn")
    queue = context.Queue(maxsize=3)
    today = clock.today()
    waits = context.RawValue("Q", 0)  # times this process found nothing to do
    worker = context.Process(
        target=_reader_process,
        args=(limits, file.path, file.format, file.last_row, chunk_rows, columns,
              today, file.province_code, queue, waits, mapping, current_app.config["IMPORT_NICE"]),
        daemon=True,
    )
    worker.start()
    expected = 0
    try:
        while True:
            try:
                item = queue.get_nowait()
            except Empty:
                waits.value += 1
                try:
                    item = queue.get(timeout=1)
                except Empty:
                    if not worker.is_alive():
                        raise RuntimeError("the import's reader process died") from None
                    continue
            number, kind, payload = item
            if number != expected:
                raise RuntimeError(f"the import's reader lost message {expected}")
            expected += 1
            if kind == _END:
                return
            if kind == _CHECKED:
                yield payload
            elif kind == _UNCHECKED:  # left for this process to validate (see _read_and_check)
                yield check_rows([SourceRow(*row) for row in payload], columns, today, file.province_code,
                                 mapping.value_map if mapping else None)
            elif kind == _UNUSABLE:
                message, params = payload
                raise UnusableFile(message, **params)
    finally:
        if worker.is_alive():
            worker.terminate()
        worker.join()
        queue.close()


class Writes:
    """How many checked rows go into one write transaction: sized so that each holds its
    locks (on SQLite the database's write lock; on PostgreSQL the identity locks of its
    people and the tally rows it adds to) for about `target` seconds, whatever the machine,
    the file and the load. Registrations wait behind at most one such transaction.

    Starts small, then follows the measured seconds per row of the transactions so far
    (halving or doubling at most per step, so one slow commit cannot swing it far);
    `target` 0: the whole chunk in one transaction. Never more than MOST_LOCKED rows (the
    identity locks one transaction may take), whatever `most` says."""

    FIRST = 200
    FEWEST = 20

    def __init__(self, target: float, most: int) -> None:
        self.target, self.most = target, min(most, MOST_LOCKED)
        self.size = min(self.FIRST, self.most) if target > 0 else self.most

    def slices(self, checked: list[CheckedRow]) -> Iterator[list[CheckedRow]]:
        start = 0
        while start < len(checked):
            part = checked[start:start + self.size]
            start += len(part)
            yield part

    def took(self, rows: int, seconds: float) -> None:
        if self.target <= 0 or rows < self.size or seconds <= 0:
            return  # a short last slice says little about the rate
        wanted = int(rows * self.target / seconds)
        self.size = max(self.FEWEST, min(self.most, wanted, 2 * self.size), self.size // 2)


def _commit_chunk(session: Session, batch: ImportBatch, checked: list[CheckedRow], started: float,
                  writes: Writes | None = None) -> tuple[float, int]:
    """Store a checked chunk in write transactions of `writes`' size, each whole: a killed
    process leaves whole transactions, and the batch's counts and last row say which.
    Returns the moment the batch's running time was counted up to, and the batch's count of
    imported rows (as committed: read after, it would open a transaction; see _File)."""
    writes = writes or Writes(0, len(checked))
    imported = 0
    for part in writes.slices(checked):
        began = time.perf_counter()
        started, imported = _commit_rows(session, batch, part, started)
        writes.took(len(part), time.perf_counter() - began)
    return started, imported


def _commit_rows(session: Session, batch: ImportBatch, checked: list[CheckedRow], started: float) -> tuple[float, int]:
    """One write transaction; returns the moment its running time was counted up to (the
    rest, the tally and the COMMIT, counts in the next) and the batch's imported rows."""
    counted = [started]

    def stamp() -> None:  # in the batch's row, flushed before the tally (store_chunk)
        batch.heartbeat_at = now
        counted.append(time.perf_counter())
        batch.seconds_running += counted[-1] - started

    for attempt in range(RETRIES):
        try:
            now = clock.now()
            store_chunk(session, batch, checked, now=now, before_counting=stamp)
            imported = batch.imported
            session.commit()
            return counted[-1], imported
        except IntegrityError as error:
            # A concurrent registration took one of these people between check and insert:
            # the whole transaction rolled back; de-duplicate it again.
            session.rollback()
            session.refresh(batch)
            if not is_unique_violation(error) or attempt == RETRIES - 1:
                raise
        except OperationalError as error:
            # A deadlock or serialization failure the database resolved by cancelling us:
            # nothing of this transaction stayed; do it again (bounded). Anything else (the
            # database gone) goes up at once, to be recorded as a stop (_record_stop).
            if not is_retryable(error) or attempt == RETRIES - 1:
                raise
            session.rollback()
            session.refresh(batch)
    raise AssertionError("unreachable: the last attempt returns or raises")


def _record_stop(session: Session, batch: ImportBatch, batch_id: int) -> None:
    """Mark the batch stopped unexpectedly after its last committed row (resumable: the Resume
    button, `import-actors --resume`, or a job queue's retry calls run_import again).

    When the database itself stopped the run (restarted, unreachable), recording that fails
    too: try again for up to STOP_RECORD_SECONDS while it comes back. If it does not, the
    batch stays "running" and is resumable once its heartbeat is stale, as after a crash."""
    deadline = time.monotonic() + STOP_RECORD_SECONDS
    while True:
        try:
            _finish(session, batch, "failed", {"message": STOPPED, "params": {"row": batch.last_row}})
            return
        except DBAPIError as error:
            session.rollback()
            if not database_unavailable(error) or time.monotonic() >= deadline:
                log.warning("import batch %s: its stop could not be recorded (%s)", batch_id, type(error).__name__)
                return
            time.sleep(1)


def _finish(session: Session, batch: ImportBatch, status: str, failure: dict[str, Any] | None) -> None:
    """Record how the run ended; a batch that has ended for good no longer needs its file."""
    batch.status = status
    batch.failure = failure
    batch.finished_at = clock.now() if status == "done" else None
    resumable, stored_path = batch.resumable, batch.stored_path  # after the commit, reading them would open a transaction
    session.commit()
    if not resumable:
        discard_upload(stored_path, upload_folder())


def start_in_background(app: Flask, batch_id: int) -> threading.Thread:
    """Run the import outside the request cycle (the page polls its progress)."""
    from registry.extensions import db

    def work() -> None:
        with app.app_context():
            try:
                run_import(db.session, batch_id)
            except BatchBusy:
                pass
            except Exception:  # noqa: BLE001 - recorded on the batch and logged above
                pass
            finally:
                db.session.remove()

    thread = threading.Thread(target=work, name=f"import-{batch_id}", daemon=True)
    threads = app.extensions.setdefault("registry.import_threads", [])
    threads[:] = [t for t in threads if t.is_alive()]
    threads.append(thread)
    thread.start()
    return thread
