"""How much of an uploaded file the importer will read: every cap in one place.

The figures are set above what real files need and far below what hurts a worker:

- The template filled to Excel's last row (1,048,576 rows) unpacks to 628 MB with inline
  strings as openpyxl writes them, 599 MiB of it the one sheet, and to 485 MB with a shared
  strings table as Excel writes it (`bench/xlsx_limits.py` builds both and measures; the
  same rows saved by openpyxl itself, with the template's other sheets: 634 MB). Names in
  Khmer would add some 60 MB (an estimate: 3 bytes a character). So a part may unpack to
  800 MiB and the whole workbook to 1 GiB, and only 100 times its packed size (plus
  10 MiB): real workbooks pack 8-15 times, a zip bomb a thousand times.
- A KoboToolbox or ODK export has a few hundred columns; the template has 13: 500.
- A name is at most 100 characters, a business name 120: a cell of 2,000 characters is
  already far more than any field holds; a header cell too.
- Checking that workbook up front (every part unpacked, the shared strings, the header)
  takes 0.8 s (inline strings) to 3.4 s (a shared strings table, as Excel writes), 1.5 to
  4.2 s with the child process's start, at a peak of 95 / 219 MB; reading all its rows
  44-47 s at 91 / 220 MB (address space 200 / 331 MB).
  So the check runs in a child process limited to 1 GiB of address space and 20 s, and the
  reader of a running import gets the same memory limit (and all the time it needs).
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Mapping

MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ReadLimits:
    """What a file may hold and what reading it may take (picklable: sent to child processes)."""

    unpacked_bytes: int = 1024 * MiB  # all parts of a workbook, as actually decompressed
    part_bytes: int = 800 * MiB  # one part (the sheet, the shared strings…)
    unpack_ratio: int = 100  # unpacked bytes per packed byte of the file…
    unpack_allowance: int = 10 * MiB  # …plus this, so that small files are never held to a ratio
    parts: int = 1000  # entries in the archive (a workbook has a dozen, a few hundred with images)
    columns: int = 500  # cells in a row, the header included
    cell_chars: int = 2000  # characters in a cell
    xls_bytes: int = 64 * MiB  # an .xls file (uncompressed; 65,536 rows of the template take ~10 MB)
    child_memory_bytes: int = 1024 * MiB  # address space of the checking and reading processes
    check_seconds: int = 20  # wall-clock time for the up-front check of a file

    @property
    def row_chars(self) -> int:
        """Characters a CSV row may take: every cell full (bounds a row before it is split)."""
        return self.columns * (self.cell_chars + 3)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "ReadLimits":
        """The defaults, with any `IMPORT_LIMIT_<NAME>` of the app's config on top."""
        return cls(**{f.name: int(config[key]) for f in fields(cls) if (key := config_key(f.name)) in config})


def config_key(name: str) -> str:
    return f"IMPORT_LIMIT_{name.upper()}"


DEFAULT_LIMITS = ReadLimits()
LIMIT_NAMES = tuple(f.name for f in fields(ReadLimits))
