"""The export's confirmation form: the CSRF token and the language of the document."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField
from wtforms.validators import AnyOf, InputRequired

from registry.i18n import LOCALES


class ExportForm(FlaskForm):
    language = RadioField(_l("Language of the document"), choices=list(LOCALES), validate_choice=False,
                          validators=[InputRequired(_l("Choose the language of the document.")),
                                      AnyOf(LOCALES, message=_l("Choose the language of the document."))])
