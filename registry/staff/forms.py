"""Sign-in forms: the password, then a code from the authenticator app (or a recovery code),
and a new password when the one used was temporary."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import EqualTo, InputRequired


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[InputRequired(_l("Write your email address."))])
    password = PasswordField(_l("Password"), validators=[InputRequired(_l("Write your password."))])


class CodeForm(FlaskForm):
    code = StringField(_l("6-digit code"), validators=[InputRequired(_l("Type the 6 digits your app shows."))])


class RecoveryCodeForm(FlaskForm):
    recovery_code = StringField(_l("Recovery code"), validators=[InputRequired(_l("Type one of your recovery codes."))])


class NewPasswordForm(FlaskForm):
    new_password = PasswordField(_l("New password"), validators=[InputRequired(_l("Write a new password."))])
    confirm = PasswordField(_l("New password again"), validators=[
        InputRequired(_l("Write the new password again.")),
        EqualTo("new_password", _l("The two new passwords are not the same.")),
    ])
