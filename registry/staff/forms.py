"""Sign-in form."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import InputRequired


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[InputRequired(_l("Write your email address."))])
    password = PasswordField(_l("Password"), validators=[InputRequired(_l("Write your password."))])
