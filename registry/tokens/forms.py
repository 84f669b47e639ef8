"""Making an API token: its name, what it may do, how long it works."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectMultipleField, StringField
from wtforms.validators import InputRequired, Length

from registry.tokens.models import SCOPES
from registry.tokens.services import LIFETIME_DAYS, NAME_LENGTH


class TokenForm(FlaskForm):
    name = StringField(_l("Name"), validators=[
        InputRequired(_l("Write a name, e.g. “DHIS2 server”, to know the token by.")),
        Length(max=NAME_LENGTH, message=_l("At most 80 characters.")),
    ])
    scopes = SelectMultipleField(_l("What it may do"), choices=list(SCOPES), validate_choice=False,
                                 validators=[InputRequired(_l("Tick at least one of the things the token may do."))])
    days = RadioField(_l("Works for"), choices=[str(d) for d in LIFETIME_DAYS], default=str(LIFETIME_DAYS[1]),
                      validate_choice=False, validators=[InputRequired(_l("Choose how long the token works."))])

    def lifetime(self) -> int:
        """The chosen days (0 when the choice is not one offered: the service refuses it)."""
        text = self.days.data or ""
        return int(text) if text.isdigit() and int(text) in LIFETIME_DAYS else 0


class RevokeForm(FlaskForm):
    """The revoke button (the CSRF token only)."""
