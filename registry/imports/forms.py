"""Upload form for outreach files."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField
from wtforms.validators import InputRequired


class UploadForm(FlaskForm):
    file = FileField(_l("File (.csv, .txt, .zip with one CSV, .xlsx, .xls or .ods)"),
                     validators=[FileRequired(_l("Choose a .csv, .txt, .zip, .xlsx, .xls or .ods file."))])
    consent = BooleanField(
        _l("The people in this file agreed to be registered, after hearing what their details are used for."),
        validators=[InputRequired(_l("Confirm that the people in the file consented, or the file cannot be imported."))],
    )
    # Asked only when the names look typed in a legacy Khmer font (Limon/ABC): staff confirm
    # they are Latin letters, or convert the file (registry.actors.legacy_font).
    latin_names = BooleanField(_l("The names are written in Latin letters (not Khmer typed in an old font)."))
