"""Correcting an indicator's value."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, ValidationError
from wtforms.validators import DataRequired, Length

from registry.indicators.services import parse_value


class IndicatorForm(FlaskForm):
    value = StringField(_l("Corrected value"), validators=[DataRequired(message=_l("Required. Write the figure, e.g. 1,185 or 20.456."))])
    note = StringField(_l("Reason for the change"), validators=[
        DataRequired(message=_l("Required. Say where the corrected figure comes from.")),
        Length(max=300, message=_l("At most 300 characters.")),
    ])

    def validate_value(self, field: StringField) -> None:
        try:
            field.parsed = parse_value(field.data or "")  # type: ignore[attr-defined]
        except ValueError:
            raise ValidationError(_l("Not a number. Write digits, e.g. 1,185 or 20.456.")) from None
        if field.parsed < 0:  # type: ignore[attr-defined]
            raise ValidationError(_l("Cannot be negative."))
