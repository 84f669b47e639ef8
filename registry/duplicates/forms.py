"""The decision on one pair (CSRF through FlaskForm; the view checks the values)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField


class DecisionForm(FlaskForm):
    action = StringField()  # merge | dismiss | defer
    keep = StringField()  # first | second: the registration that stays (merge only)
    reason = StringField()  # kept in both records' history (merge only)
