"""Which column of a file holds which field, as field tools and people write the header row.

A header cell names a field by our name (`date_of_birth`, `Date of Birth`, `date-of-birth`)
or by our question label in any language of the catalogs ("Date of birth",
"ថ្ងៃខែឆ្នាំកំណើត": what the template and our XLSForm show), either of them behind group
prefixes as KoboToolbox and ODK write them: `group_abc/phone`, `person-phone` (ODK Central),
`person.full_name`, `a:b:phone`. A separator counts as a group boundary only when what
follows it names one of our fields, so `date-of-birth` still reads as one name, and so does
a Khmer label that holds a "/" (រាជធានី/ខេត្ត).

The columns field tools add about the submission (`_uuid`, `_submission_time`,
`SubmissionDate`, `meta-instanceID`, `KEY`…) are recognised, not stored, and not reported
as unknown; one of them, the submission's id, is the row's source reference
(`registry.imports.submissions`): `columns_of` gives its cell under `SOURCE_REF`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from registry.actors import fields
from registry.actors.normalise import visible
from registry.i18n import LOCALES, N_, catalog
from registry.imports.errors import UnusableFile

SOURCE_REF = "source_ref"  # the key of the submission id's cell in `columns_of`'s columns (not a field)
SEPARATORS = "/-.:"  # group/field (Kobo), group-field (ODK Central), group.field, a:b:field
_RUNS = re.compile(r"[\s\-]+")

# Columns KoboToolbox (formpack's exports, repeat sheets) and ODK (Central, Briefcase) add,
# and the XLSForm metadata questions; compared without case. A header in the `meta` or
# `formhub` group (meta/instanceID, meta-instanceID, formhub/uuid) is one too, and so is
# every `_submission_…` column of a Kobo repeat sheet and Central's `__system` group.
# Our own XLSForm's question that is not a registration field (imports.xlsform asks it; its
# exports carry it): the person agreed to be registered, which the form already required.
CONSENT_QUESTION = "consent"
TOOL_COLUMNS = frozenset(name.casefold() for name in (
    CONSENT_QUESTION,
    "_id", "_uuid", "_submission_time", "_index", "_parent_index", "_parent_table_name", "_validation_status",
    "_submitted_by", "_notes", "_status", "_tags", "__version__", "_version_", "_attachments", "_geolocation",
    "_xform_id_string", "_duration", "_media_all_received", "_total_media", "_attachment_count",
    "SubmissionDate", "KEY", "PARENT_KEY", "SubmitterID", "SubmitterName", "AttachmentsPresent",
    "AttachmentsExpected", "Status", "ReviewState", "DeviceID", "Edits", "FormVersion", "UpdatedAt",
    "instanceID", "instanceName", "deprecatedID",
    "start", "end", "today", "deviceid", "subscriberid", "simserial", "username", "email", "audit",
))
_TOOL_GROUPS = ("meta", "formhub", "__system")
_TOOL_PREFIXES = ("_submission_",)
# The columns that hold the submission's id, most stable first: Kobo's root uuid stays the
# same when a submission is edited, ODK Central's KEY is the submission's first instance id,
# `_uuid` and the instance id are the (current) submission's own.
REFERENCE_COLUMNS = ("meta/rootuuid", "_uuid", "key", "meta/instanceid", "instanceid")

TWICE = N_("The column %(column)s appears twice. Keep one.")
BOTH = N_("The columns “%(first)s” and “%(second)s” are both %(column)s. Keep one.")
MISSING = N_("The file has no column %(columns)s. Use the template's column names in the first row.")


@dataclass(frozen=True)
class Recognised:
    """What each header cell is: our field, a field tool's column, or unknown."""

    columns: dict[str, int]  # field -> cell index, and SOURCE_REF -> the submission id's cell
    unknown: list[str]  # header cells as written (stripped), in file order
    tool_columns: list[str]  # field tools' columns, as written (stripped)


def _key(text: str) -> str:
    """' Date-of Birth ' -> 'date_of_birth' (also for a label in Khmer, without its
    invisible characters)."""
    return _RUNS.sub("_", visible(text.replace("\ufeff", "")).strip()).casefold()


@lru_cache(maxsize=1)
def field_keys() -> dict[str, str]:
    """Every key that names a field: its name and its label in each catalog's language."""
    keys: dict[str, str] = {}
    for f in fields.FIELDS:
        for spelling in (f.name, f.label, *(catalog(locale).ugettext(f.label) for locale in LOCALES)):
            key = _key(spelling)
            if keys.setdefault(key, f.name) != f.name:
                raise RuntimeError(f"the header {spelling!r} would name both {keys[key]} and {f.name}")
    return keys


def field_of(header: str) -> str | None:
    """The field a header cell names, with or without group prefixes; None if none."""
    keys = field_keys()
    text = visible(header.replace("\ufeff", "")).strip()
    found = keys.get(_key(text))
    if found is not None:
        return found
    for position, char in enumerate(text):
        if char in SEPARATORS:
            found = keys.get(_key(text[position + 1:]))
            if found is not None:
                return found
    return None


def tool_key(header: str) -> str | None:
    """The field tool's column a header cell is ('meta/instanceid', '_uuid', 'key'…), or None."""
    text = header.replace("\ufeff", "").strip().casefold()
    for group in _TOOL_GROUPS:
        if text.startswith(group) and text[len(group):len(group) + 1] in tuple(SEPARATORS):
            return f"{group}/{text[len(group) + 1:]}"
    if text in TOOL_COLUMNS or text.startswith(_TOOL_PREFIXES):
        return text
    return None


def normalise_header(name: str) -> str:
    """The field a header cell names ('group_abc/phone' -> 'phone'), else its normalised text."""
    return field_of(name) or _key(name)


def recognise(header: list[str], required: tuple[str, ...] = fields.REQUIRED_NAMES) -> Recognised:
    """Which cell holds which field, which are a field tool's, and which are not ours.
    Raises UnusableFile if a field has two columns or a `required` field none."""
    columns: dict[str, int] = {}
    unknown: list[str] = []
    tools: list[str] = []
    references: dict[str, int] = {}
    for position, name in enumerate(header):
        found = field_of(name)
        if found is not None:
            if found in columns:
                first = header[columns[found]].strip()
                if _key(first) == _key(name):
                    raise UnusableFile(TWICE, column=found)
                raise UnusableFile(BOTH, first=first[:60], second=name.strip()[:60], column=found)
            columns[found] = position
        elif (tool := tool_key(name)) is not None:
            tools.append(name.strip())
            references.setdefault(tool, position)
        elif name.strip():
            unknown.append(name.strip())
    missing = [c for c in required if c not in columns]
    if missing:
        raise UnusableFile(MISSING, columns=", ".join(missing))
    for key in REFERENCE_COLUMNS:
        if key in references:
            columns[SOURCE_REF] = references[key]
            break
    return Recognised(columns, unknown, tools)


def columns_of(header: list[str], required: tuple[str, ...] = fields.REQUIRED_NAMES) -> tuple[dict[str, int], list[str]]:
    """Which cell holds which field (and the submission id, under SOURCE_REF), and the names
    of the columns that are neither ours nor a field tool's (`required=()`: whatever a file
    has, for the mapping step)."""
    found = recognise(header, required)
    return found.columns, found.unknown


def tool_columns(header: list[str]) -> list[str]:
    """The field tools' columns of a header, as written: read, not stored (the batch page)."""
    return [name.strip() for name in header if field_of(name) is None and tool_key(name) is not None]
