"""Forms of the account pages."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import InputRequired

from registry.staff.forms import NewPasswordForm


class ChangePasswordForm(NewPasswordForm):
    current_password = PasswordField(_l("Current password"), validators=[InputRequired(_l("Write your current password."))])
    code = StringField(_l("6-digit code"), validators=[InputRequired(_l("Type the 6 digits your app shows."))])


class RecoveryCodesForm(FlaskForm):
    code = StringField(_l("6-digit code"), validators=[InputRequired(_l("Type the 6 digits your app shows."))])


class ActionForm(FlaskForm):
    """A button an admin presses (the CSRF token only)."""
