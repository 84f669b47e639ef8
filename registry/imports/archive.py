"""An XLSX, an ODS and a zipped CSV are zip archives: open them without trusting what they
say about themselves.

Entries are checked by name (nothing absolute, no `..`, no duplicates), by kind (stored or
deflated, not encrypted) and by number. Sizes the archive declares only ever refuse a file
early; what counts is the bytes actually decompressed, metered as they are read, per part
and in total (and against the file's packed size), so a part stops at its limit whatever
its header says.
"""
from __future__ import annotations

import io
import re
import zlib
import zipfile
from pathlib import Path
from typing import IO, Any

from registry.i18n import N_
from registry.imports.limits import MiB, ReadLimits
from registry.imports.errors import UnusableFile

WORKBOOK = "xl/workbook.xml"
_DRIVE = re.compile(r"^[A-Za-z]:")

NOT_A_WORKBOOK = N_("The file is named .xlsx but is not an Excel workbook. Save it again as .xlsx or CSV UTF-8.")
DAMAGED = N_("The workbook cannot be opened safely: %(reason)s")
ZIP_BOMB = N_("The workbook unpacks to far more data than it holds (a zip bomb?). It was not opened.")
TOO_BIG = N_("The workbook unpacks to more than %(mb)s MB, more than an import may read. Split it into smaller files, or save it as CSV UTF-8, and upload them one by one.")
TOO_MANY_PARTS = N_("The workbook is made of more than %(limit)s parts; a spreadsheet has a few dozen. Save it again as .xlsx from Excel or LibreOffice.")
PART_OUTSIDE = N_("The workbook holds a part named “%(name)s”, which points outside the workbook. It was not opened. Save it again as .xlsx from Excel or LibreOffice.")
PART_TWICE = N_("The workbook holds two parts named “%(name)s”. It was not opened. Save it again as .xlsx from Excel or LibreOffice.")
ENCRYPTED = N_("The workbook is encrypted. Save it again without a password, then upload it.")


class _Meter:
    """Decompressed bytes left for the whole archive: the smaller of the cap and the ratio."""

    def __init__(self, limits: ReadLimits, packed_bytes: int, messages: "Archive") -> None:
        self.limits = limits
        self.messages = messages
        self.total_left = limits.unpacked_bytes
        self.ratio_left = limits.unpack_ratio * packed_bytes + limits.unpack_allowance

    def spend(self, count: int) -> None:
        self.total_left -= count
        self.ratio_left -= count
        if self.ratio_left < 0:
            raise UnusableFile(self.messages.zip_bomb)
        if self.total_left < 0:
            raise UnusableFile(self.messages.too_big, mb=self.limits.unpacked_bytes // MiB)


class MeteredPart(io.RawIOBase):
    """One part's decompressed stream; each read counts against the part's and the archive's limits."""

    def __init__(self, raw: IO[bytes], meter: _Meter) -> None:
        super().__init__()
        self._raw = raw
        self._meter = meter
        self._left = meter.limits.part_bytes

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(1 << 16), b""))
        try:
            data = self._raw.read(size)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as error:
            raise UnusableFile(DAMAGED, reason=type(error).__name__) from None
        self._left -= len(data)
        if self._left < 0:
            raise UnusableFile(self._meter.messages.too_big, mb=self._meter.limits.part_bytes // MiB)
        self._meter.spend(len(data))
        return data

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        """For io.BufferedReader (a zipped text table is read as text, through a meter)."""
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        self._raw.close()
        super().close()

    def __enter__(self) -> "MeteredPart":
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.close()


class Archive:
    """A zip archive, its entries checked; parts are read through a meter. Subclasses name
    the part their kind of file must hold and the words its refusals use."""

    required: str | None = None  # a part the archive must hold to be this kind of file
    not_ours = N_("The file is named .zip but is not a zip archive. Make the zip again, or upload the CSV itself.")
    zip_bomb = N_("The zip file unpacks to far more data than it holds (a zip bomb?). It was not opened.")
    too_big = N_("The zip file unpacks to more than %(mb)s MB, more than an import may read. Split the table into smaller files and upload them one by one.")

    def __init__(self, path: Path, limits: ReadLimits) -> None:
        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError):
            raise UnusableFile(self.not_ours) from None
        try:
            self.names = _checked_names(self._zip.infolist(), limits, self)
        except BaseException:
            self._zip.close()
            raise
        self._meter = _Meter(limits, path.stat().st_size, self)

    def size_of(self, name: str) -> int:
        """What the archive declares a part unpacks to (an estimate only: reads are metered)."""
        return self._zip.getinfo(name).file_size

    def open(self, name: str) -> MeteredPart:
        try:
            raw = self._zip.open(name)
        except KeyError:
            raise UnusableFile(DAMAGED, reason=f"no {name[:60]}") from None
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, ValueError) as error:
            raise UnusableFile(DAMAGED, reason=type(error).__name__) from None
        return MeteredPart(raw, self._meter)

    def read(self, name: str) -> bytes:
        """A small part whole (the workbook, its relationships, the styles)."""
        with self.open(name) as part:
            return part.read()

    def verify(self) -> None:
        """Decompress every part to the end (checking its CRC) within the limits, keeping nothing."""
        for name in self.names:
            with self.open(name) as part:
                while part.read(1 << 20):
                    pass

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> "WorkbookArchive":
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.close()


class WorkbookArchive(Archive):
    """The zip archive of an XLSX."""

    required = WORKBOOK
    not_ours = NOT_A_WORKBOOK
    zip_bomb = ZIP_BOMB
    too_big = TOO_BIG


class SpreadsheetArchive(Archive):
    """The zip archive of an OpenDocument spreadsheet (.ods)."""

    required = "content.xml"
    not_ours = N_("The file is named .ods but is not an OpenDocument spreadsheet. Save it again as .ods, .xlsx or CSV UTF-8.")
    zip_bomb = ZIP_BOMB
    too_big = TOO_BIG


def _checked_names(entries: list[zipfile.ZipInfo], limits: ReadLimits, kind: Archive) -> list[str]:
    if len(entries) > limits.parts:
        raise UnusableFile(TOO_MANY_PARTS, limit=limits.parts)
    names: list[str] = []
    seen: set[str] = set()
    declared = 0
    for entry in entries:
        name = entry.filename
        shown = name[:80]
        if name.startswith(("/", "\\")) or _DRIVE.match(name) or ".." in re.split(r"[/\\]", name) or "\x00" in name:
            raise UnusableFile(PART_OUTSIDE, name=shown)
        if name in seen:
            raise UnusableFile(PART_TWICE, name=shown)
        seen.add(name)
        if entry.flag_bits & 0x1:
            raise UnusableFile(ENCRYPTED)
        if entry.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise UnusableFile(kind.not_ours)
        # What the archive declares can only refuse it sooner; the meter counts real bytes.
        declared += entry.file_size
        if entry.file_size > limits.part_bytes:
            raise UnusableFile(kind.too_big, mb=limits.part_bytes // MiB)
        if declared > limits.unpacked_bytes:
            raise UnusableFile(kind.too_big, mb=limits.unpacked_bytes // MiB)
        names.append(name)
    if kind.required is not None and kind.required not in seen:
        raise UnusableFile(kind.not_ours)
    return names
