"""The words people read for a registration: its lifecycle codes (status, deactivation reason,
kind of change, who made it), the fields its history names, and any stored value (`shown`).
One place: the record page, the search results, the merge's side-by-side view and the
personal record export read them here."""
from __future__ import annotations

from registry import areas, vocab
from registry.actors.fields import LABELS
from registry.actors.models import CHANGE_KINDS, DEACTIVATION_REASONS, STATUSES, VIAS
from registry.actors.numbers import format_number
from registry.i18n import N_, translate

STATUS_LABELS = {"active": N_("Active"), "deactivated": N_("Deactivated"), "merged": N_("Merged into another registration")}
REASON_LABELS = {
    "error": N_("Registered in error"),
    "duplicate": N_("Duplicate registration"),
    "consent_withdrawn": N_("Consent withdrawn"),
    "deceased": N_("Deceased"),
    "left": N_("No longer in the informal economy"),
    "other": N_("Other"),
}
CHANGE_LABELS = {
    "correction": N_("Correction"),
    "change": N_("Change of circumstances"),
    "deactivation": N_("Deactivation"),
    "reactivation": N_("Reactivation"),
    "merge": N_("Merge"),
}
VIA_LABELS = {"web": N_("Web"), "cli": N_("Command line"), "system": N_("The registry itself")}
# A field the history names -> the label of the field people know (areas are stored as codes).
FIELD_LABELS = {**LABELS, "name_key": LABELS["full_name"], "province_code": LABELS["province"],
                "district_code": LABELS["district"], "commune_code": LABELS["commune"],
                "status": N_("Status"), "merged_from": N_("Merged from registration")}

_VOCABULARIES = {"category": vocab.CATEGORIES, "gender": vocab.GENDERS, "sector": vocab.SECTORS, "channel": vocab.CHANNELS}

# Every code has its words (checked when the module loads, as the vocabularies are).
for codes, labels in ((STATUSES, STATUS_LABELS), (DEACTIVATION_REASONS, REASON_LABELS),
                      (CHANGE_KINDS, CHANGE_LABELS), (VIAS, VIA_LABELS)):
    if set(codes) != set(labels):
        raise RuntimeError(f"labels {sorted(labels)} do not match the codes {sorted(codes)}")


def place(code: str | None, locale: str) -> str:
    """An area code as its name in `locale` (the code itself when unknown)."""
    record = areas.area_by_code(code) if code else None
    return areas.area_name(record, locale) if record else (code or "")


def shown(field: str | None, value: str | None, locale: str) -> str:
    """A stored value, or one from the history (text, dates in ISO form), as a person reads it
    in `locale`: vocabulary labels, place names, dates as day/month/year, statuses in words."""
    if value is None or value == "":
        return "—"
    name = (field or "").removesuffix("_code")
    if name in _VOCABULARIES:
        try:
            return translate(_VOCABULARIES[name].label_of(value), locale)
        except KeyError:
            return value
    if name in ("province", "district", "commune"):
        return place(value, locale)
    if name == "status":  # "active", or "deactivated (left)" as the history writes a reactivation
        code, _sep, reason = value.partition(" (")
        label = translate(STATUS_LABELS[code], locale) if code in STATUS_LABELS else code
        reason = reason.rstrip(")")
        return f"{label} ({translate(REASON_LABELS[reason], locale)})" if reason in REASON_LABELS else label
    if name in ("date_of_birth", "registered_on") and len(value) == 10 and value[4] == "-":
        return f"{value[8:]}/{value[5:7]}/{value[:4]}"
    if name == "merged_from":
        return format_number(value) if len(value) == 10 else value
    return value
