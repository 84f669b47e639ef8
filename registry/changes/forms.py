"""Shapes of the change forms; the rules live in registry.actors.lifecycle and validation."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField

from registry.i18n import N_
from registry.registration.forms import RegistrationForm

# What a change means to the statistics (lifecycle.correct without or with `effective`).
KINDS: dict[str, str] = {
    "correction": N_("The record was wrong (a correction)"),
    "change": N_("The person's situation changed on a date (a change of circumstances)"),
}
KIND_HINTS: dict[str, str] = {
    "correction": N_("Figures are revised as if the record had always been right."),
    "change": N_("Figures before the date stay as they were. Give the date below."),
}
DEACTIVATION_LABELS: dict[str, str] = {
    "error": N_("Registered in error"),
    "duplicate": N_("A duplicate of another registration"),
    "consent_withdrawn": N_("The person withdrew consent"),
    "deceased": N_("The person died"),
    "left": N_("No longer in the informal economy"),
    "other": N_("Another reason (say what in the note)"),
}
DEACTIVATION_HINTS: dict[str, str] = {
    "error": N_("Revises past figures: the registration never counted."),
    "duplicate": N_("Revises past figures: the registration never counted. To keep one of two registrations of the same person, merge them instead."),
    "consent_withdrawn": N_("Past figures stay; the person stops counting from the date."),
    "deceased": N_("Past figures stay; the person stops counting from the date."),
    "left": N_("Past figures stay; the person stops counting from the date."),
    "other": N_("Past figures stay; the person stops counting from the date."),
}
SURVIVORS: dict[str, str] = {
    "this": N_("This registration stays; the other is merged into it"),
    "other": N_("The other registration stays; this one is merged into it"),
}


class CorrectionForm(RegistrationForm):
    """The registration form's fields (same names, same widgets) with the registration date,
    what kind of change it is, from when, and why; no consent box (nothing new is agreed)."""

    consent = None  # type: ignore[assignment]
    registered_on = StringField()
    kind = StringField()
    effective = StringField()
    reason = StringField()


class DeactivateForm(FlaskForm):
    reason = StringField()  # a code of DEACTIVATION_REASONS
    effective = StringField()
    note = StringField()


class ReactivateForm(FlaskForm):
    reason = StringField()
    effective = StringField()


class MergeForm(FlaskForm):
    other = StringField()  # the other registration's number
    keep = StringField()  # "this" or "other"
    reason = StringField()
    step = StringField()  # "review" (show both side by side) or "confirm" (merge)
