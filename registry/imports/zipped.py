"""A text table in a zip (ODK Central downloads its submissions as `.csv.zip`): one CSV, TSV
or TXT, opened with the same distrust as a workbook (archive.py) and read through the CSV
path as it is unpacked, so the delimiter, the encodings and every row and cell limit hold."""
from __future__ import annotations

import io
import posixpath
from pathlib import Path
from typing import Callable

from registry.i18n import N_
from registry.imports.archive import Archive
from registry.imports.errors import UnusableFile
from registry.imports.limits import ReadLimits

TABLE_SUFFIXES = (".csv", ".tsv", ".txt")
# An archive inside the archive is refused, by its name or by its first bytes (zip and its
# office kin, gzip, 7z, rar, bzip2, xz, OLE2): the caps hold for one level of unpacking only.
ARCHIVE_SUFFIXES = (".zip", ".xlsx", ".xlsm", ".xls", ".ods", ".docx", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".tar", ".jar")
ARCHIVE_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"\x1f\x8b", b"7z\xbc\xaf", b"Rar!", b"BZh", b"\xfd7zXZ", b"\xd0\xcf\x11\xe0")
NESTED = N_("The zip file holds another archive (“%(name)s”), which is not opened. Put the CSV itself in the zip, or upload the CSV alone.")
NO_TABLE = N_("The zip file holds no .csv, .tsv or .txt table (it holds: %(names)s). Put the CSV in the zip, or upload the CSV alone.")
SEVERAL_TABLES = N_("The zip file holds %(count)s tables (%(names)s); an import reads one. Upload each table as its own file.")
SHOWN = 5  # names quoted in a reason


def _is_junk(name: str) -> bool:
    """Folders, and what macOS's Finder adds (`__MACOSX/`, `._name`)."""
    return name.endswith("/") or name.startswith("__MACOSX/") or posixpath.basename(name).startswith("._")


def _listed(names: list[str]) -> str:
    shown = ", ".join(posixpath.basename(n)[:60] for n in names[:SHOWN])
    return shown + (", …" if len(names) > SHOWN else "")


def table_name(archive: Archive) -> str:
    """The one table in the archive, by the names of its parts."""
    names = [n for n in archive.names if not _is_junk(n)]
    for name in names:
        if name.lower().endswith(ARCHIVE_SUFFIXES):
            raise UnusableFile(NESTED, name=posixpath.basename(name)[:60])
    tables = [n for n in names if n.lower().endswith(TABLE_SUFFIXES)]
    if not tables:
        raise UnusableFile(NO_TABLE, names=_listed(names) or "–")
    if len(tables) > 1:
        raise UnusableFile(SEVERAL_TABLES, count=len(tables), names=_listed(tables))
    return tables[0]


def verify(path: Path, limits: ReadLimits, head_bytes: int) -> bytes:
    """Unpack every part to its end within the limits (keeping nothing), refuse an archive
    inside, and return the first `head_bytes` of the one table."""
    with Archive(path, limits) as archive:
        name = table_name(archive)
        head = b""
        for part_name in archive.names:
            with archive.open(part_name) as part:
                first = part.read(head_bytes)
                if first.startswith(ARCHIVE_MAGIC) and not _is_junk(part_name):
                    raise UnusableFile(NESTED, name=posixpath.basename(part_name)[:60])
                if part_name == name:
                    head = first
                while part.read(1 << 20):
                    pass
    return head


def open_text(archive: Archive, encoding_of: Callable[[bytes], str]) -> io.TextIOWrapper:
    """The table's text as it is unpacked (metered), in the encoding its first bytes show."""
    buffered = io.BufferedReader(archive.open(table_name(archive)), 1 << 16)
    return io.TextIOWrapper(buffered, encoding=encoding_of(buffered.peek(4)[:4]), newline="")


def count_lines(path: Path, limits: ReadLimits) -> int:
    """Lines of the table (its estimated rows), counted in a pass of its own."""
    lines = 0
    with Archive(path, limits) as archive, archive.open(table_name(archive)) as part:
        while block := part.read(1 << 20):
            lines += block.count(b"\n")
    return lines
