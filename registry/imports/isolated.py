"""Untrusted files are read in child processes with memory and time limits.

A hostile file can then only exhaust a child: the web worker (or the CLI) gets back the
header of a usable file, or the reason a file cannot be used, and its own memory stays flat.
"""
from __future__ import annotations

import logging
import multiprocessing
import resource
import signal
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from registry.actors import legacy_font
from registry.i18n import N_
from registry.imports.errors import UnusableFile
from registry.imports.limits import MiB, ReadLimits
from registry.imports.mapping_rules import Mapping, Unmatched, needs_mapping, survey_file
from registry.imports.reading import detect_format, open_table

log = logging.getLogger(__name__)

TOO_MUCH_MEMORY = N_("Reading the file needs more than %(mb)s MB of memory, more than an import may use. Split it into smaller files and upload them one by one.")
TOO_SLOW = N_("Checking the file took longer than %(seconds)s seconds. Split it into smaller files and upload them one by one.")
CHECK_FAILED = N_("The file could not be checked. Save it again as .xlsx or CSV UTF-8 and upload it again; if that does not help, tell an administrator.")


@dataclass(frozen=True)
class Inspection:
    """What the up-front check learnt about a usable file."""

    file_format: str
    header: list[str]
    unknown_columns: list[str]
    estimated_rows: int | None
    legacy_font: legacy_font.Finding | None = None  # the names look typed in a Limon/ABC font
    # Columns or coded values that are not ours: staff match them first (imports.mapping_rules)
    unmatched: Unmatched | None = None
    sheet_name: str | None = None  # the sheet a workbook is read from


def limit_this_process(limits: ReadLimits, cpu_seconds: int | None = None) -> None:
    """Cap this (child) process's address space, and its CPU time if given: past them an
    allocation fails with MemoryError, or the kernel stops the process."""
    resource.setrlimit(resource.RLIMIT_AS, (limits.child_memory_bytes, limits.child_memory_bytes))
    if cpu_seconds is not None:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def out_of_memory(limits: ReadLimits) -> UnusableFile:
    return UnusableFile(TOO_MUCH_MEMORY, mb=limits.child_memory_bytes // MiB)


def _inspect(path: str, filename: str, limits: ReadLimits, mapping: Mapping | None) -> Inspection:
    """Format and content check, header and columns. Without a mapping, a file whose columns
    or coded values are not all ours comes back `unmatched` (staff match them first); with
    the mapping staff confirmed, only missing columns stop it (values it leaves are row problems)."""
    file_format = detect_format(Path(path), filename, limits)
    if mapping is None:
        survey = survey_file(Path(path), file_format, limits, coded_only=True)
        lacking = needs_mapping(survey)
        if lacking:
            return Inspection(file_format, survey.header, [], survey.estimated_rows, unmatched=lacking)
    with open_table(Path(path), file_format, limits, mapping) as table:
        header, columns, unknown, estimate, sheet = (
            table.header, table.columns, table.unknown_columns, table.estimated_rows, table.sheet_name)
    finding = _legacy_font(Path(path), file_format, limits, columns.get("full_name"))
    return Inspection(file_format, header, unknown, estimate, finding, sheet_name=sheet)


def _survey(path: str, file_format: str, limits: ReadLimits) -> Any:
    return survey_file(Path(path), file_format, limits)


def _in_child(target: Any, args: tuple[Any, ...], limits: ReadLimits, answer: Any) -> None:
    """Child process: `target(*args)` within the limits; one message back."""
    limit_this_process(limits, cpu_seconds=limits.check_seconds)
    try:
        outcome: tuple[str, Any] = ("usable", target(*args))
    except UnusableFile as error:
        outcome = ("unusable", error)
    except MemoryError:
        outcome = ("unusable", out_of_memory(limits))
    answer.send(outcome)
    answer.close()


def _legacy_font(path: Path, file_format: str, limits: ReadLimits, column: int | None) -> legacy_font.Finding | None:
    """Whether the names of the file's first rows look typed in a legacy Khmer font."""
    if column is None:
        return None
    names: list[tuple[int, str]] = []
    try:
        with open_table(path, file_format, limits) as table:
            names.extend((row.number, row.cells[column]) for row in islice(table.rows, legacy_font.SAMPLE_ROWS))
    except UnusableFile:
        pass  # a row that cannot be read stops the import there, with its number; judge the rows before it
    return legacy_font.check_names(names)


def inspect_upload(path: Path, filename: str, limits: ReadLimits, mapping: Mapping | None = None) -> Inspection:
    """Check a file in a child process (spawned: it shares nothing with this one).

    Raises UnusableFile: the file's own reason, or that checking it took too much memory
    or time (the child is then stopped)."""
    return in_child(_inspect, (str(path), filename, limits, mapping), limits)  # type: ignore[no-any-return]


def survey_upload(path: Path, file_format: str, limits: ReadLimits) -> Any:
    """The columns of a stored file with samples of their cells (mapping_rules.ColumnSurvey),
    read in a child process like the up-front check."""
    return in_child(_survey, (str(path), file_format, limits), limits)


def in_child(target: Any, args: tuple[Any, ...], limits: ReadLimits) -> Any:
    """`target(*args)` in a spawned child with the limits of the up-front check."""
    context = multiprocessing.get_context("spawn")
    receiving, sending = context.Pipe(duplex=False)
    child = context.Process(target=_in_child, args=(target, args, limits, sending), daemon=True)
    child.start()
    sending.close()
    try:
        if not receiving.poll(limits.check_seconds):
            raise UnusableFile(TOO_SLOW, seconds=limits.check_seconds)
        try:
            kind, payload = receiving.recv()
        except (EOFError, OSError):
            child.join(5)
            if child.exitcode == -signal.SIGXCPU:  # its CPU time ran out
                raise UnusableFile(TOO_SLOW, seconds=limits.check_seconds) from None
            log.error("the check of an uploaded file stopped (exit code %s)", child.exitcode)
            raise UnusableFile(CHECK_FAILED) from None
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        receiving.close()
    if kind == "unusable":
        raise payload
    return payload
