"""The fields of a registration, declared once, in the order people and files give them.

The form's shape, the import template (its columns and instructions), the columns an
import file must have, error labels and the certificate's rows all derive from this list.
`registry.actors.validation` has a parser for every field here (it refuses to load
otherwise) and builds the stored `Registration` by keyword. CONTRIBUTING.md lists what
else a new field needs.
"""
from __future__ import annotations

from dataclasses import dataclass

from registry.i18n import N_

REQUIRED, MICRO_ENTERPRISE, OPTIONAL = "required", "micro_enterprise", "optional"


@dataclass(frozen=True)
class Field:
    name: str  # the form field and the import file's column
    label: str  # msgid: how a person calls it (form, errors, certificate, template)
    how: str  # msgid: how to fill it in an import file (the template's instructions)
    need: str = REQUIRED  # REQUIRED, MICRO_ENTERPRISE (required for those only) or OPTIONAL


FIELDS: tuple[Field, ...] = (
    Field("category", N_("Category"), N_("One of the codes, or its label in Khmer or English.")),
    Field("full_name", N_("Full name"), N_("2 to 100 letters; spaces, “.”, “-” and “'” allowed; no digits.")),
    Field("gender", N_("Gender"), N_("female or male (also F, M, or the Khmer word).")),
    Field("date_of_birth", N_("Date of birth"), N_("DD/MM/YYYY or YYYY-MM-DD, or a date cell. Age 15 to 120.")),
    Field("national_id", N_("National ID number"), N_("Optional: 9 digits; spaces and dashes are ignored."), OPTIONAL),
    Field("phone", N_("Phone number"), N_("A Cambodian number, any common way: 012 345 678, +855 12 345 678.")),
    Field("province", N_("Province"), N_("Official code, or the Khmer or English name (see the areas sheet).")),
    Field("district", N_("District"), N_("Official code, or the name, inside the province.")),
    Field("commune", N_("Commune"), N_("Official code, or the name, inside the district. Use the code where names repeat.")),
    Field("sector", N_("Sector"), N_("One of the codes, or its label in Khmer or English.")),
    Field("business_name", N_("Business name"), N_("Micro-enterprises only: up to 120 characters."), MICRO_ENTERPRISE),
    Field("workers", N_("Number of workers"), N_("Micro-enterprises only: a whole number from 1 to 10."), MICRO_ENTERPRISE),
    Field("registered_on", N_("Date registered"),
          N_("Optional: the day the person was registered; empty means today. Not in the future."), OPTIONAL),
)

NAMES: tuple[str, ...] = tuple(f.name for f in FIELDS)
LABELS: dict[str, str] = {f.name: f.label for f in FIELDS}
REQUIRED_NAMES: tuple[str, ...] = tuple(f.name for f in FIELDS if f.need == REQUIRED)
MICRO_ENTERPRISE_NAMES: tuple[str, ...] = tuple(f.name for f in FIELDS if f.need == MICRO_ENTERPRISE)
AREA_NAMES = ("province", "district", "commune")  # resolved together: each inside the one above

# An error about the row as a whole (an import row with cells beyond the header).
ROW = "row"
ERROR_LABELS: dict[str, str] = {**LABELS, ROW: N_("Row")}
