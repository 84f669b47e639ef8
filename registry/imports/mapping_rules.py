"""An import mapping: which of our fields each column of a foreign file is, and which code each
of its own words for a coded value means. Pure (it runs in the child that reads a file too).

The column map renames header cells before `reading.columns_of`, so header recognition stays
in one place; the value map translates cells of coded fields before the validation core runs
(`services.check_rows`), while the row keeps its cells as written for the problem report.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from registry import vocab
from registry.actors import fields
from registry.actors.validation import CODED_FIELDS, clean_text, code_key, known_code
from registry.i18n import N_
from registry.imports.errors import UnusableFile
from registry.imports.headers import field_of
from registry.imports.limits import ReadLimits
from registry.imports.reading import columns_of, open_table

IGNORE = "ignore"
CODES: dict[str, tuple[str, ...]] = {
    "category": tuple(vocab.CATEGORIES), "gender": tuple(vocab.GENDERS), "sector": tuple(vocab.SECTORS),
}
assert set(CODES) == set(CODED_FIELDS), "a coded field without its codes here"
SAMPLE_ROWS = 20_000  # rows read for the values of coded fields (in the child that checks the file)
MOST_VALUES = 50  # unrecognised values offered per field; the rest are reported as row problems
DISTINCT_PER_COLUMN = 100  # distinct short values remembered per column while sampling
VALUE_CHARS = 60  # a longer cell is no coded value (it is reported as the row's problem)
# An unrecognised value sends a file to the mapping step when it is a word of the file's own
# (in this many rows at least, and this share of the rows sampled): a value in a row or two
# is a typing slip, reported with its row as before.
OWN_WORD_ROWS = 3
OWN_WORD_SHARE = 0.05
SAMPLE_CELLS = 3  # cells shown under each column on the mapping page
SAMPLE_CHARS = 40
MOST_COLUMNS = 500  # a mapping file's column map, at most (ReadLimits.columns' default)


class MappingError(UnusableFile):
    """A mapping that names a field or a code that is not ours (message names which)."""


def header_key(cell: str) -> str:
    """A header cell as compared: ' Worker  Type' and 'worker type' are one column."""
    return " ".join(cell.replace("\ufeff", "").split()).casefold()


def header_signature(header: list[str]) -> str:
    """The same header cells in the same order give the same signature (a hex SHA-256)."""
    return hashlib.sha256("\x1f".join(header_key(c) for c in header).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Mapping:
    """What staff confirmed: header cell -> field or IGNORE; field -> {value's code key -> code}."""

    column_map: dict[str, str]
    value_map: dict[str, dict[str, str]] = field(default_factory=dict)

    def rename(self, header: list[str]) -> list[str]:
        """The header as our importer should read it: mapped cells renamed, ignored ones blank
        when they would name a field of ours (any other cell is left: ignoring a column that
        is not ours changes nothing, and a field tool's id column stays the source reference)."""
        by_key = {header_key(cell): name for cell, name in self.column_map.items()}
        renamed = []
        for cell in header:
            name = by_key.get(header_key(cell))
            if name == IGNORE:
                renamed.append("" if field_of(cell) is not None else cell)
            else:
                renamed.append(cell if name is None else name)
        return renamed

    def columns(self, header: list[str]) -> tuple[dict[str, int], list[str]]:
        """`reading.columns_of` of the renamed header (raises naming missing columns)."""
        return columns_of(self.rename(header))

    def as_json(self) -> dict[str, Any]:
        return {"columns": dict(self.column_map), "values": {f: dict(v) for f, v in self.value_map.items() if v}}


class _AnyColumns:
    """Read a file whatever columns it has (to show them on the mapping page)."""

    @staticmethod
    def columns(header: list[str]) -> tuple[dict[str, int], list[str]]:
        return columns_of(header, required=())


def parse_mapping(data: Any) -> Mapping:
    """A mapping from its JSON shape ({"columns": {...}, "values": {...}}), every field name and
    code checked against ours; raises MappingError naming the first wrong one."""
    if not isinstance(data, dict) or not isinstance(data.get("columns"), dict):
        raise MappingError(N_("A mapping needs “columns”: each column name of the file and the field it is, or “ignore”."))
    columns: dict[str, str] = {}
    taken: dict[str, str] = {}
    if len(data["columns"]) > MOST_COLUMNS:
        raise MappingError(N_("A mapping may name at most %(most)s columns."), most=MOST_COLUMNS)
    for cell, name in data["columns"].items():
        if not isinstance(cell, str) or not isinstance(name, str) or (name != IGNORE and name not in fields.NAMES):
            raise MappingError(N_("Column “%(column)s”: “%(name)s” is not one of our fields. Use one of: %(fields)s, or ignore."),
                               column=str(cell)[:60], name=str(name)[:40], fields=", ".join(fields.NAMES))
        if name != IGNORE and name in taken:
            raise MappingError(N_("The columns “%(first)s” and “%(second)s” are both mapped to %(name)s. Map one of them only."),
                               first=taken[name][:60], second=cell[:60], name=name)
        taken[name] = cell
        columns[cell] = name
    values: dict[str, dict[str, str]] = {}
    raw_values = data.get("values") or {}
    if not isinstance(raw_values, dict):
        raise MappingError(N_("A mapping's “values” must name a field, then each value and its code."))
    for name, table in raw_values.items():
        if name not in CODES or not isinstance(table, dict):
            raise MappingError(N_("Values can be mapped for %(fields)s only, not “%(name)s”."),
                               fields=", ".join(CODES), name=str(name)[:40])
        if len(table) > DISTINCT_PER_COLUMN * 5:
            raise MappingError(N_("A mapping may name at most %(most)s values of a field."), most=DISTINCT_PER_COLUMN * 5)
        values[name] = {}
        for value, code in table.items():
            if not isinstance(value, str) or code not in CODES[name]:
                raise MappingError(N_("Value “%(value)s” of %(name)s: “%(code)s” is not a code. Use one of: %(codes)s."),
                                   value=str(value)[:40], name=name, code=str(code)[:40], codes=", ".join(CODES[name]))
            if code_key(value):
                values[name][code_key(value)] = code
    return Mapping(columns, values)


# --------------------------------------------------------------------------- what a file needs
@dataclass(frozen=True)
class ColumnSurvey:
    """A file's columns as the mapping step shows them, from its first SAMPLE_ROWS rows."""

    header: list[str]
    samples: list[list[str]]  # per column: its first distinct non-blank cells, cut short
    values: list[dict[str, str]]  # per column: code key -> the value as first written (short values only)
    estimated_rows: int | None
    counts: list[dict[str, int]] = field(default_factory=list)  # per column: code key -> rows it is in
    sampled: int = 0  # rows read


def survey_file(path: Path, file_format: str, limits: ReadLimits, *, coded_only: bool = False) -> ColumnSurvey:
    """Read the header and the first rows of a file whatever its columns (in the child).

    `coded_only` (the up-front check of every upload): read no row when a required column is
    missing (the mapping page reads them), else the columns of coded fields only, no samples."""
    with open_table(path, file_format, limits, _AnyColumns) as table:
        width = len(table.header)
        samples: list[list[str]] = [[] for _ in range(width)]
        values: list[dict[str, str]] = [{} for _ in range(width)]
        counts: list[dict[str, int]] = [{} for _ in range(width)]
        sampled = 0
        wanted = range(width)
        if coded_only:
            found, _unknown = table.columns, table.unknown_columns
            wanted = [] if any(name not in found for name in fields.REQUIRED_NAMES) else [found[n] for n in CODES if n in found]
        try:
            for row in islice(table.rows, SAMPLE_ROWS if wanted else 0):
                sampled += 1
                cells = row.cells
                for index in wanted:
                    cell = cells[index]
                    if not cell or not cell.strip():
                        continue
                    if not coded_only and len(samples[index]) < SAMPLE_CELLS and (shown := clean_text(cell)[:SAMPLE_CHARS]) not in samples[index]:
                        samples[index].append(shown)
                    seen = values[index]
                    if len(cell) <= VALUE_CHARS:
                        key = code_key(cell)
                        if key in seen:
                            counts[index][key] += 1
                        elif len(seen) < DISTINCT_PER_COLUMN:
                            seen[key], counts[index][key] = clean_text(cell), 1
        except UnusableFile:
            pass  # a row that cannot be read stops the import there, with its number; judge the rows before it
        return ColumnSurvey(table.header, samples, values, table.estimated_rows, counts, sampled)


@dataclass(frozen=True)
class Unmatched:
    """What keeps a file from importing as it is: required fields no column gives, and
    values of coded fields the validation core does not recognise (at most MOST_VALUES each)."""

    missing: list[str]
    values: dict[str, list[str]]  # field -> values as written

    def __bool__(self) -> bool:
        return bool(self.missing or any(self.values.values()))


def needs_mapping(survey: ColumnSurvey) -> Unmatched | None:
    """What a file as it is lacks, when that is a mapping's business: a required column, or a
    coded field's value that is a word of the file's own (OWN_WORD_ROWS, OWN_WORD_SHARE)."""
    lacking = unmatched(survey)
    if lacking.missing:
        return lacking
    header_columns, _unknown = columns_of(survey.header, required=())
    least = max(OWN_WORD_ROWS, OWN_WORD_SHARE * survey.sampled)
    for name, found in lacking.values.items():
        counts = survey.counts[header_columns[name]]
        if any(counts.get(code_key(value), 0) >= least for value in found):
            return lacking
    return None


def unmatched(survey: ColumnSurvey, mapping: Mapping | None = None) -> Unmatched:
    """What the file still lacks with `mapping` applied (none: the file as it is)."""
    header = mapping.rename(survey.header) if mapping else survey.header
    columns, _unknown = columns_of(header, required=())
    missing = [name for name in fields.REQUIRED_NAMES if name not in columns]
    value_map = mapping.value_map if mapping else {}
    values = {name: unknown_values(survey, columns[name], name, value_map.get(name, {}))
              for name in CODES if name in columns}
    return Unmatched(missing, {name: found for name, found in values.items() if found})


def unknown_values(survey: ColumnSurvey, column: int, name: str, value_map: dict[str, str]) -> list[str]:
    """The values of `column` that field `name` would not recognise (nor the mapping translate)."""
    found = [written for key, written in survey.values[column].items()
             if key and key not in value_map and known_code(name, key) is None]
    return found[:MOST_VALUES]
