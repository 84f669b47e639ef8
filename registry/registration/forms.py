"""Shape of the self-registration and status forms; the rules live in actors.validation."""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.validators import InputRequired

from registry.actors import fields


class RegistrationForm(FlaskForm):
    """Every field of registry.actors.fields but registered_on (self-registration is dated
    today), the consent box, and the no-JavaScript refresh button."""

    category = StringField()
    full_name = StringField()
    gender = StringField()
    date_of_birth = StringField()
    national_id = StringField()
    phone = StringField()
    province = StringField()
    district = StringField()
    commune = StringField()
    sector = StringField()
    business_name = StringField()
    workers = StringField()
    consent = BooleanField(
        validators=[InputRequired(_l("Tick the box to agree, or the registration cannot be made."))]
    )
    refresh = StringField()  # set by the no-JavaScript "show districts/communes" buttons

    def raw(self) -> dict[str, Any]:
        """The values as typed, keyed by the registration's field codes."""
        return {name: self[name].data for name in fields.NAMES if name in self}


class StatusForm(FlaskForm):
    """The "prove it is you" answers (registry.actors.proof)."""

    registration_number = StringField()
    phone = StringField()
    date_of_birth = StringField()


class RecoverForm(FlaskForm):
    """Getting a lost registration number back: all three must match."""

    phone = StringField()
    date_of_birth = StringField()
    full_name = StringField()
